"""OpenAI Chat Completions through the official `openai` SDK.

Every test checks two sides: what the SDK hands back to the program, and the GigaChat
v1 request the proxy sent to the emulator (its recorded body).
"""

from __future__ import annotations

import json

import openai
import pytest
from pydantic import BaseModel

from helpers import data_url, parse_method, png_1x1

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Local time in a time zone",
        "parameters": {
            "type": "object",
            "properties": {"tz": {"type": "string"}},
            "required": ["tz"],
        },
    },
}


def function_names(body: dict) -> list[str]:
    return [f["name"] for f in body.get("functions") or []]


# ----------------------------------------------------------------------------------
# 1. basic request / response
# ----------------------------------------------------------------------------------


def test_basic_completion(openai_client, mock):
    mock.text("Привет! Hello there.")
    resp = openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Say hello"},
            {"role": "developer", "content": "Answer in two languages."},
        ],
    )

    assert resp.object == "chat.completion"
    assert resp.id.startswith("chatcmpl-")
    assert resp.model == "gpt-4o"
    assert len(resp.choices) == 1
    choice = resp.choices[0]
    assert choice.index == 0
    assert choice.message.role == "assistant"
    assert choice.message.content == "Привет! Hello there."
    assert choice.finish_reason == "stop"
    assert not choice.message.tool_calls
    assert resp.usage is not None
    assert resp.usage.prompt_tokens > 0
    assert resp.usage.completion_tokens > 0
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens

    body = mock.last_chat()
    assert body["model"] == "GigaChat"
    assert body.get("stream") in (None, False)
    msgs = body["messages"]
    # One system message, first, with system + developer texts merged in order.
    assert [m["role"] for m in msgs] == ["system", "user"]
    assert msgs[0]["content"] == "You are terse.\n\nAnswer in two languages."
    assert msgs[1]["content"] == "Say hello"


def test_ids_are_unique_and_default_answer_quotes_user(openai_client, mock):
    ids = set()
    for text in ("first", "second"):
        resp = openai_client.chat.completions.create(
            model="GigaChat", messages=[{"role": "user", "content": text}]
        )
        ids.add(resp.id)
        assert resp.model == "GigaChat"
        assert resp.choices[0].message.content.endswith(f"You said: {text}")
    assert len(ids) == 2
    assert [b["messages"][-1]["content"] for b in mock.chat_requests()] == ["first", "second"]


def test_parameters_are_translated(openai_client, mock):
    openai_client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        temperature=0,
        max_completion_tokens=50,
        seed=7,
        presence_penalty=0.5,
        user="someone",
    )
    body = mock.last_chat()
    assert body["model"] == "GigaChat"
    assert body["top_p"] == 0  # greedy: GigaChat rejects temperature 0
    assert "temperature" not in body
    assert body["max_tokens"] == 50
    for ignored in ("seed", "presence_penalty", "user", "max_completion_tokens"):
        assert ignored not in body


# ----------------------------------------------------------------------------------
# 2. streaming
# ----------------------------------------------------------------------------------


def test_streaming_with_usage(openai_client, mock):
    text = "The quick brown fox jumps over the lazy dog."
    mock.config(chunk_size=5)
    mock.text(text)
    stream = openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Tell me about the fox"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    assert len(chunks) >= 4
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert all(c.id == chunks[0].id for c in chunks)
    assert chunks[0].id.startswith("chatcmpl-")
    assert all(c.model == "gpt-4o" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"

    content_chunks = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content_chunks) >= 3, "expected the text in several deltas"
    assert "".join(c.choices[0].delta.content for c in content_chunks) == text

    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]

    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.completion_tokens > 0
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens
    # Only the final chunk carries usage.
    assert all(c.usage is None for c in chunks[:-1])

    body = mock.last_chat()
    assert body["stream"] is True
    assert body["model"] == "GigaChat"


