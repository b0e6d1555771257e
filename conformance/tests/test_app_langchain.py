"""LangChain (`langchain-openai` ChatOpenAI, `langchain-anthropic` ChatAnthropic, and
`langchain`'s create_agent) driven end to end through the proxy from its own pinned
environment (conformance/apps/langchain/)."""

from __future__ import annotations

import json

import pytest

from pyapps import run_driver

pytestmark = pytest.mark.timeout(120)

APP = "langchain"


def drive(proxy_url, tmp_path, *args):
    return run_driver(APP, args[0], proxy_url, str(tmp_path), *args[1:])


def assert_tool_round_trip(mock, system: str):
    """GigaChat was offered get_weather, then got the call and its result back."""
    first, second = mock.chat_requests()
    assert first["model"] == "GigaChat"
    assert first["messages"][0] == {"role": "system", "content": system}
    [fn] = first["functions"]
    assert fn["name"] == "get_weather"
    assert fn["parameters"]["properties"]["city"]["type"] == "string"
    assert fn["parameters"]["required"] == ["city"]
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "function"]
    assert second["messages"][2]["function_call"] == {
        "name": "get_weather",
        "arguments": {"city": "Kazan"},
    }
    assert second["messages"][3]["name"] == "get_weather"
    assert json.loads(second["messages"][3]["content"]) == {
        "result": "27 degrees and sunny in Kazan"
    }


def test_chat_openai_tool_agent_loop(proxy_url, mock, tmp_path):
    mock.function_call("get_weather", {"city": "Kazan"})
    # No second script: the emulator's default answer after a function result quotes
    # the result, so the final answer proves the tool output made the round trip.
    out = drive(proxy_url, tmp_path, "openai_tools")
    assert out["calls"][0]["name"] == "get_weather"
    assert out["calls"][0]["args"] == {"city": "Kazan"}
    assert out["calls"][0]["id"].startswith("call_")
    assert "27 degrees and sunny in Kazan" in out["answer"]
    assert out["answer"].startswith("The function get_weather returned")
    assert_tool_round_trip(mock, "Answer weather questions with the tool.")


def test_create_agent_with_tool_and_structured_response(proxy_url, mock, tmp_path):
    mock.function_call("get_weather", {"city": "Kazan"})
    # langchain's create_agent asks for the structured response through a tool named after
    # the schema (its ToolStrategy: the model gives no sign of native structured output).
    mock.function_call("Weather", {"city": "Kazan", "temperature_c": 27})
    out = drive(proxy_url, tmp_path, "create_agent")
    assert out["structured"] == {"city": "Kazan", "temperature_c": 27}
    assert out["tool_outputs"][0] == "27 degrees and sunny in Kazan"
    first, second = mock.chat_requests()
    assert [f["name"] for f in first["functions"]] == ["get_weather", "Weather"]
    assert first["function_call"] == "auto"
    assert second["messages"][0] == {
        "role": "system",
        "content": "Answer weather questions with the tool.",
    }
    assert second["messages"][2]["function_call"] == {
        "name": "get_weather",
        "arguments": {"city": "Kazan"},
    }
    assert json.loads(second["messages"][3]["content"]) == {
        "result": "27 degrees and sunny in Kazan"
    }


def test_chat_openai_responses_api_tool_agent_loop(proxy_url, mock, tmp_path):
    mock.function_call("get_weather", {"city": "Kazan"})
    out = drive(proxy_url, tmp_path, "responses_tools")
    assert out["calls"][0]["name"] == "get_weather"
    assert out["calls"][0]["args"] == {"city": "Kazan"}
    assert "27 degrees and sunny in Kazan" in out["answer"]
    assert_tool_round_trip(mock, "Answer weather questions with the tool.")


def test_chat_openai_structured_output_json_schema(proxy_url, mock, tmp_path):
    mock.text('{"name": "Ada Lovelace", "age": 36}')
    out = drive(proxy_url, tmp_path, "openai_structured", "json_schema")
    assert out == {"type": "Person", "person": {"name": "Ada Lovelace", "age": 36}}
    req = mock.last_chat()
    assert req["model"] == "GigaChat"
    fmt = req["response_format"]
    assert fmt["type"] == "json_schema"
    assert set(fmt["schema"]["properties"]) == {"name", "age"}
    assert "functions" not in req


def test_chat_openai_structured_output_function_calling(proxy_url, mock, tmp_path):
    mock.function_call("Person", {"name": "Ada Lovelace", "age": 36})
    out = drive(proxy_url, tmp_path, "openai_structured", "function_calling")
    assert out == {"type": "Person", "person": {"name": "Ada Lovelace", "age": 36}}
    req = mock.last_chat()
    assert [f["name"] for f in req["functions"]] == ["Person"]
    assert req["function_call"] == {"name": "Person"}


def test_chat_openai_structured_output_json_mode(proxy_url, mock, tmp_path):
    mock.text('```json\n{"name": "Ada Lovelace", "age": 36}\n```')
    out = drive(proxy_url, tmp_path, "openai_structured", "json_mode")
    assert out == {"type": "Person", "person": {"name": "Ada Lovelace", "age": 36}}
    assert mock.last_chat()["response_format"]["type"] == "json_schema"


def test_chat_openai_streaming(proxy_url, mock, tmp_path):
    mock.push_reply({"type": "chunks", "chunks": ["Once ", "upon ", "a time."]})
    out = drive(proxy_url, tmp_path, "openai_stream")
    assert out["text"] == "Once upon a time."
    assert [p for p in out["pieces"] if p] == ["Once ", "upon ", "a time."]
    [usage] = out["usage"]  # stream_usage=True: one usage chunk at the end
    assert usage["output_tokens"] > 0 and usage["input_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    req = mock.last_chat()
    assert req["stream"] is True
    assert req["messages"] == [{"role": "user", "content": "Tell me a story"}]


def test_chat_openai_streaming_tool_call(proxy_url, mock, tmp_path):
    mock.function_call("get_weather", {"city": "Kazan"})
    out = drive(proxy_url, tmp_path, "openai_stream_tools")
    assert out["calls"] == [{"name": "get_weather", "args": {"city": "Kazan"}}]
    req = mock.last_chat()
    assert req["stream"] is True
    assert [f["name"] for f in req["functions"]] == ["get_weather"]


def test_chat_anthropic_tool_agent_loop(proxy_url, mock, tmp_path):
    mock.function_call("get_weather", {"city": "Kazan"})
    out = drive(proxy_url, tmp_path, "anthropic_tools")
    assert out["calls"][0]["name"] == "get_weather"
    assert out["calls"][0]["args"] == {"city": "Kazan"}
    assert out["calls"][0]["id"].startswith("toolu_")
    assert "27 degrees and sunny in Kazan" in out["answer"]
    assert_tool_round_trip(mock, "Answer weather questions with the tool.")


def test_chat_anthropic_streaming(proxy_url, mock, tmp_path):
    mock.push_reply({"type": "chunks", "chunks": ["Once ", "upon ", "a time."]})
    out = drive(proxy_url, tmp_path, "anthropic_stream")
    assert out["text"] == "Once upon a time."
    req = mock.last_chat()
    assert req["stream"] is True
    assert req["messages"] == [{"role": "user", "content": "Tell me a story"}]
