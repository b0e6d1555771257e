"""OpenAI Responses API through the official `openai` SDK: create, the streaming and
parsing helpers, function and custom tool loops (stored and stateless), stored
responses, images, reasoning items and the raw event grammar. Every test checks both
what the SDK returns and what reached GigaChat."""

from __future__ import annotations

import json

import openai
import pytest
from pydantic import BaseModel

from helpers import data_url, png_1x1

MODEL = "gpt-5"
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}
APPLY_PATCH = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Apply a patch to the workspace.",
    "format": {
        "type": "grammar",
        "syntax": "lark",
        "definition": 'start: "*** Begin Patch" /(.|\\n)*/ "*** End Patch"',
    },
}


def roles(body: dict) -> list[str]:
    return [m["role"] for m in body["messages"]]


# ----------------------------------------------------------------------------------
# create
# ----------------------------------------------------------------------------------


def test_create_with_string_input(openai_client, mock):
    mock.text("Hello from GigaChat.")
    r = openai_client.responses.create(model=MODEL, input="Hello!")
    assert r.object == "response"
    assert r.id.startswith("resp_")
    assert r.status == "completed"
    assert r.model == MODEL
    assert r.output_text == "Hello from GigaChat."
    assert [o.type for o in r.output] == ["message"]
    msg = r.output[0]
    assert msg.role == "assistant" and msg.status == "completed"
    assert msg.content[0].type == "output_text" and msg.content[0].annotations == []
    assert r.usage.input_tokens > 0 and r.usage.output_tokens > 0
    assert r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens

    body = mock.last_chat()
    assert body["model"] == "GigaChat"
    assert body["messages"] == [{"role": "user", "content": "Hello!"}]
    assert "stream" not in body or body["stream"] is False


def test_create_with_items_and_instructions(openai_client, mock):
    mock.text("Paris.")
    r = openai_client.responses.create(
        model=MODEL,
        instructions="You are a geography tutor.",
        max_output_tokens=200,
        temperature=0.3,
        input=[
            {"role": "developer", "content": "Answer with one word."},
            {"role": "user", "content": [{"type": "input_text", "text": "Capital of Italy?"}]},
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Rome.", "annotations": []}],
            },
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "And of France?"}]},
        ],
    )
    assert r.output_text == "Paris."
    assert r.instructions == "You are a geography tutor."
    assert r.max_output_tokens == 200

    body = mock.last_chat()
    assert roles(body) == ["system", "user", "assistant", "user"]
    system = body["messages"][0]["content"]
    assert system.startswith("You are a geography tutor.")
    assert "Answer with one word." in system
    assert body["messages"][1:] == [
        {"role": "user", "content": "Capital of Italy?"},
        {"role": "assistant", "content": "Rome."},
        {"role": "user", "content": "And of France?"},
    ]
    assert body["max_tokens"] == 200
    assert body["temperature"] == pytest.approx(0.3)


def test_stream_helpers(openai_client, mock):
    text = "Streaming Responses: deltas add up to the final text."
    mock.config(chunk_size=5)
    mock.text(text)
    deltas, types = [], []
    with openai_client.responses.stream(model=MODEL, input="stream please") as stream:
        for event in stream:
            types.append(event.type)
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
        final = stream.get_final_response()
    assert len(deltas) >= 5
    assert "".join(deltas) == text
    assert final.output_text == text
    assert final.status == "completed"
    assert types[0] == "response.created" and types[-1] == "response.completed"
    body = mock.last_chat()
    assert body["stream"] is True
    assert body["messages"] == [{"role": "user", "content": "stream please"}]


class City(BaseModel):
    name: str
    population: int