def test_streaming_without_usage_has_no_usage_chunk(openai_client, mock):
    mock.config(chunk_size=5)
    mock.text("short answer here")
    chunks = list(
        openai_client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "x"}], stream=True
        )
    )
    assert all(c.choices for c in chunks)
    assert all(c.usage is None for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "short answer here"
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_streaming_tool_call(openai_client, mock):
    mock.function_call("get_weather", {"city": "Kazan"})
    chunks = list(
        openai_client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "Weather in Kazan?"}],
            tools=[WEATHER_TOOL],
            stream=True,
        )
    )
    deltas = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert deltas, "no tool-call delta"
    first = deltas[0]
    assert first.index == 0
    assert first.id and first.id.startswith("call_")
    assert first.type == "function"
    assert first.function.name == "get_weather"
    args = "".join(d.function.arguments or "" for d in deltas if d.function)
    assert json.loads(args) == {"city": "Kazan"}
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["tool_calls"]

    body = mock.last_chat()
    assert body["stream"] is True
    assert function_names(body) == ["get_weather"]


# ----------------------------------------------------------------------------------
# 3. tool loop
# ----------------------------------------------------------------------------------


def test_tool_call_answer(openai_client, mock):
    mock.function_call("get_weather", {"city": "Kazan"})
    resp = openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "What's the weather in Kazan?"}],
        tools=[WEATHER_TOOL, TIME_TOOL],
    )
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert calls and len(calls) == 1
    call = calls[0]
    assert call.type == "function"
    assert call.id.startswith("call_")
    assert call.function.name == "get_weather"
    assert isinstance(call.function.arguments, str)
    assert json.loads(call.function.arguments) == {"city": "Kazan"}

    body = mock.last_chat()
    assert function_names(body) == ["get_weather", "get_time"]
    weather = body["functions"][0]
    assert weather["parameters"]["properties"] == {"city": {"type": "string"}}
    assert weather["parameters"]["required"] == ["city"]
    assert body.get("function_call") in (None, "auto")


def test_tool_loop_with_parallel_calls_and_reordered_results(openai_client, mock):
    # Round 1: the model asks for a tool.
    mock.function_call("get_weather", {"city": "Kazan"})
    first = openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Weather and time in Kazan?"}],
        tools=[WEATHER_TOOL, TIME_TOOL],
    )
    assert first.choices[0].finish_reason == "tool_calls"
    assert first.choices[0].message.tool_calls[0].function.name == "get_weather"

    # Round 2: history with two parallel calls, results given in the opposite order.
    mock.clear_requests()
    mock.text("In Kazan it is 27 degrees and 12:00.")
    history = [
        {"role": "user", "content": "Weather and time in Kazan?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Kazan"}'},
                },
                {
                    "id": "call_b",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": '{"tz": "Europe/Moscow"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_b", "content": "12:00"},
        {"role": "tool", "tool_call_id": "call_a", "content": '{"temperature": 27}'},
    ]
    final = openai_client.chat.completions.create(
        model="gpt-4o", messages=history, tools=[WEATHER_TOOL, TIME_TOOL]
    )
    assert final.choices[0].message.content == "In Kazan it is 27 degrees and 12:00."
    assert final.choices[0].finish_reason == "stop"
    assert not final.choices[0].message.tool_calls

    msgs = mock.last_chat()["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "function", "assistant", "function"]
    assert msgs[0]["content"] == "Weather and time in Kazan?"
    pairs = [(msgs[1], msgs[2]), (msgs[3], msgs[4])]
    seen = {}
    for call, result in pairs:
        name = call["function_call"]["name"]
        assert isinstance(call["function_call"]["arguments"], dict)
        assert result["name"] == name, "a result was paired with the wrong call"
        assert isinstance(result["content"], str)
        seen[name] = (call["function_call"]["arguments"], json.loads(result["content"]))
    assert seen == {
        "get_weather": ({"city": "Kazan"}, {"temperature": 27}),
        "get_time": ({"tz": "Europe/Moscow"}, {"result": "12:00"}),
    }
    # The pairs follow the order of the assistant's tool_calls.
    assert [p[0]["function_call"]["name"] for p in pairs] == ["get_weather", "get_time"]


def test_tool_ids_from_answers_map_back(openai_client, mock):
    """A fresh tool-call id from an answer, echoed in the next request, maps back."""
    mock.function_call("get_weather", {"city": "Omsk"})
    tools = [WEATHER_TOOL]
    messages = [{"role": "user", "content": "Weather in Omsk?"}]
    first = openai_client.chat.completions.create(model="gpt-4o", messages=messages, tools=tools)
    call = first.choices[0].message.tool_calls[0]
    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "cold"},
    ]
    second = openai_client.chat.completions.create(model="gpt-4o", messages=messages, tools=tools)
    # The emulator's default answer after a function result names it.
    assert second.choices[0].message.content.startswith("The function get_weather returned:")
    msgs = mock.last_chat()["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "function"]
    assert msgs[1]["function_call"] == {"name": "get_weather", "arguments": {"city": "Omsk"}}
    assert msgs[2]["name"] == "get_weather"
    assert json.loads(msgs[2]["content"]) == {"result": "cold"}


def test_unanswered_tool_call_is_rejected(openai_client, mock):
    history = [
        {"role": "user", "content": "x"},
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}},
                {"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "tool_call_id": "call_a", "content": "ok"},
    ]
    with pytest.raises(openai.BadRequestError):
        openai_client.chat.completions.create(
            model="gpt-4o", messages=history, tools=[WEATHER_TOOL, TIME_TOOL]
        )
    assert mock.chat_requests() == []


