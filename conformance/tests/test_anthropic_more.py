"""Anthropic Messages through the official `anthropic` SDK: conversations, tool loops,
thinking, the streaming helpers and the raw event grammar, token counting and the SDK's
error classes. Every test checks both what the SDK returns and what reached GigaChat."""

from __future__ import annotations

import base64
import json
import uuid

import anthropic
import httpx
import pytest

from helpers import png_1x1

MODEL = "claude-sonnet-4-6"
WEATHER = {
    "name": "get_weather",
    "description": "Current weather in a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"],
    },
}
TIME = {
    "name": "get_time",
    "description": "Local time in a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def user(text: str) -> dict:
    return {"role": "user", "content": text}


# ----------------------------------------------------------------------------------
# requests
# ----------------------------------------------------------------------------------


def test_system_text_blocks_with_cache_control(claude, mock):
    mock.text("Brief answer.")
    msg = claude.messages.create(
        model=MODEL,
        max_tokens=64,
        system=[
            {"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Answer in English.", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
        ],
        messages=[user("Hi")],
    )
    assert [b.type for b in msg.content] == ["text"]
    assert msg.content[0].text == "Brief answer."
    assert msg.stop_reason == "end_turn"

    body = mock.last_chat()
    assert body["messages"][0]["role"] == "system"
    system = body["messages"][0]["content"]
    assert system.index("You are terse.") < system.index("Answer in English.")
    assert "cache_control" not in json.dumps(body) and "ephemeral" not in json.dumps(body)
    assert body["messages"][1:] == [{"role": "user", "content": "Hi"}]


def test_multi_turn_conversation(claude, mock):
    mock.text("Nice to meet you, Ann.")
    first = claude.messages.create(
        model=MODEL, max_tokens=64, system="Be friendly.", messages=[user("My name is Ann.")]
    )
    assert first.content[0].text == "Nice to meet you, Ann."

    mock.text("Your name is Ann.")
    history = [
        user("My name is Ann."),
        {"role": "assistant", "content": [b.model_dump() for b in first.content]},
        {"role": "user", "content": [{"type": "text", "text": "What is my name?"}]},
    ]
    second = claude.messages.create(model=MODEL, max_tokens=64, system="Be friendly.", messages=history)
    assert second.content[0].text == "Your name is Ann."
    assert second.id != first.id

    chats = mock.chat_requests()
    assert len(chats) == 2
    assert chats[1]["messages"] == [
        {"role": "system", "content": "Be friendly."},
        {"role": "user", "content": "My name is Ann."},
        {"role": "assistant", "content": "Nice to meet you, Ann."},
        {"role": "user", "content": "What is my name?"},
    ]


def test_tool_loop_two_tool_uses_results_in_reverse_order(claude, mock):
    """An assistant turn with text and TWO tool_use blocks (as a model that calls tools in
    parallel produces), answered by both tool_results in reverse order."""
    mock.function_call("get_weather", {"city": "Kazan"})
    first = claude.messages.create(
        model=MODEL, max_tokens=100, tools=[WEATHER, TIME], messages=[user("Weather and time in Kazan?")]
    )
    assert first.stop_reason == "tool_use"
    weather_use = [b for b in first.content if b.type == "tool_use"][0]
    assert weather_use.name == "get_weather" and weather_use.input == {"city": "Kazan"}

    # A second call in the same turn (GigaChat v1 returns one call per answer; a client
    # may still carry two, e.g. from a transcript of another model).
    assistant_turn = [
        {"type": "text", "text": "Let me check both."},
        weather_use.model_dump(exclude_none=True),
        {"type": "tool_use", "id": "toolu_time_1", "name": "get_time", "input": {"city": "Kazan"}},
    ]
    mock.text("Sunny, and it is noon.")
    final = claude.messages.create(
        model=MODEL,
        max_tokens=100,
        tools=[WEATHER, TIME],
        messages=[
            user("Weather and time in Kazan?"),
            {"role": "assistant", "content": assistant_turn},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_time_1", "content": "12:00"},
                    {
                        "type": "tool_result",
                        "tool_use_id": weather_use.id,
                        "content": [{"type": "text", "text": '{"sky": "sunny"}'}],
                    },
                ],
            },
        ],
    )
    assert final.content[0].text == "Sunny, and it is noon."
    assert final.stop_reason == "end_turn"

    msgs = mock.last_chat()["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "function", "assistant", "function"]
    # Each result follows its own call, matched by id, not by position.
    assert msgs[1]["function_call"] == {"name": "get_weather", "arguments": {"city": "Kazan"}}
    assert msgs[2]["name"] == "get_weather"
    assert json.loads(msgs[2]["content"]) == {"sky": "sunny"}
    assert msgs[3]["function_call"] == {"name": "get_time", "arguments": {"city": "Kazan"}}
    assert msgs[4]["name"] == "get_time"
    assert json.loads(msgs[4]["content"]) == {"result": "12:00"}
    assert "Let me check both." in json.dumps(msgs[1:4], ensure_ascii=False)


def test_is_error_tool_result(claude, mock):
    mock.text("The weather service is down.")
    msg = claude.messages.create(
        model=MODEL,
        max_tokens=100,
        tools=[WEATHER],
        messages=[
            user("Weather in Omsk?"),
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_e1", "name": "get_weather", "input": {"city": "Omsk"}}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_e1",
                        "is_error": True,
                        "content": [{"type": "text", "text": "service unavailable"}],
                    }
                ],
            },
        ],
    )
    assert msg.content[0].text == "The weather service is down."
    msgs = mock.last_chat()["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "function"]
    assert msgs[2]["name"] == "get_weather"
    assert json.loads(msgs[2]["content"]) == {"error": "service unavailable"}


READ = {
    "name": "Read",
    "description": "Reads a file from the local filesystem.",
    "input_schema": {
        "type": "object",
        "properties": {"file_path": {"type": "string"}},
        "required": ["file_path"],
    },
}


def test_image_in_tool_result_reaches_gigachat_after_the_function_result(claude, mock):
    """Claude Code's `Read` on a PNG: the model calls the tool, the tool_result holds only
    an image block. The function result says where the image is and a user message
    right after it carries the uploaded PNG (GigaChat attaches files to user messages
    only)."""
    mock.function_call("Read", {"file_path": "/repo/logo.png"})
    history = [user("What is in logo.png?")]
    first = claude.messages.create(model=MODEL, max_tokens=100, tools=[READ], messages=history)
    assert first.stop_reason == "tool_use"
    use = [b for b in first.content if b.type == "tool_use"][0]
    assert use.name == "Read" and use.input == {"file_path": "/repo/logo.png"}

    png = png_1x1()
    mock.text("A one-pixel image.")
    history += [
        {"role": "assistant", "content": [b.model_dump() for b in first.content]},
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": use.id,
                    "content": [
                        {
                            "type": "image",
                            "source": {
                                "type": "base64",
                                "media_type": "image/png",
                                "data": base64.b64encode(png).decode(),
                            },
                        }
                    ],
                }
            ],
        },
    ]
    with claude.messages.stream(model=MODEL, max_tokens=100, tools=[READ], messages=history) as s:
        final = s.get_final_message()
    assert final.content[0].text == "A one-pixel image."
    assert final.stop_reason == "end_turn"

    sent = mock.last_chat()["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "function", "user"]
    assert sent[1]["function_call"] == {"name": "Read", "arguments": {"file_path": "/repo/logo.png"}}
    assert sent[2]["name"] == "Read"
    assert json.loads(sent[2]["content"]) == {"result": "1 image, attached after the function results"}
    assert sent[3]["content"] == "Image returned by Read:"
    assert isinstance(sent[3]["attachments"], list) and len(sent[3]["attachments"]) == 1
    uploads = [r for r in mock.requests("/api/v1/files") if r["method"] == "POST"]
    assert len(uploads) == 1 and uploads[0]["body_len"] >= len(png)


def test_forced_tool_choice(claude, mock):
    mock.function_call("get_time", {"city": "Perm"})
    msg = claude.messages.create(
        model=MODEL,
        max_tokens=100,
        tools=[WEATHER, TIME],
        tool_choice={"type": "tool", "name": "get_time"},
        messages=[user("anything")],
    )
    assert msg.stop_reason == "tool_use"
    uses = [b for b in msg.content if b.type == "tool_use"]
    assert [(u.name, u.input) for u in uses] == [("get_time", {"city": "Perm"})]
    body = mock.last_chat()
    assert body["function_call"] == {"name": "get_time"}
    assert sorted(f["name"] for f in body["functions"]) == ["get_time", "get_weather"]


def test_tool_choice_any(claude, mock):
    msg = claude.messages.create(
        model=MODEL,
        max_tokens=100,
        tools=[WEATHER],
        tool_choice={"type": "any"},
        messages=[user("anything")],
    )
    # One tool: "any" can only mean that tool, so the call is forced (the emulator
    # then calls it with schema-generated arguments).
    assert mock.last_chat()["function_call"] == {"name": "get_weather"}
    assert msg.stop_reason == "tool_use"
    uses = [b for b in msg.content if b.type == "tool_use"]
    assert len(uses) == 1 and uses[0].name == "get_weather"
    assert isinstance(uses[0].input, dict) and isinstance(uses[0].input.get("city"), str)


def test_tool_choice_any_with_several_tools_is_auto(claude, mock):
    mock.function_call("get_weather", {"city": "Ufa"})
    msg = claude.messages.create(
        model=MODEL,
        max_tokens=100,
        tools=[WEATHER, TIME],
        tool_choice={"type": "any"},
        messages=[user("anything")],
    )
    assert msg.content[-1].type == "tool_use"
    assert mock.last_chat()["function_call"] == "auto"  # GigaChat cannot force "some tool"


def test_image_input(claude, mock):
    mock.text("A single pixel.")
    png = png_1x1()
    msg = claude.messages.create(
        model=MODEL,
        max_tokens=50,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": base64.b64encode(png).decode()},
                    },
                ],
            }
        ],
    )
    assert msg.content[0].text == "A single pixel."
    uploads = mock.requests("/api/v1/files")
    assert len(uploads) == 1 and uploads[0]["method"] == "POST"
    assert mock.stats()["uploads"] == 1
    user_msg = mock.last_chat()["messages"][-1]
    assert user_msg["role"] == "user"
    assert user_msg["content"] == "What is this?"
    assert len(user_msg["attachments"]) == 1


