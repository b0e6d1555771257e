"""Less common OpenAI shapes real programs send: Pydantic-generated tool schemas,
reserved tool names, several content parts, files, SSRF-guarded URLs, cached tokens,
large embedding batches, the raw SSE framing."""

from __future__ import annotations

import base64
import json
from typing import Literal, Optional

import httpx
import openai
import pytest
from pydantic import BaseModel, Field

from helpers import data_url, parse_method, png_1x1


def sse_events(text: str) -> list[str]:
    """`data:` payloads of an SSE body, in order."""
    return [
        line[len("data:"):].strip()
        for line in text.splitlines()
        if line.startswith("data:")
    ]


# ----------------------------------------------------------------------------------
# schemas
# ----------------------------------------------------------------------------------


class Address(BaseModel):
    city: str
    zip: Optional[str] = None


class Person(BaseModel):
    name: str = Field(description="Full name")
    age: int
    role: Literal["admin", "user"]
    address: Address
    tags: list[str]


def test_pydantic_function_tool_schema_is_normalised(openai_client, mock):
    tool = openai.pydantic_function_tool(Person, name="save_person")
    resp = openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Save Ann, 30, admin, from Kazan"}],
        tools=[tool],
        tool_choice={"type": "function", "function": {"name": "save_person"}},
    )
    call = resp.choices[0].message.tool_calls[0]
    assert call.function.name == "save_person"
    Person.model_validate_json(call.function.arguments)  # the generated call fits the schema

    params = mock.last_chat()["functions"][0]["parameters"]
    dumped = json.dumps(params)
    assert "$ref" not in dumped and "$defs" not in dumped
    assert "additionalProperties" not in dumped
    assert "anyOf" not in dumped
    props = params["properties"]
    assert props["address"]["type"] == "object"
    assert set(props["address"]["properties"]) == {"city", "zip"}
    assert props["address"]["properties"]["zip"]["type"] == "string"
    assert props["tags"]["type"] == "array" and props["tags"]["items"]["type"] == "string"
    assert props["role"]["enum"] == ["admin", "user"]


def test_structured_output_with_nested_model(openai_client, mock):
    resp = parse_method(openai_client)(
        model="gpt-4o",
        messages=[{"role": "user", "content": "A person, please"}],
        response_format=Person,
    )
    person = resp.choices[0].message.parsed
    assert isinstance(person, Person)
    assert isinstance(person.address, Address)
    schema = mock.last_chat()["response_format"]["schema"]
    assert "$ref" not in json.dumps(schema)


def test_tool_without_parameters(openai_client, mock):
    mock.function_call("ping", {})
    resp = openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "ping it"}],
        tools=[{"type": "function", "function": {"name": "ping"}}],
    )
    assert json.loads(resp.choices[0].message.tool_calls[0].function.arguments) == {}
    fn = mock.last_chat()["functions"][0]
    assert fn["name"] == "ping"
    assert fn["parameters"]["type"] == "object"
    assert fn["parameters"].get("properties") == {}


def test_reserved_tool_name_is_aliased_and_mapped_back(openai_client, mock):
    tool = {
        "type": "function",
        "function": {
            "name": "web_search",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
        },
    }
    resp = openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "search"}],
        tools=[tool],
        tool_choice={"type": "function", "function": {"name": "web_search"}},
    )
    body = mock.last_chat()
    sent = body["functions"][0]["name"]
    assert sent != "web_search"
    assert body["function_call"] == {"name": sent}
    call = resp.choices[0].message.tool_calls[0]
    assert call.function.name == "web_search"

    # The history echoing the call also goes out under the alias.
    openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "user", "content": "search"},
            resp.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": '{"hits": 0}'},
        ],
        tools=[tool],
    )
    msgs = mock.last_chat()["messages"]
    assert msgs[1]["function_call"]["name"] == sent
    assert msgs[2]["name"] == sent