# ----------------------------------------------------------------------------------
# 4. tool_choice
# ----------------------------------------------------------------------------------


def test_tool_choice_forced_function(openai_client, mock):
    resp = openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Hello"}],
        tools=[WEATHER_TOOL, TIME_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )
    body = mock.last_chat()
    assert body["function_call"] == {"name": "get_time"}
    assert "get_time" in function_names(body)

    # The emulator calls a forced function with schema-generated arguments.
    calls = resp.choices[0].message.tool_calls
    assert calls and calls[0].function.name == "get_time"
    assert set(json.loads(calls[0].function.arguments)) == {"tz"}


def test_tool_choice_required_with_one_tool(openai_client, mock):
    resp = openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Hello"}],
        tools=[WEATHER_TOOL],
        tool_choice="required",
    )
    body = mock.last_chat()
    assert body["function_call"] == {"name": "get_weather"}
    calls = resp.choices[0].message.tool_calls
    assert calls and calls[0].function.name == "get_weather"
    assert "city" in json.loads(calls[0].function.arguments)


def test_tool_choice_none_and_auto(openai_client, mock):
    openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Hello"}],
        tools=[WEATHER_TOOL],
        tool_choice="none",
    )
    openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Hello"}],
        tools=[WEATHER_TOOL],
        tool_choice="auto",
    )
    none_body, auto_body = mock.chat_requests()
    assert none_body["function_call"] == "none"
    assert auto_body.get("function_call") in (None, "auto")


# ----------------------------------------------------------------------------------
# 5. structured output
# ----------------------------------------------------------------------------------


class CityWeather(BaseModel):
    city: str
    temperature: int
    sunny: bool


def test_structured_output_parse(openai_client, mock):
    resp = parse_method(openai_client)(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Weather in Kazan as JSON"}],
        response_format=CityWeather,
    )
    msg = resp.choices[0].message
    assert isinstance(msg.parsed, CityWeather)
    assert CityWeather.model_validate_json(msg.content) == msg.parsed
    assert resp.choices[0].finish_reason == "stop"

    rf = mock.last_chat()["response_format"]
    assert rf["type"] == "json_schema"
    assert rf["strict"] is True
    schema = rf["schema"]
    assert schema["type"] == "object"
    assert set(schema["properties"]) == {"city", "temperature", "sunny"}
    assert schema["properties"]["temperature"]["type"] == "integer"
    assert sorted(schema["required"]) == ["city", "sunny", "temperature"]


def test_json_object_mode_is_native_structured_output(openai_client, mock):
    mock.text('```json\n{"ok": true}\n```')
    resp = openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Reply with JSON"}],
        response_format={"type": "json_object"},
    )
    # The fence GigaChat may add is stripped: the content always parses.
    assert json.loads(resp.choices[0].message.content) == {"ok": True}
    body = mock.last_chat()
    assert body["response_format"] == {
        "type": "json_schema",
        "schema": {"type": "object"},
        "strict": False,
    }


def test_json_object_answer_that_is_not_json_is_an_error(openai_client, mock):
    mock.text("Sure! Here you go: ok")
    with pytest.raises(openai.APIStatusError) as exc:
        openai_client.with_options(max_retries=0).chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "Reply with JSON"}],
            response_format={"type": "json_object"},
        )
    assert exc.value.status_code == 502
    assert "valid JSON" in exc.value.message


# ----------------------------------------------------------------------------------
# 6. images
# ----------------------------------------------------------------------------------


def _image_message(url: str, text: str = "What is in this image?") -> dict:
    return {
        "role": "user",
        "content": [
            {"type": "text", "text": text},
            {"type": "image_url", "image_url": {"url": url}},
        ],
    }


