"""The LiteLLM SDK driven end to end through the proxy from its own pinned environment
(conformance/apps/litellm/): `openai/…` models on the Chat Completions API (tools, streams,
structured output, embeddings) and `anthropic/…` models on the Messages API."""

from __future__ import annotations

import json

import pytest

from pyapps import run_driver

pytestmark = pytest.mark.timeout(120)

APP = "litellm"
RESULT = "27 degrees and sunny in Kazan"
# LiteLLM fetches its model cost map from the internet on import unless told not to.
ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True"}


def drive(proxy_url, tmp_path, scenario, model):
    return run_driver(APP, scenario, proxy_url, str(tmp_path), model, env=ENV)


def assert_tool_round_trip(mock) -> None:
    first, second = mock.chat_requests()
    assert first["model"] == "GigaChat"
    assert first["messages"][0] == {
        "role": "system",
        "content": "Answer weather questions with the tool.",
    }
    [fn] = first["functions"]
    assert fn["name"] == "get_weather"
    assert fn["parameters"]["properties"] == {"city": {"type": "string"}}
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "function"]
    assert second["messages"][2]["function_call"] == {
        "name": "get_weather",
        "arguments": {"city": "Kazan"},
    }
    assert second["messages"][3]["name"] == "get_weather"
    assert json.loads(second["messages"][3]["content"]) == {"result": RESULT}


@pytest.mark.parametrize("model", ["openai/GigaChat", "anthropic/claude-sonnet-4-5"])
def test_tool_loop(proxy_url, mock, tmp_path, model):
    mock.function_call("get_weather", {"city": "Kazan"})
    # The emulator's default answer after a function result quotes that result.
    out = drive(proxy_url, tmp_path, "tools", model)
    assert out["calls"][0]["name"] == "get_weather"
    assert out["calls"][0]["args"] == {"city": "Kazan"}
    assert out["answer"].startswith("The function get_weather returned")
    assert RESULT in out["answer"]
    assert_tool_round_trip(mock)


@pytest.mark.parametrize("model", ["openai/GigaChat", "anthropic/claude-sonnet-4-5"])
def test_stream(proxy_url, mock, tmp_path, model):
    mock.push_reply({"type": "chunks", "chunks": ["Once ", "upon ", "a time."]})
    out = drive(proxy_url, tmp_path, "stream", model)
    assert out["text"] == "Once upon a time."
    assert len(out["pieces"]) >= 2
    assert out["finish_reason"] == "stop"
    req = mock.last_chat()
    assert req["stream"] is True
    assert req["messages"] == [{"role": "user", "content": "Tell me a story"}]


@pytest.mark.parametrize("model", ["openai/GigaChat", "anthropic/claude-sonnet-4-5"])
def test_stream_tool_call(proxy_url, mock, tmp_path, model):
    mock.function_call("get_weather", {"city": "Kazan"})
    out = drive(proxy_url, tmp_path, "stream_tools", model)
    assert out["calls"] == [{"name": "get_weather", "args": {"city": "Kazan"}}]
    req = mock.last_chat()
    assert req["stream"] is True
    assert [f["name"] for f in req["functions"]] == ["get_weather"]


def test_structured_output(proxy_url, mock, tmp_path):
    mock.text('{"name": "Ada Lovelace", "age": 36}')
    out = drive(proxy_url, tmp_path, "structured", "openai/GigaChat")
    assert out["person"] == {"name": "Ada Lovelace", "age": 36}
    fmt = mock.last_chat()["response_format"]
    assert fmt["type"] == "json_schema"
    assert set(fmt["schema"]["properties"]) == {"name", "age"}


def test_embeddings(proxy_url, mock, tmp_path):
    out = drive(proxy_url, tmp_path, "embeddings", "openai/text-embedding-3-small")
    assert out["count"] == 2
    assert len(out["dims"]) == 1 and out["dims"][0] > 0
    [sent] = [r["json"] for r in mock.requests("/embeddings")]
    assert sent["input"] == ["first document", "second document"]
    assert sent["model"] == "EmbeddingsGigaR"