def test_parse_with_pydantic_model(openai_client, mock):
    mock.text('{"name": "Kazan", "population": 1300000}')
    r = openai_client.responses.parse(model=MODEL, input="Describe Kazan.", text_format=City)
    assert isinstance(r.output_parsed, City)
    assert r.output_parsed == City(name="Kazan", population=1300000)
    assert r.text.format.type == "json_schema"

    fmt = mock.last_chat()["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["strict"] is True
    assert fmt["schema"]["properties"]["population"]["type"] == "integer"
    assert sorted(fmt["schema"]["required"]) == ["name", "population"]


# ----------------------------------------------------------------------------------
# tool loops
# ----------------------------------------------------------------------------------


def test_function_tool_loop_with_previous_response_id(openai_client, mock):
    mock.function_call("get_weather", {"city": "Kazan"})
    first = openai_client.responses.create(
        model=MODEL, instructions="Use tools.", tools=[WEATHER], input="Weather in Kazan?"
    )
    calls = [o for o in first.output if o.type == "function_call"]
    assert len(calls) == 1
    call = calls[0]
    assert call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Kazan"}
    assert call.call_id
    body = mock.last_chat()
    assert [f["name"] for f in body["functions"]] == ["get_weather"]
    assert body["messages"][0] == {"role": "system", "content": "Use tools."}

    mock.text("It is sunny in Kazan.")
    second = openai_client.responses.create(
        model=MODEL,
        previous_response_id=first.id,
        tools=[WEATHER],
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": '{"sky": "sunny"}'}],
    )
    assert second.output_text == "It is sunny in Kazan."
    assert second.previous_response_id == first.id

    body = mock.last_chat()
    assert roles(body)[-3:] == ["user", "assistant", "function"]
    assert body["messages"][-3]["content"] == "Weather in Kazan?"
    assert body["messages"][-2]["function_call"] == {"name": "get_weather", "arguments": {"city": "Kazan"}}
    assert body["messages"][-1]["name"] == "get_weather"
    assert json.loads(body["messages"][-1]["content"]) == {"sky": "sunny"}


def test_function_tool_loop_stateless_full_history(openai_client, mock):
    mock.function_call("get_weather", {"city": "Omsk"})
    history: list = [{"role": "user", "content": "Weather in Omsk?"}]
    first = openai_client.responses.create(model=MODEL, tools=[WEATHER], input=history, store=False)
    assert first.store is False
    call = [o for o in first.output if o.type == "function_call"][0]
    assert json.loads(call.arguments) == {"city": "Omsk"}

    # store=False: nothing to retrieve or continue from.
    with pytest.raises(openai.NotFoundError):
        openai_client.responses.retrieve(first.id)

    history += [o.model_dump(exclude_none=True) for o in first.output]
    history.append({"type": "function_call_output", "call_id": call.call_id, "output": "cold"})
    mock.text("It is cold in Omsk.")
    second = openai_client.responses.create(model=MODEL, tools=[WEATHER], input=history, store=False)
    assert second.output_text == "It is cold in Omsk."

    body = mock.last_chat()
    assert roles(body) == ["user", "assistant", "function"]
    assert body["messages"][1]["function_call"] == {"name": "get_weather", "arguments": {"city": "Omsk"}}
    assert json.loads(body["messages"][2]["content"]) == {"result": "cold"}


def test_unknown_previous_response_id_is_not_found(openai_client, mock):
    with pytest.raises(openai.NotFoundError) as exc:
        openai_client.responses.create(
            model=MODEL, previous_response_id="resp_does_not_exist", input="continue"
        )
    assert exc.value.status_code == 404
    assert mock.chat_requests() == []


def test_previous_response_id_of_unstored_response_is_not_found(openai_client, mock):
    first = openai_client.responses.create(model=MODEL, input="remember nothing", store=False)
    with pytest.raises(openai.NotFoundError):
        openai_client.responses.create(model=MODEL, previous_response_id=first.id, input="continue")
    assert len(mock.chat_requests()) == 1


def test_custom_tool_round_trip(openai_client, mock):
    patch = "*** Begin Patch\n*** Add File: hello.txt\n+hi\n*** End Patch"
    mock.function_call("apply_patch", {"input": patch})
    first = openai_client.responses.create(model=MODEL, tools=[APPLY_PATCH], input="Create hello.txt")
    assert [o.type for o in first.output] == ["custom_tool_call"]
    call = first.output[0]
    assert call.name == "apply_patch"
    assert call.input == patch
    assert call.call_id

    fn = mock.last_chat()["functions"][0]
    assert fn["name"] == "apply_patch"
    assert fn["parameters"]["properties"]["input"]["type"] == "string"
    assert fn["parameters"]["required"] == ["input"]
    assert "lark" in fn["description"] and "Begin Patch" in fn["description"]

    mock.text("Patched.")
    second = openai_client.responses.create(
        model=MODEL,
        previous_response_id=first.id,
        tools=[APPLY_PATCH],
        input=[{"type": "custom_tool_call_output", "call_id": call.call_id, "output": "Done!"}],
    )
    assert second.output_text == "Patched."
    msgs = mock.last_chat()["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "function"]
    assert msgs[1]["function_call"] == {"name": "apply_patch", "arguments": {"input": patch}}
    assert msgs[2]["name"] == "apply_patch"
    assert json.loads(msgs[2]["content"]) == {"result": "Done!"}


TIME = {
    "type": "function",
    "name": "get_time",
    "description": "Local time in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.mark.parametrize(
    ("tool_choice", "upstream", "functions", "item"),
    [
        ({"type": "function", "name": "get_time"}, {"name": "get_time"}, ["get_time", "get_weather", "apply_patch"], "function_call"),
        ({"type": "custom", "name": "apply_patch"}, {"name": "apply_patch"}, ["get_time", "get_weather", "apply_patch"], "custom_tool_call"),
        (
            {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "get_time"}]},
            {"name": "get_time"},
            ["get_time"],
            "function_call",
        ),
        ("none", "none", ["get_time", "get_weather", "apply_patch"], "message"),
    ],
    ids=["function", "custom", "allowed_tools-one", "none"],
)
def test_tool_choice(openai_client, mock, tool_choice, upstream, functions, item):
    r = openai_client.responses.create(
        model=MODEL, input="anything", tools=[TIME, WEATHER, APPLY_PATCH], tool_choice=tool_choice
    )
    body = mock.last_chat()
    assert body["function_call"] == upstream
    assert sorted(f["name"] for f in body["functions"]) == sorted(functions)
    assert [o.type for o in r.output] == [item]
    if item != "message":
        assert r.output[0].name == upstream["name"]