# ----------------------------------------------------------------------------------
# thinking
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("thinking", "effort"),
    [
        ({"type": "enabled", "budget_tokens": 1024}, "low"),
        ({"type": "enabled", "budget_tokens": 8000}, "medium"),
        ({"type": "enabled", "budget_tokens": 20000}, "high"),
        ({"type": "adaptive"}, "medium"),
    ],
    ids=["enabled-1024", "enabled-8000", "enabled-20000", "adaptive"],
)
def test_thinking_modes(claude, mock, thinking, effort):
    mock.push_reply({"type": "reasoning", "reasoning": "Two and two make four.", "text": "4"})
    msg = claude.messages.create(
        model=MODEL, max_tokens=32000, thinking=thinking, messages=[user("2+2?")]
    )
    assert [b.type for b in msg.content] == ["thinking", "text"]
    assert msg.content[0].thinking == "Two and two make four."
    assert isinstance(msg.content[0].signature, str) and msg.content[0].signature
    assert msg.content[1].text == "4"
    assert mock.last_chat()["reasoning_effort"] == effort


def test_no_thinking_sends_no_reasoning_effort(claude, mock):
    mock.text("plain")
    msg = claude.messages.create(model=MODEL, max_tokens=50, messages=[user("x")])
    assert [b.type for b in msg.content] == ["text"]
    assert "reasoning_effort" not in mock.last_chat()


