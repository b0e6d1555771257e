"""A streamed answer, accumulated the way the official SDK does it, is the JSON answer to
the same request: Anthropic's `get_final_message()`, OpenAI's `ChatCompletionStreamState`
snapshot, and the Responses stream's final `response.completed` / `response.incomplete`
object. Ids and timestamps differ between two answers; everything else must be equal,
including an answer that is only reasoning."""

from __future__ import annotations

import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState

REPLIES = [
    {"type": "text", "text": "Plain text, long enough for several chunks."},
    {"type": "reasoning", "reasoning": "Thinking it over.", "text": "Done thinking."},
    {"type": "reasoning", "reasoning": "Only thinking, no answer.", "text": ""},
    {"type": "function_call", "name": "get_weather", "arguments": {"city": "Tver"}},
    {"type": "length", "text": "Cut short here"},
    {"type": "blacklist"},
]
IDS = ["text", "reasoning_text", "reasoning_only", "tool_call", "length", "content_filter"]

GENERATED = {"id", "call_id", "created", "created_at"}


def without_ids(v):
    """`v` with every generated id and timestamp blanked, recursively."""
    if isinstance(v, dict):
        return {k: (None if k in GENERATED else without_ids(x)) for k, x in v.items()}
    if isinstance(v, list):
        return [without_ids(x) for x in v]
    return v


def twice(mock, reply):
    mock.config(chunk_size=4)
    mock.push_replies([reply, reply])


@pytest.mark.parametrize("reply", REPLIES, ids=IDS)
def test_anthropic_final_message_is_the_json_message(claude, mock, reply):
    twice(mock, reply)
    kwargs = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 4000,
        "messages": [{"role": "user", "content": "go"}],
        "thinking": {"type": "enabled", "budget_tokens": 2000},
        "tools": [
            {
                "name": "get_weather",
                "description": "Current weather in a city",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
            }
        ],
    }
    with claude.messages.stream(**kwargs) as stream:
        streamed = stream.get_final_message()
    created = claude.messages.create(**kwargs)
    s, c = streamed.model_dump(), created.model_dump()
    # message_start's input_tokens are counted before the answer; message_delta carries
    # GigaChat's own usage, which both answers report.
    assert s["usage"] == c["usage"]
    assert without_ids(s) == without_ids(c)
    if reply.get("text") == "":
        assert [b["type"] for b in c["content"]] == ["thinking"]


@pytest.mark.parametrize("reply", REPLIES, ids=IDS)
def test_chat_final_completion_is_the_json_completion(openai_client, mock, reply):
    twice(mock, reply)
    kwargs = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "go"}],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                },
            }
        ],
    }
    # The SDK's accumulator, fed the raw chunks (its `stream()` helper would also parse
    # the content, and refuses `length` / `content_filter` answers for that).
    state = ChatCompletionStreamState()
    for chunk in openai_client.chat.completions.create(
        **kwargs, stream=True, stream_options={"include_usage": True}
    ):
        state.handle_chunk(chunk)
    streamed = state.current_completion_snapshot
    created = openai_client.chat.completions.create(**kwargs)
    s, c = streamed.choices[0], created.choices[0]
    assert s.finish_reason == c.finish_reason
    sm, cm = s.message.model_dump(), c.message.model_dump()
    for key in ("role", "content", "reasoning_content"):
        assert sm.get(key) == cm.get(key), key
    calls = [
        (t["type"], t["function"]["name"], t["function"]["arguments"], t["id"].startswith("call_"))
        for t in sm.get("tool_calls") or []
    ]
    assert calls == [
        (t["type"], t["function"]["name"], t["function"]["arguments"], t["id"].startswith("call_"))
        for t in cm.get("tool_calls") or []
    ]
    assert streamed.usage.model_dump() == created.usage.model_dump()
    if reply.get("text") == "":
        assert cm["content"] == ""


@pytest.mark.parametrize("reply", REPLIES, ids=IDS)
def test_responses_final_response_is_the_json_response(openai_client, mock, reply):
    twice(mock, reply)
    kwargs = {
        "model": "gpt-5",
        "input": "go",
        "store": False,
        "tools": [
            {
                "type": "function",
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                "strict": False,
            }
        ],
    }
    # The final event carries the whole response (the SDK's `stream()` helper returns it
    # for `response.completed` only).
    final = [
        e
        for e in openai_client.responses.create(**kwargs, stream=True)
        if e.type in ("response.completed", "response.incomplete", "response.failed")
    ]
    assert len(final) == 1
    streamed = final[0].response
    created = openai_client.responses.create(**kwargs)
    assert without_ids(streamed.model_dump()) == without_ids(created.model_dump())
    if reply.get("text") == "":
        assert [i.type for i in created.output] == ["reasoning"]