def test_custom_tool_call_ids_agree_between_json_and_stream(openai_client, mock):
    """The same kind of item gets the same id prefix whether streamed or not (OpenAI:
    `fc_…` for function calls, `ctc_…` for custom tool calls)."""
    call = {"type": "function_call", "name": "apply_patch", "arguments": {"input": "x"}}
    mock.push_replies([call, call])
    plain = openai_client.responses.create(model=MODEL, input="p", tools=[APPLY_PATCH])
    streamed = [
        e for e in openai_client.responses.create(model=MODEL, input="p", tools=[APPLY_PATCH], stream=True)
    ][-1].response
    assert streamed.output[0].type == plain.output[0].type == "custom_tool_call"
    assert streamed.output[0].id.startswith("ctc_")
    assert plain.output[0].id.startswith("ctc_"), plain.output[0].id
    assert len(mock.chat_requests()) == 2


@pytest.mark.parametrize(
    ("reply", "reason"),
    [({"type": "length", "text": "Cut off mid"}, "max_output_tokens"), ({"type": "blacklist"}, "content_filter")],
    ids=["length", "blacklist"],
)
def test_incomplete_responses(openai_client, mock, reply, reason):
    mock.push_replies([reply, reply])
    r = openai_client.responses.create(model=MODEL, input="x", max_output_tokens=1000)
    assert r.status == "incomplete"
    assert r.incomplete_details.reason == reason
    assert r.output_text
    events = list(openai_client.responses.create(model=MODEL, input="x", max_output_tokens=1000, stream=True))
    assert events[-1].type == "response.incomplete"
    assert events[-1].response.incomplete_details.reason == reason
    assert events[-1].response.output_text == r.output_text
    assert [b["max_tokens"] for b in mock.chat_requests()] == [1000, 1000]