def test_thinking_blocks_in_history_are_dropped(claude, mock):
    mock.push_reply({"type": "reasoning", "reasoning": "Private chain of thought.", "text": "Four."})
    first = claude.messages.create(
        model=MODEL, max_tokens=8000, thinking={"type": "adaptive"}, messages=[user("2+2?")]
    )
    mock.text("Eight.")
    second = claude.messages.create(
        model=MODEL,
        max_tokens=8000,
        thinking={"type": "adaptive"},
        messages=[
            user("2+2?"),
            {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
            user("And 4+4?"),
        ],
    )
    assert second.content[-1].text == "Eight."
    msgs = mock.last_chat()["messages"]
    assert msgs == [
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "Four."},
        {"role": "user", "content": "And 4+4?"},
    ]


# ----------------------------------------------------------------------------------
# streaming helpers
# ----------------------------------------------------------------------------------


def test_stream_text_stream_accumulates(claude, mock):
    text = "Привет! Streams carry UTF-8 across chunk borders — fine."
    mock.config(chunk_size=3)
    mock.text(text)
    with claude.messages.stream(model=MODEL, max_tokens=200, messages=[user("go")]) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
        final_text = stream.get_final_text()
    assert len(pieces) > 5
    assert "".join(pieces) == text == final_text
    assert final.content[0].text == text
    assert final.stop_reason == "end_turn"
    body = mock.last_chat()
    assert body["stream"] is True
    assert body["messages"] == [{"role": "user", "content": "go"}]


