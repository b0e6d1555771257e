"""The LiteLLM proxy server (`litellm --config`, from its own pinned environment
conformance/apps/litellm-proxy/) in front of gpt2giga: an OpenAI client talks to LiteLLM,
LiteLLM talks to gpt2giga (`openai/…` on Chat Completions, `anthropic/…` on Messages)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import openai
import pytest

from conftest import LOOPBACK, Child, free_port
from helpers import app_bin, cli_env

pytestmark = pytest.mark.timeout(180)

APP = "litellm-proxy"
MASTER_KEY = "sk-conformance-" + "0123456789abcdef" * 2
RESULT = "27 degrees and sunny in Kazan"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]

CONFIG = """\
model_list:
  - model_name: gigachat
    litellm_params:
      model: openai/GigaChat
      api_base: {proxy}/v1
      api_key: unused
  - model_name: gigachat-via-messages
    litellm_params:
      model: anthropic/claude-sonnet-4-5
      api_base: {proxy}
      api_key: unused
  - model_name: embeddings
    litellm_params:
      model: openai/text-embedding-3-small
      api_base: {proxy}/v1
      api_key: unused
litellm_settings:
  telemetry: false
  num_retries: 0
"""


@pytest.fixture(scope="module")
def litellm_url(proxy_url, tmp_path_factory):
    home = tmp_path_factory.mktemp("litellm-proxy")
    config = Path(home) / "config.yaml"
    config.write_text(CONFIG.format(proxy=proxy_url))
    binary = app_bin(APP, "litellm")
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    child = Child(
        "litellm",
        [binary, "--config", str(config), "--host", LOOPBACK, "--port", str(port)],
        env=cli_env(
            str(home),
            LITELLM_MASTER_KEY=MASTER_KEY,
            # No fetch of the model cost map from the internet at start-up.
            LITELLM_LOCAL_MODEL_COST_MAP="True",
        ),
        cwd=str(home),
    )
    try:
        deadline = time.monotonic() + 120
        with httpx.Client(timeout=2.0, trust_env=False) as http:
            while True:
                if not child.alive():
                    pytest.fail(f"litellm exited:\n{child.tail(limit=60)}", pytrace=False)
                try:
                    if http.get(f"{url}/health/liveliness").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"litellm did not start:\n{child.tail(limit=60)}", pytrace=False)
                time.sleep(0.5)
        yield url
    finally:
        child.stop()


@pytest.fixture
def client(litellm_url):
    c = openai.OpenAI(base_url=f"{litellm_url}/v1", api_key=MASTER_KEY, max_retries=0, timeout=60)
    yield c
    c.close()


@pytest.mark.parametrize("model", ["gigachat", "gigachat-via-messages"])
def test_tool_round_trip_through_litellm(client, mock, model):
    mock.function_call("get_weather", {"city": "Kazan"})
    messages = [
        {"role": "system", "content": "Answer weather questions with the tool."},
        {"role": "user", "content": "What's the weather in Kazan?"},
    ]
    first = client.chat.completions.create(model=model, messages=messages, tools=TOOLS)
    [call] = first.choices[0].message.tool_calls
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Kazan"}
    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": RESULT})
    final = client.chat.completions.create(model=model, messages=messages, tools=TOOLS)
    answer = final.choices[0].message.content
    assert answer.startswith("The function get_weather returned") and RESULT in answer

    sent_first, sent_second = mock.chat_requests()
    assert sent_first["model"] == "GigaChat"
    assert [f["name"] for f in sent_first["functions"]] == ["get_weather"]
    roles = [m["role"] for m in sent_second["messages"]]
    assert roles == ["system", "user", "assistant", "function"]
    assert sent_second["messages"][2]["function_call"] == {
        "name": "get_weather",
        "arguments": {"city": "Kazan"},
    }
    assert json.loads(sent_second["messages"][3]["content"]) == {"result": RESULT}


@pytest.mark.parametrize("model", ["gigachat", "gigachat-via-messages"])
def test_stream_through_litellm(client, mock, model):
    mock.push_reply({"type": "chunks", "chunks": ["Once ", "upon ", "a time."]})
    stream = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Tell me a story"}], stream=True
    )
    pieces = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
    assert "".join(pieces) == "Once upon a time."
    assert len(pieces) >= 2
    req = mock.last_chat()
    assert req["stream"] is True
    assert req["messages"] == [{"role": "user", "content": "Tell me a story"}]


def test_embeddings_through_litellm(client, mock):
    response = client.embeddings.create(model="embeddings", input=["first", "second"])
    assert len(response.data) == 2
    assert len(response.data[0].embedding) > 0
    [sent] = [r["json"] for r in mock.requests("/embeddings")]
    assert sent["input"] == ["first", "second"]
    assert sent["model"] == "EmbeddingsGigaR"


def test_litellm_lists_its_models(client):
    ids = {m.id for m in client.models.list()}
    assert {"gigachat", "gigachat-via-messages", "embeddings"} <= ids