def test_previous_response_id_chain(openai_client, mock):
    """Three turns chained by previous_response_id: the whole conversation reaches
    GigaChat; `instructions` apply to the turn that carries them only (as OpenAI)."""
    for text in ("one!", "two!", "three!"):
        mock.text(text)
    a = openai_client.responses.create(model=MODEL, instructions="First rules.", input="one")
    b = openai_client.responses.create(model=MODEL, instructions="Second rules.", input="two", previous_response_id=a.id)
    c = openai_client.responses.create(model=MODEL, input="three", previous_response_id=b.id)
    assert (a.output_text, b.output_text, c.output_text) == ("one!", "two!", "three!")
    first, second, third = mock.chat_requests()
    assert second["messages"][0] == {"role": "system", "content": "Second rules."}
    assert third["messages"] == [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "one!"},
        {"role": "user", "content": "two"},
        {"role": "assistant", "content": "two!"},
        {"role": "user", "content": "three"},
    ]


def test_streamed_response_is_stored(openai_client, mock):
    mock.text("Streamed and stored.")
    with openai_client.responses.stream(model=MODEL, input="keep it") as stream:
        final = stream.get_final_response()
    got = openai_client.responses.retrieve(final.id)
    assert got.output_text == "Streamed and stored."
    assert [o.id for o in got.output] == [o.id for o in final.output]
    mock.text("Continued.")
    nxt = openai_client.responses.create(model=MODEL, input="more", previous_response_id=final.id)
    assert nxt.output_text == "Continued."
    assert mock.last_chat()["messages"] == [
        {"role": "user", "content": "keep it"},
        {"role": "assistant", "content": "Streamed and stored."},
        {"role": "user", "content": "more"},
    ]


# ----------------------------------------------------------------------------------
# stored responses
# ----------------------------------------------------------------------------------


def test_retrieve_and_delete(openai_client, mock):
    mock.text("Stored answer.")
    created = openai_client.responses.create(model=MODEL, input="store me")
    assert created.store is True
    got = openai_client.responses.retrieve(created.id)
    assert got.id == created.id
    assert got.output_text == "Stored answer."
    assert got.status == "completed"
    assert len(mock.chat_requests()) == 1  # retrieve does not call GigaChat

    openai_client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        openai_client.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        openai_client.responses.delete(created.id)
    assert len(mock.chat_requests()) == 1


def test_input_items_list(openai_client, mock):
    def msg(role, text):
        part = "input_text" if role == "user" else "output_text"
        return {"type": "message", "role": role, "content": [{"type": part, "text": text}]}

    r = openai_client.responses.create(
        model=MODEL,
        input=[msg("user", "first question"), msg("assistant", "first answer"), msg("user", "second question")],
    )
    assert r.output_text.endswith("You said: second question")
    items = openai_client.responses.input_items.list(r.id)
    assert len(items.data) == 3
    assert all(item.type == "message" and item.id for item in items.data)
    # Default order is descending (newest first), as OpenAI.
    texts = [item.content[0].text for item in items.data]
    assert texts == ["second question", "first answer", "first question"]
    asc = openai_client.responses.input_items.list(r.id, order="asc")
    assert [item.content[0].text for item in asc.data] == texts[::-1]
    page = openai_client.responses.input_items.list(r.id, order="asc", limit=2)
    assert [item.content[0].text for item in page.data] == ["first question", "first answer"]
    assert page.has_more is True
    rest = openai_client.responses.input_items.list(r.id, order="asc", after=page.data[-1].id)
    assert [item.content[0].text for item in rest.data] == ["second question"]
    assert rest.has_more is False
    assert len(mock.chat_requests()) == 1  # listing does not call GigaChat
    with pytest.raises(openai.NotFoundError):
        openai_client.responses.input_items.list("resp_missing")