def test_stream_final_message_with_thinking_and_text(claude, mock):
    mock.config(chunk_size=4)
    mock.push_reply({"type": "reasoning", "reasoning": "First add, then answer.", "text": "It is four."})
    thinking_deltas, text_deltas, signatures = [], [], []
    with claude.messages.stream(
        model=MODEL,
        max_tokens=8000,
        thinking={"type": "enabled", "budget_tokens": 5000},
        messages=[user("2+2?")],
    ) as stream:
        for event in stream:
            if event.type == "thinking":
                thinking_deltas.append(event.thinking)
            elif event.type == "text":
                text_deltas.append(event.text)
            elif event.type == "signature":
                signatures.append(event.signature)
        final = stream.get_final_message()
    assert "".join(thinking_deltas) == "First add, then answer."
    assert "".join(text_deltas) == "It is four."
    assert len(signatures) == 1 and signatures[0]
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].thinking == "First add, then answer."
    assert final.content[0].signature == signatures[0]
    assert final.content[1].text == "It is four."
    assert final.stop_reason == "end_turn"
    body = mock.last_chat()
    assert body["stream"] is True and body["reasoning_effort"] == "medium"


def test_stream_tool_input_accumulation(claude, mock):
    mock.function_call("get_weather", {"city": "Nizhny Novgorod", "days": 3})
    partials, snapshots, stopped = [], [], []
    with claude.messages.stream(
        model=MODEL, max_tokens=100, tools=[WEATHER], messages=[user("Weather for 3 days?")]
    ) as stream:
        for event in stream:
            if event.type == "input_json":
                partials.append(event.partial_json)
                snapshots.append(event.snapshot)
            elif event.type == "content_block_stop":
                stopped.append(event.content_block)
        final = stream.get_final_message()
    assert partials, "no input_json events"
    assert json.loads("".join(partials)) == {"city": "Nizhny Novgorod", "days": 3}
    assert snapshots[-1] == {"city": "Nizhny Novgorod", "days": 3}
    assert [b.type for b in stopped] == ["tool_use"]
    assert stopped[0].input == {"city": "Nizhny Novgorod", "days": 3}
    assert final.stop_reason == "tool_use"
    block = final.content[-1]
    assert block.type == "tool_use" and block.name == "get_weather"
    assert block.input == {"city": "Nizhny Novgorod", "days": 3}
    assert block.id.startswith("toolu_")
    body = mock.last_chat()
    assert body["stream"] is True and [f["name"] for f in body["functions"]] == ["get_weather"]


# ----------------------------------------------------------------------------------
# raw stream grammar
# ----------------------------------------------------------------------------------


def check_grammar(events: list) -> list[tuple[int, str]]:
    """Asserts Anthropic's stream grammar; returns the blocks as (index, type)."""
    types = [e.type for e in events]
    assert types[0] == "message_start", types
    assert types[-1] == "message_stop", types
    assert types.count("message_start") == 1 and types.count("message_stop") == 1
    start = events[0].message
    assert start.role == "assistant" and start.content == [] and start.stop_reason is None
    assert start.id.startswith("msg_")

    blocks: list[tuple[int, str]] = []
    open_index = None
    seen_delta = False
    for e in events[1:-1]:
        if e.type == "ping":
            continue
        assert not seen_delta, f"{e.type} after message_delta"
        if e.type == "content_block_start":
            assert open_index is None, "a block started before the previous one stopped"
            assert e.index == len(blocks), f"block index {e.index}, expected {len(blocks)}"
            open_index = e.index
            blocks.append((e.index, e.content_block.type))
        elif e.type == "content_block_delta":
            assert e.index == open_index, "delta outside its block"
            expected = {
                "text": {"text_delta"},
                "thinking": {"thinking_delta", "signature_delta"},
                "tool_use": {"input_json_delta"},
            }[blocks[-1][1]]
            assert e.delta.type in expected, (blocks[-1], e.delta.type)
        elif e.type == "content_block_stop":
            assert e.index == open_index
            open_index = None
        elif e.type == "message_delta":
            assert open_index is None, "message_delta inside an open block"
            seen_delta = True
        else:
            raise AssertionError(f"unexpected event {e.type}")
    assert seen_delta, "no message_delta"
    assert open_index is None
    return blocks