def test_legacy_functions(openai_client, mock):
    mock.function_call("get_weather", {"city": "Kazan"})
    resp = openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "weather"}],
        functions=[{"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}],
        function_call={"name": "get_weather"},
    )
    body = mock.last_chat()
    assert [f["name"] for f in body["functions"]] == ["get_weather"]
    assert body["function_call"] == {"name": "get_weather"}
    msg = resp.choices[0].message
    call = msg.function_call or (msg.tool_calls[0].function if msg.tool_calls else None)
    assert call is not None and call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Kazan"}


# ----------------------------------------------------------------------------------
# parameters
# ----------------------------------------------------------------------------------


def test_sampling_parameters_pass_through(openai_client, mock):
    openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "x"}],
        temperature=0.7,
        top_p=0.9,
        max_tokens=33,
        reasoning_effort="none",
    )
    body = mock.last_chat()
    assert body["temperature"] == pytest.approx(0.7)
    assert body["top_p"] == pytest.approx(0.9)
    assert body["max_tokens"] == 33
    assert "reasoning_effort" not in body


def test_max_tokens_gives_length(openai_client, mock):
    mock.text("one two three four five six seven eight nine ten")
    resp = openai_client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "count"}], max_tokens=3
    )
    assert resp.choices[0].finish_reason == "length"
    assert resp.usage.completion_tokens <= 3
    assert mock.last_chat()["max_tokens"] == 3


def test_cached_tokens_in_usage(openai_client, mock):
    mock.config(precached_tokens=3)
    resp = openai_client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "a fairly long prompt with many words"}]
    )
    assert resp.usage.prompt_tokens_details.cached_tokens == 3


def test_text_parts_are_joined(openai_client, mock):
    openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": [{"type": "text", "text": "Sys part."}]},
            {"role": "user", "content": [{"type": "text", "text": "alpha"}, {"type": "text", "text": "beta"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "earlier answer"}]},
            {"role": "user", "content": "gamma"},
        ],
    )
    msgs = mock.last_chat()["messages"]
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    assert msgs[0]["content"] == "Sys part."
    assert "alpha" in msgs[1]["content"] and "beta" in msgs[1]["content"]
    assert msgs[1]["content"].index("alpha") < msgs[1]["content"].index("beta")
    assert msgs[2]["content"] == "earlier answer"
    assert msgs[3]["content"] == "gamma"


# ----------------------------------------------------------------------------------
# attachments
# ----------------------------------------------------------------------------------


def test_pdf_file_part_is_uploaded(openai_client, mock):
    pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Summarise"},
                    {
                        "type": "file",
                        "file": {
                            "filename": "doc.pdf",
                            "file_data": "data:application/pdf;base64," + base64.b64encode(pdf).decode(),
                        },
                    },
                ],
            }
        ],
    )
    assert mock.stats()["uploads"] == 1
    user = mock.last_chat()["messages"][-1]
    assert user["content"] == "Summarise"
    assert len(user["attachments"]) == 1


def test_openai_unknown_file_id_is_a_400_naming_it(openai_client, mock):
    """A file id GigaChat does not know (for this identity) is refused before the chat
    call; known ids are covered in test_files.py."""
    with pytest.raises(openai.BadRequestError) as e:
        openai_client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": [{"type": "file", "file": {"file_id": "file-abc"}}]}],
        )
    assert "file-abc" in str(e.value)
    assert mock.chat_requests() == []


def test_two_images_in_one_message_are_refused(openai_client, mock):
    with pytest.raises(openai.BadRequestError):
        openai_client.chat.completions.create(
            model="gpt-4o",
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": data_url(png_1x1())}},
                        {"type": "image_url", "image_url": {"url": data_url(png_1x1())}},
                    ],
                }
            ],
        )
    assert mock.chat_requests() == []