def test_input_items_of_shorthand_messages_are_normalised(openai_client, mock):
    """`{"role", "content": "text"}` (EasyInputMessage) is how most clients send input;
    OpenAI lists such items as `type: "message"` items with content parts."""
    r = openai_client.responses.create(
        model=MODEL,
        input=[
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "first answer"},
            {"role": "user", "content": "second question"},
        ],
    )
    assert r.output_text.endswith("You said: second question")
    assert roles(mock.last_chat()) == ["user", "assistant", "user"]
    data = openai_client.responses.input_items.list(r.id, order="asc").data
    assert len(data) == 3
    for item in data:
        assert item.id
        assert item.type == "message", item
        assert isinstance(item.content, list) and item.content, item
    assert [item.content[0].text for item in data] == ["first question", "first answer", "second question"]
    assert [item.content[0].type for item in data if item.role == "user"] == ["input_text"] * 2


def test_image_input(openai_client, mock):
    mock.text("One pixel.")
    r = openai_client.responses.create(
        model=MODEL,
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "What is in the picture?"},
                    {"type": "input_image", "image_url": data_url(png_1x1()), "detail": "auto"},
                ],
            }
        ],
    )
    assert r.output_text == "One pixel."
    assert mock.stats()["uploads"] == 1
    upload = mock.requests("/api/v1/files")
    assert len(upload) == 1 and upload[0]["method"] == "POST"
    user = mock.last_chat()["messages"][-1]
    assert user["role"] == "user"
    assert user["content"] == "What is in the picture?"
    assert len(user["attachments"]) == 1


# ----------------------------------------------------------------------------------
# reasoning
# ----------------------------------------------------------------------------------


def test_reasoning_with_encrypted_content_round_trip(openai_client, mock):
    mock.push_reply({"type": "reasoning", "reasoning": "Six times seven is 42.", "text": "42"})
    first = openai_client.responses.create(
        model=MODEL,
        input="6*7?",
        reasoning={"effort": "high", "summary": "auto"},
        include=["reasoning.encrypted_content"],
        store=False,
    )
    assert [o.type for o in first.output] == ["reasoning", "message"]
    reasoning = first.output[0]
    assert [s.text for s in reasoning.summary] == ["Six times seven is 42."]
    assert isinstance(reasoning.encrypted_content, str) and reasoning.encrypted_content
    assert first.output_text == "42"
    assert mock.last_chat()["reasoning_effort"] == "high"

    # Send the whole turn back (reasoning item included), as stateless clients do.
    mock.text("84")
    history = [{"role": "user", "content": "6*7?"}]
    history += [o.model_dump(exclude_none=True) for o in first.output]
    history.append({"role": "user", "content": "Double it."})
    second = openai_client.responses.create(
        model=MODEL,
        input=history,
        reasoning={"effort": "high"},
        include=["reasoning.encrypted_content"],
        store=False,
    )
    assert second.output_text == "84"
    body = mock.last_chat()
    assert body["messages"] == [
        {"role": "user", "content": "6*7?"},
        {"role": "assistant", "content": "42"},
        {"role": "user", "content": "Double it."},
    ]


def test_reasoning_without_include_has_no_encrypted_content(openai_client, mock):
    mock.push_reply({"type": "reasoning", "reasoning": "Hmm.", "text": "Yes."})
    r = openai_client.responses.create(model=MODEL, input="?", reasoning={"effort": "low"})
    reasoning = [o for o in r.output if o.type == "reasoning"][0]
    assert [s.text for s in reasoning.summary] == ["Hmm."]
    assert not reasoning.encrypted_content
    assert r.output_text == "Yes."
    assert mock.last_chat()["reasoning_effort"] == "low"


# ----------------------------------------------------------------------------------
# raw stream grammar
# ----------------------------------------------------------------------------------