@pytest.mark.parametrize(
    ("reply", "kwargs", "blocks", "stop_reason"),
    [
        ({"type": "text", "text": "Plain streamed text, long enough for chunks."}, {}, ["text"], "end_turn"),
        (
            {"type": "reasoning", "reasoning": "Thinking it over.", "text": "Done thinking."},
            {"thinking": {"type": "adaptive"}},
            ["thinking", "text"],
            "end_turn",
        ),
        (
            {"type": "function_call", "name": "get_weather", "arguments": {"city": "Tver"}},
            {"tools": [WEATHER]},
            ["tool_use"],
            "tool_use",
        ),
        ({"type": "length", "text": "Cut short here"}, {}, ["text"], "max_tokens"),
    ],
    ids=["text", "thinking", "tool_use", "max_tokens"],
)
def test_raw_stream_grammar(claude, mock, reply, kwargs, blocks, stop_reason):
    mock.config(chunk_size=5)
    mock.push_reply(reply)
    stream = claude.messages.create(
        model=MODEL, max_tokens=4000, messages=[user("stream it")], stream=True, **kwargs
    )
    events = list(stream)
    got = check_grammar(events)
    assert [t for _, t in got] == blocks
    delta = [e for e in events if e.type == "message_delta"][0]
    assert delta.delta.stop_reason == stop_reason
    assert delta.usage.output_tokens > 0
    assert events[0].message.usage.input_tokens >= 0

    # Content reassembled from the raw deltas.
    if reply["type"] in ("text", "length"):
        text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
        assert text == reply["text"]
    elif reply["type"] == "reasoning":
        thinking = "".join(
            e.delta.thinking for e in events
            if e.type == "content_block_delta" and e.delta.type == "thinking_delta"
        )
        assert thinking == reply["reasoning"]
        assert any(
            e.type == "content_block_delta" and e.delta.type == "signature_delta" and e.delta.signature
            for e in events
        )
    else:
        start = [e for e in events if e.type == "content_block_start"][0].content_block
        assert start.name == "get_weather" and start.id.startswith("toolu_")
        partial = "".join(e.delta.partial_json for e in events if e.type == "content_block_delta")
        assert json.loads(partial) == reply["arguments"]
    assert mock.last_chat()["stream"] is True


def test_raw_stream_wire_format(proxy_url, mock):
    """The SSE framing itself: every frame has an `event:` line matching the JSON `type`."""
    mock.text("Framing check.")
    with httpx.Client(timeout=30.0, trust_env=False) as http:
        with http.stream(
            "POST",
            f"{proxy_url}/v1/messages",
            headers={"anthropic-version": "2023-06-01", "x-api-key": "test"},
            json={"model": MODEL, "max_tokens": 50, "stream": True, "messages": [user("x")]},
        ) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            raw = r.read().decode()
    frames = [f for f in raw.split("\n\n") if f.strip()]
    names = []
    for frame in frames:
        lines = dict(line.split(": ", 1) for line in frame.splitlines() if ": " in line)
        assert "event" in lines and "data" in lines, frame
        assert json.loads(lines["data"])["type"] == lines["event"], frame
        names.append(lines["event"])
    assert names[0] == "message_start" and names[-1] == "message_stop"
    assert "[DONE]" not in raw
    assert mock.last_chat()["stream"] is True


# ----------------------------------------------------------------------------------
# count_tokens and models
# ----------------------------------------------------------------------------------


def emulator_token(mock) -> str:
    """A bearer token the emulator accepts, for asking it directly."""
    return mock._call("POST", "/__mock/tokens", {})["access_token"]