def test_image_data_url_is_uploaded_and_attached(openai_client, mock):
    png = png_1x1()
    resp = openai_client.chat.completions.create(
        model="gpt-4o", messages=[_image_message(data_url(png))]
    )
    assert resp.choices[0].message.content

    uploads = [r for r in mock.requests("/files") if r["method"] == "POST"]
    assert len(uploads) == 1
    upload = uploads[0]
    assert upload["path"] == "/api/v1/files"
    headers = {k: v for k, v in upload["headers"]}
    assert headers["content-type"].startswith("multipart/form-data")
    assert upload["body_len"] >= len(png)
    assert mock.stats()["uploads"] == 1

    user = mock.last_chat()["messages"][-1]
    assert user["role"] == "user"
    assert user["content"] == "What is in this image?"
    assert isinstance(user["attachments"], list) and len(user["attachments"]) == 1
    assert isinstance(user["attachments"][0], str) and user["attachments"][0]


def test_same_image_twice_is_uploaded_once(openai_client, mock):
    url = data_url(png_1x1())
    for question in ("first look", "second look"):
        openai_client.chat.completions.create(
            model="gpt-4o", messages=[_image_message(url, question)]
        )
    assert mock.stats()["uploads"] == 1
    assert len([r for r in mock.requests("/files") if r["method"] == "POST"]) == 1
    first, second = mock.chat_requests()
    assert first["messages"][-1]["attachments"] == second["messages"][-1]["attachments"]
    assert len(first["messages"][-1]["attachments"]) == 1


def test_gif_image_is_refused(openai_client, mock):
    gif = "data:image/gif;base64,R0lGODlhAQABAAAAACw="
    with pytest.raises(openai.BadRequestError):
        openai_client.chat.completions.create(model="gpt-4o", messages=[_image_message(gif)])
    assert mock.chat_requests() == []
    assert mock.stats()["uploads"] == 0


# ----------------------------------------------------------------------------------
# 7. stop sequences
# ----------------------------------------------------------------------------------


def test_stop_sequence(openai_client, mock):
    mock.text("hello END world")
    resp = openai_client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "x"}], stop=["END"]
    )
    assert resp.choices[0].message.content == "hello "
    assert resp.choices[0].finish_reason == "stop"
    assert "stop" not in mock.last_chat()  # GigaChat v1 has no `stop`; the proxy enforces it


def test_stop_sequence_streaming_across_chunks(openai_client, mock):
    mock.config(chunk_size=4)  # "hell" "o EN" "D wo" "rld": END spans two chunks
    mock.text("hello END world")
    chunks = list(
        openai_client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "x"}],
            stop="END",
            stream=True,
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "hello "
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    body = mock.last_chat()
    assert body["stream"] is True
    assert "stop" not in body


# ----------------------------------------------------------------------------------
# other answer shapes
# ----------------------------------------------------------------------------------


def test_length_and_content_filter_finish_reasons(openai_client, mock):
    mock.push_replies([{"type": "length", "text": "Truncated answ"}, {"type": "blacklist"}])
    length = openai_client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "x"}]
    )
    assert length.choices[0].finish_reason == "length"
    assert length.choices[0].message.content == "Truncated answ"
    refused = openai_client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "y"}]
    )
    assert refused.choices[0].finish_reason == "content_filter"


def test_reasoning_content(openai_client, mock):
    mock.push_reply({"type": "reasoning", "reasoning": "Let me think.", "text": "42"})
    resp = openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Answer?"}],
        reasoning_effort="minimal",
    )
    msg = resp.choices[0].message
    assert msg.content == "42"
    assert (msg.model_extra or {}).get("reasoning_content") == "Let me think."
    assert mock.last_chat()["reasoning_effort"] == "low"


# ----------------------------------------------------------------------------------
# 11. path normalisation
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["/api/v1", "/openai/v1", ""])
def test_base_url_prefixes(proxy_url, mock, prefix):
    with openai.OpenAI(base_url=f"{proxy_url}{prefix}", api_key="test", max_retries=0) as client:
        resp = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "via prefix"}]
        )
        assert resp.choices[0].message.content.endswith("You said: via prefix")
        assert any(m.id == "GigaChat" for m in client.models.list())
    assert mock.last_chat()["messages"][-1]["content"] == "via prefix"