def test_images_in_two_messages_are_fine(openai_client, mock):
    openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": data_url(png_1x1())}}]},
            {"role": "assistant", "content": "nice"},
            {"role": "user", "content": [{"type": "text", "text": "and this?"},
                                         {"type": "image_url", "image_url": {"url": data_url(png_1x1())}}]},
        ],
    )
    assert mock.stats()["uploads"] == 2
    msgs = mock.last_chat()["messages"]
    a, b = msgs[0]["attachments"], msgs[2]["attachments"]
    assert len(a) == 1 and len(b) == 1 and a != b


def test_loopback_image_url_is_refused(openai_client, mock):
    """SSRF guard: the proxy never fetches loopback addresses for a client."""
    url = f"{mock.base_url}/__mock/health"
    with pytest.raises(openai.BadRequestError):
        openai_client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}],
        )
    assert mock.requests() == []  # nothing reached the emulator at all


def test_upload_failure_is_reported(openai_client, mock):
    mock.fault(413, path_suffix="/files")
    with pytest.raises(openai.APIStatusError) as exc:
        openai_client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": data_url(png_1x1())}}]}],
        )
    assert exc.value.status_code == 413
    assert mock.chat_requests() == []


# ----------------------------------------------------------------------------------
# embeddings batches, models cache
# ----------------------------------------------------------------------------------


def test_large_embedding_batches_are_split_and_reassembled(openai_client, mock):
    texts = [f"text number {i}" for i in range(95)]
    resp = openai_client.embeddings.create(
        model="text-embedding-3-small", input=texts, encoding_format="float"
    )
    assert [d.index for d in resp.data] == list(range(95))
    bodies = [r["json"] for r in mock.requests("/api/v1/embeddings")]
    assert len(bodies) == 2
    assert all(len(b["input"]) <= 90 for b in bodies)
    # Batches may be sent concurrently: each is a contiguous slice, together all texts.
    slices = sorted((texts.index(b["input"][0]), b["input"]) for b in bodies)
    assert [t for _, batch in slices for t in batch] == texts
    # Vectors come back in input order: compare with single-text calls.
    for i in (0, 89, 90, 94):
        single = openai_client.embeddings.create(
            model="text-embedding-3-small", input=texts[i], encoding_format="float"
        )
        assert single.data[0].embedding == resp.data[i].embedding, f"vector {i} out of place"


def test_models_are_cached(openai_client, mock):
    openai_client.models.list()
    mock.clear_requests()
    openai_client.models.list()
    openai_client.models.retrieve("GigaChat")
    assert mock.requests("/models") == []


# ----------------------------------------------------------------------------------
# raw SSE framing
# ----------------------------------------------------------------------------------


def test_raw_sse_framing(proxy_url, mock):
    mock.config(chunk_size=5)
    mock.text("raw framing check")
    with httpx.Client(timeout=10, trust_env=False) as http:
        r = http.post(
            f"{proxy_url}/v1/chat/completions",
            json={
                "model": "gpt-4o",
                "messages": [{"role": "user", "content": "x"}],
                "stream": True,
                "stream_options": {"include_usage": True},
            },
        )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(r.text)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert len({c["created"] for c in chunks}) == 1
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0


def test_raw_sse_error_frame_after_break(proxy_url, mock):
    mock.config(chunk_size=5)
    mock.text("This answer will be cut off after one chunk.")
    mock.stream_fault("disconnect", after_chunks=1)
    with httpx.Client(timeout=10, trust_env=False) as http:
        r = http.post(
            f"{proxy_url}/v1/chat/completions",
            json={"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "stream": True},
        )
    assert r.status_code == 200  # committed after the first chunk
    events = sse_events(r.text)
    assert events[-1] == "[DONE]"
    error = json.loads(events[-2])
    assert isinstance(error.get("error"), dict) and error["error"]["message"]
    assert "127.0.0.1" not in r.text
    assert not any(
        c.get("choices") and c["choices"][0].get("finish_reason")
        for c in map(json.loads, events[:-2])
    ), "a broken stream must not look finished"


def test_wrong_content_type_stream_is_an_error(openai_client, mock):
    mock.stream_fault("wrong_content_type")
    with pytest.raises(openai.APIError):
        for _ in openai_client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "x"}], stream=True
        ):
            pass


