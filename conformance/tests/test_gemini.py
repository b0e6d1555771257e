"""The Gemini API through the proxy with the official Python SDK (`google-genai`),
pointed at the proxy with `http_options=HttpOptions(base_url=…)`: generate, stream,
a chat session with automatic function calling, `response_schema` with a pydantic
model, thinking, embeddings, token counting, the model list and errors."""

from __future__ import annotations

import json

import pydantic
import pytest
from google import genai
from google.genai import errors, types

MODEL = "gemini-2.5-flash"


@pytest.fixture
def gemini(proxy_url):
    client = genai.Client(
        api_key="test-key",
        http_options=types.HttpOptions(base_url=proxy_url, timeout=30_000),
    )
    yield client
    client.close()


def test_generate_content(gemini, mock):
    mock.text("Hello from GigaChat!")
    r = gemini.models.generate_content(
        model=MODEL,
        contents="Say hello",
        config=types.GenerateContentConfig(
            system_instruction="Be brief.", temperature=0.2, max_output_tokens=50
        ),
    )
    assert r.text == "Hello from GigaChat!"
    assert r.candidates[0].finish_reason == types.FinishReason.STOP
    assert r.usage_metadata.prompt_token_count > 0
    assert r.usage_metadata.total_token_count == (
        r.usage_metadata.prompt_token_count + r.usage_metadata.candidates_token_count
    )
    assert r.model_version == MODEL
    sent = mock.last_chat()
    assert sent["model"] == "GigaChat"
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent["messages"][-1]["content"] == "Say hello"
    assert sent["max_tokens"] == 50


def test_generate_content_stream(gemini, mock):
    mock.config(chunk_size=4)
    mock.text("one two three four five")
    chunks = list(gemini.models.generate_content_stream(model=MODEL, contents="count"))
    assert len(chunks) > 2
    assert "".join(c.text or "" for c in chunks) == "one two three four five"
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert chunks[-1].usage_metadata.total_token_count > 0
    assert mock.last_chat()["stream"] is True


def get_weather(city: str) -> str:
    """Returns the current weather in a city.

    Args:
        city: The city name.
    """
    return f"It is sunny and 25C in {city}."


def test_chat_with_automatic_function_calling(gemini, mock):
    mock.push_replies(
        [
            {"type": "function_call", "name": "get_weather", "arguments": {"city": "Kazan"}},
            {"type": "text", "text": "Kazan is sunny."},
            {"type": "text", "text": "You asked about Kazan."},
        ]
    )
    chat = gemini.chats.create(
        model=MODEL, config=types.GenerateContentConfig(tools=[get_weather])
    )
    r = chat.send_message("What is the weather in Kazan?")
    assert r.text == "Kazan is sunny."
    chats = mock.chat_requests()
    assert len(chats) == 2
    functions = chats[0]["functions"]
    assert functions[0]["name"] == "get_weather"
    assert functions[0]["parameters"]["properties"]["city"]["type"] == "string"
    msgs = chats[1]["messages"]
    assert msgs[-2]["function_call"] == {"name": "get_weather", "arguments": {"city": "Kazan"}}
    assert msgs[-1]["role"] == "function"
    assert "sunny and 25C in Kazan" in msgs[-1]["content"]

    # The session keeps the whole turn (call and result) in its history.
    r = chat.send_message("Which city did I ask about?")
    assert r.text == "You asked about Kazan."
    last = mock.last_chat()["messages"]
    roles = [m["role"] for m in last]
    assert roles.count("function") == 1, roles
    assert last[-1]["content"] == "Which city did I ask about?"


def test_chat_stream_keeps_history(gemini, mock):
    mock.config(chunk_size=3)
    mock.push_replies([{"type": "text", "text": "First answer."}, {"type": "text", "text": "Second."}])
    chat = gemini.chats.create(model=MODEL)
    text = "".join(c.text or "" for c in chat.send_message_stream("first"))
    assert text == "First answer."
    "".join(c.text or "" for c in chat.send_message_stream("second"))
    msgs = mock.last_chat()["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "user"], msgs
    assert msgs[1]["content"] == "First answer."


class City(pydantic.BaseModel):
    name: str
    population: int


def test_response_schema_with_pydantic(gemini, mock):
    mock.text(json.dumps({"name": "Kazan", "population": 1300000}))
    r = gemini.models.generate_content(
        model=MODEL,
        contents="A Russian city",
        config=types.GenerateContentConfig(
            response_mime_type="application/json", response_schema=City
        ),
    )
    assert isinstance(r.parsed, City)
    assert r.parsed.name == "Kazan"
    rf = mock.last_chat()["response_format"]
    assert rf["type"] == "json_schema"
    assert set(rf["schema"]["properties"]) == {"name", "population"}
    assert rf["schema"]["properties"]["population"]["type"] == "integer"


def test_thinking(gemini, mock):
    mock.push_reply({"type": "reasoning", "reasoning": "Six times seven.", "text": "42"})
    r = gemini.models.generate_content(
        model=MODEL,
        contents="6*7?",
        config=types.GenerateContentConfig(
            thinking_config=types.ThinkingConfig(thinking_budget=2048, include_thoughts=True)
        ),
    )
    parts = r.candidates[0].content.parts
    assert parts[0].thought is True and parts[0].text == "Six times seven."
    assert r.text == "42"
    assert mock.last_chat()["reasoning_effort"] == "low"


def test_embed_content(gemini, mock):
    r = gemini.models.embed_content(
        model="gemini-embedding-001", contents=["alpha", "beta"]
    )
    assert len(r.embeddings) == 2
    assert len(r.embeddings[0].values) > 8
    assert r.embeddings[0].values != r.embeddings[1].values
    sent = mock.requests("/embeddings")
    assert sent[-1]["json"]["input"] == ["alpha", "beta"]


def test_count_tokens(gemini, mock):
    r = gemini.models.count_tokens(model=MODEL, contents="Hello, world!")
    assert r.total_tokens > 0
    assert mock.requests("/tokens/count"), "GigaChat's counter was not asked"
    assert not mock.chat_requests()


def test_list_and_get_models(gemini):
    models = list(gemini.models.list(config={"page_size": 2}))
    names = [m.name for m in models]
    assert "models/GigaChat" in names, names
    assert len(names) > 2  # more than one page was followed
    m = gemini.models.get(model="GigaChat")
    assert m.name == "models/GigaChat"
    assert "generateContent" in m.supported_actions


def test_errors(gemini, mock):
    with pytest.raises(errors.ClientError) as e:
        gemini.models.generate_content(
            model=MODEL,
            contents="x",
            config=types.GenerateContentConfig(
                tools=[types.Tool(code_execution=types.ToolCodeExecution())]
            ),
        )
    assert e.value.code == 400
    assert e.value.status == "INVALID_ARGUMENT"
    assert "codeExecution" in e.value.message

    with pytest.raises(errors.ClientError) as e:
        gemini.models.generate_content(
            model=MODEL, contents="x", config=types.GenerateContentConfig(candidate_count=2)
        )
    assert e.value.code == 400

    mock.fault(429, retry_after=1, path_suffix="/chat/completions")
    with pytest.raises(errors.ClientError) as e:
        gemini.models.generate_content(model=MODEL, contents="x")
    assert e.value.code == 429
    assert e.value.status == "RESOURCE_EXHAUSTED"
