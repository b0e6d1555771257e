"""LlamaIndex driven end to end through the proxy from its own pinned environment
(conformance/apps/llamaindex/): OpenAILike as a function-calling chat model (FunctionAgent,
ReActAgent, predict_and_call, structured prediction, streaming), the OpenAI class's model
name check, and embeddings through OpenAILikeEmbedding / OpenAIEmbedding."""

from __future__ import annotations

import json

import pytest

from pyapps import run_driver

pytestmark = pytest.mark.timeout(120)

APP = "llamaindex"
RESULT = "27 degrees and sunny in Kazan"


def drive(proxy_url, tmp_path, scenario):
    return run_driver(APP, scenario, proxy_url, str(tmp_path))


def assert_function_round_trip(mock, system: str | None) -> None:
    first, second = mock.chat_requests()
    assert first["model"] == "GigaChat"
    [fn] = first["functions"]
    assert fn["name"] == "get_weather"
    assert fn["parameters"]["properties"]["city"]["type"] == "string"
    roles = [m["role"] for m in second["messages"]]
    expected = ["user", "assistant", "function"]
    if system is not None:
        assert second["messages"][0] == {"role": "system", "content": system}
        expected = ["system", *expected]
    assert roles == expected
    assert second["messages"][-2]["function_call"] == {
        "name": "get_weather",
        "arguments": {"city": "Kazan"},
    }
    assert second["messages"][-1]["name"] == "get_weather"
    assert RESULT in second["messages"][-1]["content"]


def test_function_agent(proxy_url, mock, tmp_path):
    mock.function_call("get_weather", {"city": "Kazan"})
    # The emulator's default answer after a function result quotes that result.
    out = drive(proxy_url, tmp_path, "function_agent")
    assert out["tool_results"] == [
        {"name": "get_weather", "kwargs": {"city": "Kazan"}, "output": RESULT}
    ]
    assert RESULT in out["answer"]
    assert out["answer"].startswith("The function get_weather returned")
    assert_function_round_trip(mock, "Answer weather questions with the tool.")
    # FunctionAgent streams by default: the tool call arrived in a stream too.
    assert all(r.get("stream") is True for r in mock.chat_requests())


def test_react_agent(proxy_url, mock, tmp_path):
    mock.text(
        "Thought: I need the weather tool.\nAction: get_weather\n"
        'Action Input: {"city": "Kazan"}'
    )
    mock.add_rule(
        {"last_user_contains": RESULT},
        {"type": "text", "text": f"Thought: I can answer without using any more tools.\nAnswer: It is {RESULT}."},
    )
    out = drive(proxy_url, tmp_path, "react_agent")
    assert out["answer"] == f"It is {RESULT}."
    first, second = mock.chat_requests()
    assert "functions" not in first  # ReAct works from the prompt alone
    assert "get_weather" in first["messages"][0]["content"]
    assert RESULT in second["messages"][-1]["content"]


def test_predict_and_call(proxy_url, mock, tmp_path):
    mock.function_call("get_weather", {"city": "Kazan"})
    out = drive(proxy_url, tmp_path, "predict_and_call")
    assert out == {"response": RESULT, "sources": ["get_weather"]}
    req = mock.last_chat()
    assert [f["name"] for f in req["functions"]] == ["get_weather"]
    assert req["messages"] == [{"role": "user", "content": "What's the weather in Kazan?"}]


@pytest.mark.parametrize("scenario", ["structured_predict", "structured_llm"])
def test_structured_prediction(proxy_url, mock, tmp_path, scenario):
    # With a function-calling model LlamaIndex forces a call of a function named after
    # the output class.
    mock.function_call("Person", {"name": "Ada Lovelace", "age": 36})
    out = drive(proxy_url, tmp_path, scenario)
    assert out["person"] == {"name": "Ada Lovelace", "age": 36}
    req = mock.last_chat()
    [fn] = req["functions"]
    assert fn["name"] == "Person"
    assert set(fn["parameters"]["properties"]) == {"name", "age"}
    assert req["function_call"] == {"name": "Person"}
    assert "Ada Lovelace was 36." in json.dumps(req["messages"])


def test_stream_chat(proxy_url, mock, tmp_path):
    mock.push_reply({"type": "chunks", "chunks": ["Once ", "upon ", "a time."]})
    out = drive(proxy_url, tmp_path, "stream_chat")
    assert out["text"] == "Once upon a time."
    assert [p for p in out["pieces"] if p] == ["Once ", "upon ", "a time."]
    req = mock.last_chat()
    assert req["stream"] is True


def test_openai_class_needs_an_openai_model_name(proxy_url, mock, tmp_path):
    out = drive(proxy_url, tmp_path, "openai_class")
    # An OpenAI model name works: the proxy serves it with its configured GigaChat model.
    assert out["gpt-4o"]["answer"].startswith("Hello from the GigaChat emulator!")
    # A GigaChat name is refused by LlamaIndex itself, before any request is sent.
    assert "Unknown model 'GigaChat'" in out["GigaChat"]["error"]
    [req] = mock.chat_requests()
    assert req["model"] == "GigaChat"
    assert req["messages"] == [{"role": "user", "content": "Hi"}]


def test_embeddings(proxy_url, mock, tmp_path):
    out = drive(proxy_url, tmp_path, "embeddings")
    assert out["docs"][0] == out["docs"][1] == out["query"] > 0
    assert out["distinct"] is True
    sent = [r["json"] for r in mock.requests("/embeddings")]
    inputs = [r["input"] for r in sent]
    assert ["first document", "second document"] in inputs
    assert ["which document?"] in inputs
    # The proxy picks GigaChat's embeddings model, whatever name the client sends.
    assert {r["model"] for r in sent} == {"EmbeddingsGigaR"}
