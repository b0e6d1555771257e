"""Pydantic AI driven end to end through the proxy from its own pinned environment
(conformance/apps/pydantic-ai/): an Agent with a tool and a pydantic `output_type` on
OpenAIChatModel (OpenAIProvider and OpenAICompatibleProvider) and on AnthropicModel."""

from __future__ import annotations

import json

import pytest

from pyapps import run_driver

pytestmark = pytest.mark.timeout(120)

APP = "pydantic-ai"
WEATHER = {"city": "Kazan", "temperature_c": 27, "summary": "sunny"}


def drive(proxy_url, tmp_path, *args):
    return run_driver(APP, args[0], proxy_url, str(tmp_path), *args[1:])


def assert_tool_result_sent(request: dict) -> None:
    """The second request carries the get_weather call and its result as a function turn."""
    msgs = request["messages"]
    assert msgs[0] == {"role": "system", "content": "Answer weather questions with the tool."}
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "function"]
    assert msgs[2]["function_call"] == {"name": "get_weather", "arguments": {"city": "Kazan"}}
    assert msgs[3]["name"] == "get_weather"
    assert json.loads(msgs[3]["content"]) == {"result": "27 degrees and sunny in Kazan"}


@pytest.mark.parametrize("provider", ["openai", "openai_compatible"])
def test_agent_tool_and_structured_output(proxy_url, mock, tmp_path, provider):
    mock.function_call("get_weather", {"city": "Kazan"})
    # pydantic-ai's default output mode: the model calls the `final_result` output tool.
    mock.function_call("final_result", WEATHER)
    out = drive(proxy_url, tmp_path, "tool_structured", provider)
    assert out == {"output": WEATHER, "tool_returns": ["27 degrees and sunny in Kazan"]}

    first, second = mock.chat_requests()
    assert first["model"] == "GigaChat"
    names = sorted(f["name"] for f in first["functions"])
    assert names == ["final_result", "get_weather"]
    final = next(f for f in first["functions"] if f["name"] == "final_result")
    assert set(final["parameters"]["properties"]) == {"city", "temperature_c", "summary"}
    # pydantic-ai asks for "some tool" (tool_choice=required); GigaChat cannot force one of
    # several, so the proxy sends auto mode (no function_call field, or "auto").
    assert first.get("function_call", "auto") == "auto"
    assert_tool_result_sent(second)


def test_agent_tool_and_native_output(proxy_url, mock, tmp_path):
    mock.function_call("get_weather", {"city": "Kazan"})
    mock.text(json.dumps(WEATHER))
    out = drive(proxy_url, tmp_path, "tool_native_output")
    assert out["output"] == WEATHER

    first, second = mock.chat_requests()
    assert [f["name"] for f in first["functions"]] == ["get_weather"]
    fmt = first["response_format"]
    assert fmt["type"] == "json_schema"
    assert set(fmt["schema"]["properties"]) == {"city", "temperature_c", "summary"}
    assert_tool_result_sent(second)


def test_agent_tool_text_output(proxy_url, mock, tmp_path):
    mock.function_call("get_weather", {"city": "Kazan"})
    # The emulator's default answer after a function result quotes that result.
    out = drive(proxy_url, tmp_path, "tool_text")
    assert "27 degrees and sunny in Kazan" in out["output"]
    _first, second = mock.chat_requests()
    assert_tool_result_sent(second)


def test_agent_stream_text(proxy_url, mock, tmp_path):
    mock.push_reply({"type": "chunks", "chunks": ["Once ", "upon ", "a time."]})
    out = drive(proxy_url, tmp_path, "stream")
    assert out["text"] == "Once upon a time."
    assert len(out["pieces"]) >= 2
    req = mock.last_chat()
    assert req["stream"] is True
    assert req["messages"] == [{"role": "user", "content": "Tell me a story"}]


def test_anthropic_model_tool_and_structured_output(proxy_url, mock, tmp_path):
    mock.function_call("get_weather", {"city": "Kazan"})
    mock.function_call("final_result", WEATHER)
    out = drive(proxy_url, tmp_path, "anthropic_tool_structured")
    assert out == {"output": WEATHER, "tool_returns": ["27 degrees and sunny in Kazan"]}
    first, second = mock.chat_requests()
    assert sorted(f["name"] for f in first["functions"]) == ["final_result", "get_weather"]
    assert_tool_result_sent(second)


def test_agent_stream_structured_output_after_a_tool(proxy_url, mock, tmp_path):
    mock.function_call("get_weather", {"city": "Kazan"})
    mock.function_call("final_result", WEATHER)
    out = drive(proxy_url, tmp_path, "stream_structured")
    assert out["output"] == WEATHER
    first, second = mock.chat_requests()
    assert first["stream"] is True and second["stream"] is True
    assert_tool_result_sent(second)


def test_responses_model_tool_and_structured_output(proxy_url, mock, tmp_path):
    mock.function_call("get_weather", {"city": "Kazan"})
    mock.function_call("final_result", WEATHER)
    out = drive(proxy_url, tmp_path, "responses_tool_structured")
    assert out == {"output": WEATHER, "tool_returns": ["27 degrees and sunny in Kazan"]}
    first, second = mock.chat_requests()
    assert sorted(f["name"] for f in first["functions"]) == ["final_result", "get_weather"]
    assert_tool_result_sent(second)
