"""Anthropic Messages through the official `anthropic` SDK."""

from __future__ import annotations

import json

import anthropic
import pytest

from helpers import png_1x1

MODEL = "claude-sonnet-4-6"
WEATHER = {
    "name": "get_weather",
    "description": "Current weather in a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def test_messages_basic(claude, mock):
    mock.text("Hi from GigaChat")
    msg = claude.messages.create(
        model=MODEL,
        max_tokens=256,
        system="Be brief.",
        messages=[{"role": "user", "content": "Hello"}],
    )
    assert msg.type == "message"
    assert msg.role == "assistant"
    assert msg.id.startswith("msg_")
    assert msg.model == MODEL
    assert [b.type for b in msg.content] == ["text"]
    assert msg.content[0].text == "Hi from GigaChat"
    assert msg.stop_reason == "end_turn"
    assert msg.usage.input_tokens > 0
    assert msg.usage.output_tokens > 0

    body = mock.last_chat()
    assert body["model"] == "GigaChat"
    assert body["max_tokens"] == 256
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello"},
    ]


def test_messages_streaming(claude, mock):
    text = "Streaming through the Anthropic dialect works."
    mock.config(chunk_size=6)
    mock.text(text)
    with claude.messages.stream(
        model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "go"}]
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(pieces) >= 3
    assert "".join(pieces) == text
    assert final.content[0].text == text
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0
    assert mock.last_chat()["stream"] is True


def test_tool_use_round_trip(claude, mock):
    mock.function_call("get_weather", {"city": "Kazan"})
    first = claude.messages.create(
        model=MODEL,
        max_tokens=100,
        tools=[WEATHER],
        messages=[{"role": "user", "content": "Weather in Kazan?"}],
    )
    assert first.stop_reason == "tool_use"
    tool_use = [b for b in first.content if b.type == "tool_use"][0]
    assert tool_use.id.startswith("toolu_")
    assert tool_use.name == "get_weather"
    assert tool_use.input == {"city": "Kazan"}
    body = mock.last_chat()
    assert [f["name"] for f in body["functions"]] == ["get_weather"]
    assert body["functions"][0]["parameters"]["required"] == ["city"]

    mock.text("It is sunny in Kazan.")
    second = claude.messages.create(
        model=MODEL,
        max_tokens=100,
        tools=[WEATHER],
        messages=[
            {"role": "user", "content": "Weather in Kazan?"},
            {"role": "assistant", "content": [b.model_dump() for b in first.content]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": tool_use.id, "content": "sunny"}
                ],
            },
        ],
    )
    assert second.content[0].text == "It is sunny in Kazan."
    msgs = mock.last_chat()["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "function"]
    assert msgs[1]["function_call"] == {"name": "get_weather", "arguments": {"city": "Kazan"}}
    assert msgs[2]["name"] == "get_weather"
    assert json.loads(msgs[2]["content"]) == {"result": "sunny"}


def test_parallel_tool_results_and_errors(claude, mock):
    mock.text("done")
    claude.messages.create(
        model=MODEL,
        max_tokens=100,
        tools=[WEATHER],
        messages=[
            {"role": "user", "content": "Kazan and Omsk?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {"city": "Kazan"}},
                    {"type": "tool_use", "id": "toolu_b", "name": "get_weather", "input": {"city": "Omsk"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_b", "content": "offline", "is_error": True},
                    {"type": "tool_result", "tool_use_id": "toolu_a", "content": [{"type": "text", "text": "warm"}]},
                ],
            },
        ],
    )
    msgs = mock.last_chat()["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "function", "assistant", "function"]
    assert msgs[1]["function_call"]["arguments"] == {"city": "Kazan"}
    assert json.loads(msgs[2]["content"]) == {"result": "warm"}
    assert msgs[3]["function_call"]["arguments"] == {"city": "Omsk"}
    assert json.loads(msgs[4]["content"]) == {"error": "offline"}


def test_tool_choice_tool_is_forced(claude, mock):
    msg = claude.messages.create(
        model=MODEL,
        max_tokens=100,
        tools=[WEATHER],
        tool_choice={"type": "tool", "name": "get_weather"},
        messages=[{"role": "user", "content": "anything"}],
    )
    assert mock.last_chat()["function_call"] == {"name": "get_weather"}
    assert any(b.type == "tool_use" and b.name == "get_weather" for b in msg.content)


def test_stop_sequences(claude, mock):
    mock.text("alpha STOP beta")
    msg = claude.messages.create(
        model=MODEL,
        max_tokens=100,
        stop_sequences=["STOP"],
        messages=[{"role": "user", "content": "x"}],
    )
    assert msg.content[0].text == "alpha "
    assert msg.stop_reason == "stop_sequence"
    assert msg.stop_sequence == "STOP"


def test_thinking_maps_to_reasoning(claude, mock):
    mock.push_reply({"type": "reasoning", "reasoning": "Hmm, let me see.", "text": "Four."})
    msg = claude.messages.create(
        model=MODEL,
        max_tokens=8000,
        thinking={"type": "enabled", "budget_tokens": 2048},
        messages=[{"role": "user", "content": "2+2?"}],
    )
    assert [b.type for b in msg.content] == ["thinking", "text"]
    assert msg.content[0].thinking == "Hmm, let me see."
    assert msg.content[0].signature
    assert msg.content[1].text == "Four."
    assert mock.last_chat()["reasoning_effort"] == "low"


def test_image_block_is_uploaded(claude, mock):
    import base64

    png = png_1x1()
    claude.messages.create(
        model=MODEL,
        max_tokens=50,
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": base64.b64encode(png).decode()},
                    },
                    {"type": "text", "text": "Describe"},
                ],
            }
        ],
    )
    assert mock.stats()["uploads"] == 1
    user = mock.last_chat()["messages"][-1]
    assert user["content"] == "Describe"
    assert len(user["attachments"]) == 1