def check_stream(events: list) -> None:
    """Sequence numbers, item lifecycle and terminal event of a Responses stream."""
    types = [e.type for e in events]
    assert types[0] == "response.created", types
    assert types[-1] == "response.completed", types
    assert types.count("response.completed") == 1
    seq = [e.sequence_number for e in events]
    assert all(b > a for a, b in zip(seq, seq[1:])), seq

    added = {e.output_index: e.item.id for e in events if e.type == "response.output_item.added"}
    done = {e.output_index: e.item for e in events if e.type == "response.output_item.done"}
    assert sorted(added) == list(range(len(added)))
    assert sorted(done) == sorted(added), "every added item must be done"
    for idx, item_id in added.items():
        assert done[idx].id == item_id
    # the final response carries exactly the done items, in order
    final = events[-1].response
    assert final.status == "completed"
    assert [o.id for o in final.output] == [done[i].id for i in sorted(done)]
    # items are done before the response completes, and deltas precede their item's done
    for idx, item in done.items():
        done_pos = next(
            i for i, e in enumerate(events)
            if e.type == "response.output_item.done" and e.output_index == idx
        )
        for e in events[done_pos + 1:]:
            assert getattr(e, "output_index", None) != idx or e.type == "response.completed", e.type


@pytest.mark.parametrize(
    ("replies", "kwargs", "items"),
    [
        ([{"type": "text", "text": "Just a plain streamed text answer."}], {}, ["message"]),
        (
            [{"type": "reasoning", "reasoning": "Thinking it through.", "text": "Answer after thought."}],
            {"include": ["reasoning.encrypted_content"], "reasoning": {"effort": "medium"}},
            ["reasoning", "message"],
        ),
        (
            [{"type": "function_call", "name": "get_weather", "arguments": {"city": "Tula"}}],
            {"tools": [WEATHER]},
            ["function_call"],
        ),
        (
            [{"type": "function_call", "name": "apply_patch", "arguments": {"input": "*** Begin Patch\n*** End Patch"}}],
            {"tools": [APPLY_PATCH]},
            ["custom_tool_call"],
        ),
    ],
    ids=["text", "reasoning", "function_call", "custom_tool_call"],
)
def test_raw_stream_events(openai_client, mock, replies, kwargs, items):
    mock.config(chunk_size=4)
    mock.push_replies(replies)
    stream = openai_client.responses.create(model=MODEL, input="go", stream=True, **kwargs)
    events = list(stream)
    check_stream(events)
    final = events[-1].response
    assert [o.type for o in final.output] == items
    reply = replies[0]
    if reply["type"] in ("text", "reasoning"):
        text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        assert text == reply["text"] == final.output_text
        done = [e for e in events if e.type == "response.output_text.done"]
        assert len(done) == 1 and done[0].text == reply["text"]
    if reply["type"] == "reasoning":
        summary = "".join(e.delta for e in events if e.type == "response.reasoning_summary_text.delta")
        assert summary == reply["reasoning"]
        assert final.output[0].encrypted_content
    if reply["type"] == "function_call" and items == ["function_call"]:
        args_done = [e for e in events if e.type == "response.function_call_arguments.done"]
        assert len(args_done) == 1 and json.loads(args_done[0].arguments) == reply["arguments"]
        assert json.loads(final.output[0].arguments) == reply["arguments"]
    if items == ["custom_tool_call"]:
        assert final.output[0].input == reply["arguments"]["input"]
    assert final.usage.output_tokens > 0
    assert mock.last_chat()["stream"] is True


def test_stream_upstream_failure_before_first_byte(openai_client, mock):
    mock.fault(429, path_suffix="/chat/completions")
    with pytest.raises(openai.RateLimitError):
        stream = openai_client.responses.create(model=MODEL, input="x", stream=True)
        list(stream)
    assert [r["status"] for r in mock.requests("/api/v1/chat/completions")] == [429]