def emulator_count(mock, body: dict) -> int:
    """What the emulator's own `/api/v1/tokens/count` answers for `body`."""
    token = emulator_token(mock)
    r = mock.http.post(
        "/api/v1/tokens/count", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200, r.text
    return sum(item["tokens"] for item in r.json())


def test_count_tokens_matches_gigachat_counter(claude, mock):
    # The proxy remembers the counts GigaChat gave it, text by text, for the whole
    # session: every text here is new, so GigaChat is asked for all of them.
    fresh = uuid.uuid4().hex[:8]
    tool = {**WEATHER, "description": f"{WEATHER['description']} ({fresh})"}
    request = dict(
        model=MODEL,
        system=[{"type": "text", "text": f"Count carefully, {fresh}.", "cache_control": {"type": "ephemeral"}}],
        tools=[tool],
        messages=[
            user(f"What is the weather in Samara today ({fresh})?"),
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_c1", "name": "get_weather", "input": {"city": f"Samara {fresh}"}}],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_c1", "content": f"rain {fresh}"}]},
        ],
    )
    res = claude.messages.count_tokens(**request)
    assert res.input_tokens > 0
    counts = mock.requests("/tokens/count")
    assert len(counts) == 1
    body = counts[0]["json"]
    assert body["model"] == "GigaChat"
    joined = "\n".join(body["input"])
    assert f"What is the weather in Samara today ({fresh})?" in joined
    assert f"Count carefully, {fresh}." in joined
    assert "get_weather" in joined
    assert mock.chat_requests() == []
    assert res.input_tokens == emulator_count(mock, body)

    # The same conversation again: the same count, and GigaChat is not asked (the one
    # further count request is the check above, sent to the emulator directly).
    again = claude.messages.count_tokens(**request)
    assert again.input_tokens == res.input_tokens
    assert len(mock.requests("/tokens/count")) == 2


@pytest.mark.parametrize("status", [400, 429, 500, 503])
def test_count_tokens_upstream_failure_is_an_error_not_zero(claude, mock, status):
    mock.fault(status, path_suffix="/tokens/count")
    with pytest.raises(anthropic.APIStatusError) as exc:
        claude.messages.count_tokens(model=MODEL, messages=[user("count me")])
    assert exc.value.status_code >= 400
    assert exc.value.response.json()["type"] == "error"
    counts = mock.requests("/tokens/count")
    assert [r["status"] for r in counts] == [status]


def test_models_list(claude, mock):
    page = claude.models.list()
    ids = [m.id for m in page.data]
    assert "GigaChat" in ids
    for m in page.data:
        assert m.type == "model"
        assert m.display_name
        assert m.created_at is not None
    # The same models GigaChat lists (the proxy may answer from its 60 s cache, so ask
    # the emulator directly rather than expecting a fresh upstream call).
    token = emulator_token(mock)
    r = mock.http.get("/api/v1/models", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert sorted(ids) == sorted(m["id"] for m in r.json()["data"])


# ----------------------------------------------------------------------------------
# error classes
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("upstream", "exc_class", "status", "error_type"),
    [
        (400, anthropic.BadRequestError, 400, "invalid_request_error"),
        (403, anthropic.PermissionDeniedError, 403, "permission_error"),
        (404, anthropic.NotFoundError, 404, "not_found_error"),
        (429, anthropic.RateLimitError, 429, "rate_limit_error"),
        (503, anthropic.InternalServerError, 529, "overloaded_error"),
    ],
)
def test_upstream_error_classes(claude, mock, upstream, exc_class, status, error_type):
    mock.fault(upstream, path_suffix="/chat/completions")
    with pytest.raises(exc_class) as exc:
        claude.messages.create(model=MODEL, max_tokens=10, messages=[user("x")])
    assert exc.value.status_code == status
    body = exc.value.response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == error_type
    assert body["error"]["message"]
    assert mock.base_url not in exc.value.response.text
    assert [r["status"] for r in mock.requests("/api/v1/chat/completions")] == [upstream]


def test_persistent_upstream_401_is_authentication_error(claude, mock, warm_proxy):
    mock.fail_401(2)
    with pytest.raises(anthropic.AuthenticationError) as exc:
        claude.messages.create(model=MODEL, max_tokens=10, messages=[user("x")])
    assert exc.value.status_code == 401
    body = exc.value.response.json()
    assert body["type"] == "error" and body["error"]["type"] == "authentication_error"
    # Re-authenticated once, retried once, then gave up.
    assert [r["status"] for r in mock.requests("/api/v1/chat/completions")] == [401, 401]
    assert mock.stats()["oauth_tokens"] == warm_proxy + 1


def test_overloaded_is_retried_by_the_sdk(proxy_url, mock):
    """529 is what makes the SDK retry: with retries on, one upstream 503 heals."""
    mock.fault(503, path_suffix="/chat/completions")
    mock.text("after the retry")
    client = anthropic.Anthropic(base_url=proxy_url, api_key="test", max_retries=1, timeout=30.0)
    try:
        msg = client.messages.create(model=MODEL, max_tokens=10, messages=[user("x")])
    finally:
        client.close()
    assert msg.content[0].text == "after the retry"
    assert [r["status"] for r in mock.requests("/api/v1/chat/completions")] == [503, 200]