def test_count_tokens(claude, mock):
    res = claude.messages.count_tokens(
        model=MODEL,
        system="Be brief.",
        messages=[{"role": "user", "content": "How many tokens is this?"}],
    )
    assert res.input_tokens > 0
    counts = mock.requests("/tokens/count")
    assert len(counts) == 1
    body = counts[0]["json"]
    assert body["model"] == "GigaChat"
    assert "How many tokens is this?" in body["input"]
    assert mock.chat_requests() == []


def test_count_tokens_upstream_failure_is_an_error(claude, mock):
    mock.fault(500, path_suffix="/tokens/count")
    with pytest.raises(anthropic.APIStatusError) as exc:
        claude.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert exc.value.status_code >= 500


def test_models_in_anthropic_shape(claude, mock):
    page = claude.models.list()
    ids = [m.id for m in page.data]
    assert "GigaChat" in ids
    assert all(m.type == "model" for m in page.data)


def test_rate_limit(claude, mock):
    mock.fault(429, retry_after=4, path_suffix="/chat/completions")
    with pytest.raises(anthropic.RateLimitError) as exc:
        claude.messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert exc.value.status_code == 429
    assert exc.value.response.headers.get("retry-after") == "4"
    body = exc.value.response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "rate_limit_error"


def test_overloaded(claude, mock):
    mock.fault(503, path_suffix="/chat/completions")
    with pytest.raises(anthropic.InternalServerError) as exc:
        claude.messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert exc.value.status_code == 529
    assert exc.value.response.json()["error"]["type"] == "overloaded_error"


def test_server_tools_without_a_gigachat_equivalent_are_refused(claude, mock):
    # web_search/web_fetch map to GigaChat built-ins (test_v2.py); code execution does not.
    with pytest.raises(anthropic.BadRequestError) as exc:
        claude.messages.create(
            model=MODEL,
            max_tokens=10,
            tools=[{"type": "code_execution_20250825", "name": "code_execution"}],
            messages=[{"role": "user", "content": "x"}],
        )
    assert exc.value.response.json()["error"]["type"] == "invalid_request_error"
    assert "code_execution_20250825" in exc.value.response.json()["error"]["message"]
    assert mock.chat_requests() == []