def test_probes(proxy_url):
    with httpx.Client(timeout=5, trust_env=False) as http:
        assert http.get(f"{proxy_url}/health").status_code == 200
        assert http.get(f"{proxy_url}/ping").status_code == 200
        assert http.post(f"{proxy_url}/ping").status_code == 200
        assert http.head(f"{proxy_url}/").status_code == 200


# ----------------------------------------------------------------------------------
# stop sequences: hold-back in streams
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 100])
def test_stop_partial_match_is_released(openai_client, mock, chunk_size):
    """A prefix of a stop sequence that does not complete is released as text."""
    text = "hello ENX world END tail"
    mock.config(chunk_size=chunk_size)
    mock.text(text)
    chunks = list(
        openai_client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "x"}], stop=["END"], stream=True
        )
    )
    got = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert got == "hello ENX world "
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]


def test_stop_earliest_of_several(openai_client, mock):
    mock.text("one, two; three. four")
    resp = openai_client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "x"}], stop=[".", ";"]
    )
    assert resp.choices[0].message.content == "one, two"


def test_stop_at_the_very_start(openai_client, mock):
    mock.config(chunk_size=2)
    mock.text("STOP right there")
    chunks = list(
        openai_client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "x"}], stop="STOP", stream=True
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == ""
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_stop_unicode_across_chunks(openai_client, mock):
    mock.config(chunk_size=1)
    mock.text("Привет СТОП мир")
    chunks = list(
        openai_client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "x"}], stop=["СТОП"], stream=True
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Привет "


# ----------------------------------------------------------------------------------
# concurrency and tokens
# ----------------------------------------------------------------------------------


def test_concurrent_streams_do_not_mix(proxy_url, mock):
    from concurrent.futures import ThreadPoolExecutor

    mock.config(chunk_size=3, chunk_delay_ms=5)
    for i in range(6):
        mock.add_rule({"last_user_contains": f"client-{i}:"}, {"type": "text", "text": f"answer for client {i} " * 3})

    def run(i: int) -> str:
        with openai.OpenAI(base_url=f"{proxy_url}/v1", api_key="t", max_retries=0) as c:
            stream = c.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": f"client-{i}: hi"}], stream=True
            )
            return "".join(ch.choices[0].delta.content or "" for ch in stream if ch.choices)

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(run, range(6)))
    assert results == [f"answer for client {i} " * 3 for i in range(6)]
    assert len(mock.chat_requests()) == 6


def test_revoked_token_is_replaced(openai_client, mock, warm_proxy):
    mock.http.delete("/__mock/tokens").raise_for_status()
    resp = openai_client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "b"}])
    assert resp.choices[0].message.content.endswith("You said: b")
    assert mock.stats()["oauth_tokens"] == warm_proxy + 1
    assert [r["status"] for r in mock.requests("/api/v1/chat/completions")] == [401, 200]


def test_401_heals_in_streams_too(openai_client, mock, warm_proxy):
    mock.fail_401(1)
    chunks = list(
        openai_client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "streamed"}], stream=True
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).endswith("You said: streamed")
    assert [r["status"] for r in mock.requests("/api/v1/chat/completions")] == [401, 200]


def test_short_lived_tokens(openai_client, mock):
    """Tokens living less than the refresh buffer still work (refreshed as needed)."""
    mock.config(token_ttl_secs=5)
    mock.http.delete("/__mock/tokens").raise_for_status()
    try:
        for text in ("one", "two", "three"):
            resp = openai_client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": text}]
            )
            assert resp.choices[0].message.content.endswith(f"You said: {text}")
        assert all(r["status"] == 200 for r in mock.requests("/api/v1/chat/completions")[1:])
    finally:
        # Leave the proxy with a long-lived token for the tests that follow.
        mock.config(token_ttl_secs=1800)
        mock.http.delete("/__mock/tokens").raise_for_status()
        openai_client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "re-login"}]
        )