def test_stream_mid_stream_failure_is_an_error_event(claude, mock):
    mock.config(chunk_size=5)
    mock.text("A long enough answer to be cut in the middle.")
    mock.stream_fault("disconnect", after_chunks=1)
    with pytest.raises(anthropic.APIError):
        with claude.messages.stream(
            model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "x"}]
        ) as stream:
            for _ in stream:
                pass


def test_system_blocks_and_system_messages_merge(claude, mock):
    claude.messages.create(
        model=MODEL,
        max_tokens=50,
        system=[
            {"type": "text", "text": "Rule one.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Rule two."},
        ],
        messages=[{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
    )
    msgs = mock.last_chat()["messages"]
    assert msgs[0]["role"] == "system"
    assert "Rule one." in msgs[0]["content"] and "Rule two." in msgs[0]["content"]
    assert msgs[0]["content"].index("Rule one.") < msgs[0]["content"].index("Rule two.")
    assert msgs[1] == {"role": "user", "content": "Hi"}


def test_beta_messages_endpoint(claude, mock):
    mock.text("beta ok")
    msg = claude.beta.messages.create(
        model=MODEL, max_tokens=20, messages=[{"role": "user", "content": "x"}]
    )
    assert msg.content[0].text == "beta ok"
    assert mock.last_chat()["model"] == "GigaChat"


def test_tool_choice_any_with_one_tool(claude, mock):
    claude.messages.create(
        model=MODEL,
        max_tokens=100,
        tools=[WEATHER],
        tool_choice={"type": "any"},
        messages=[{"role": "user", "content": "anything"}],
    )
    assert mock.last_chat()["function_call"] == {"name": "get_weather"}


def test_streaming_tool_use(claude, mock):
    mock.function_call("get_weather", {"city": "Perm"})
    with claude.messages.stream(
        model=MODEL, max_tokens=100, tools=[WEATHER], messages=[{"role": "user", "content": "Perm?"}]
    ) as stream:
        events = [e.type for e in stream]
        final = stream.get_final_message()
    assert events[0] == "message_start"
    assert "content_block_start" in events and "message_stop" in events
    assert final.stop_reason == "tool_use"
    block = [b for b in final.content if b.type == "tool_use"][0]
    assert block.name == "get_weather" and block.input == {"city": "Perm"}
    assert block.id.startswith("toolu_")


def test_streaming_stop_sequence(claude, mock):
    mock.config(chunk_size=2)
    mock.text("keep this ### drop that")
    with claude.messages.stream(
        model=MODEL, max_tokens=100, stop_sequences=["###"], messages=[{"role": "user", "content": "x"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "keep this "
    assert final.stop_reason == "stop_sequence"
    assert final.stop_sequence == "###"


def test_stream_rate_limit_before_first_byte(claude, mock):
    mock.fault(429, path_suffix="/chat/completions")
    with pytest.raises(anthropic.RateLimitError):
        with claude.messages.stream(
            model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "x"}]
        ) as stream:
            for _ in stream:
                pass


def test_refusal(claude, mock):
    mock.push_reply({"type": "blacklist"})
    msg = claude.messages.create(model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "x"}])
    assert msg.stop_reason == "refusal"


def test_count_tokens_with_tools(claude, mock):
    plain = claude.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "Weather?"}])
    with_tools = claude.messages.count_tokens(
        model=MODEL, tools=[WEATHER], messages=[{"role": "user", "content": "Weather?"}]
    )
    assert with_tools.input_tokens > plain.input_tokens


def test_body_over_the_cap_is_413_in_anthropic_envelope(claude, mock):
    big = "x" * (11 * 1024 * 1024)
    with pytest.raises(anthropic.APIStatusError) as exc:
        claude.messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": big}])
    assert exc.value.status_code == 413
    assert mock.chat_requests() == []
    assert exc.value.response.headers["content-type"].startswith("application/json"), (
        f"413 body is not JSON: {exc.value.response.text!r}"
    )
    body = exc.value.response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "request_too_large"
