"""Model aliases (`--proxy.model-aliases`) as the official SDKs see them: the catalogue
(`models.list` / `models.retrieve`), chat and embeddings requests reaching the aliased
GigaChat model (checked in what the emulator recorded), and LiteLLM's `/model/info`.

A proxy of its own, started with aliases, so the session proxy's catalogue (compared
with GigaChat's own list elsewhere) stays as it is.
"""

from __future__ import annotations

import json
from typing import Iterable

import anthropic
import httpx
import openai
import pytest

from conftest import (
    CREDENTIALS,
    clean_env,
    own_proxy,
)

ALIASES = {
    "gpt-4o-mini": "GigaChat-2-Pro",
    "claude-*": {"model": "GigaChat-2-Max", "max_tokens": 321},
    "text-embedding-3-small": {"embeddings_model": "Embeddings-2"},
}


@pytest.fixture(scope="module")
def aliased_url(mock_url, workdir) -> Iterable[str]:
    env = clean_env(
        GIGACHAT_CREDENTIALS=CREDENTIALS,
        GIGACHAT_MODEL="GigaChat",
        GPT2GIGA_MODEL_ALIASES=json.dumps(ALIASES),
    )
    yield from own_proxy("gpt2giga (aliases)", mock_url, workdir, env)


@pytest.fixture
def client(aliased_url) -> Iterable[openai.OpenAI]:
    c = openai.OpenAI(base_url=f"{aliased_url}/v1", api_key="test", max_retries=0, timeout=30.0)
    yield c
    c.close()


def test_models_list_contains_the_exact_aliases(client, mock):
    by_id = {m.id: m for m in client.models.list()}
    assert by_id["gpt-4o-mini"].owned_by == "gpt2giga (served by GigaChat-2-Pro)"
    assert by_id["text-embedding-3-small"].owned_by == "gpt2giga (served by Embeddings-2)"
    assert "GigaChat-2-Max" in by_id
    assert not any("*" in i for i in by_id), "glob patterns are not model ids"


def test_models_retrieve_an_alias_a_glob_match_and_any_name(client, mock):
    m = client.models.retrieve("gpt-4o-mini")
    assert (m.id, m.object, m.owned_by) == (
        "gpt-4o-mini", "model", "gpt2giga (served by GigaChat-2-Pro)"
    )
    m = client.models.retrieve("claude-sonnet-4-5")
    assert m.owned_by == "gpt2giga (served by GigaChat-2-Max)"
    # Without pass-model a name no alias matches is served by the configured model.
    m = client.models.retrieve("o3")
    assert m.id == "o3"
    assert m.owned_by == "gpt2giga (served by GigaChat)"


def test_chat_with_an_alias_reaches_the_aliased_model(client, mock):
    mock.text("Hello!")
    r = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
    )
    assert r.choices[0].message.content == "Hello!"
    # The answer names the model the client asked for; GigaChat got the aliased one.
    assert r.model == "gpt-4o-mini"
    assert mock.last_chat()["model"] == "GigaChat-2-Pro"
    assert "max_tokens" not in mock.last_chat()


def test_glob_alias_max_tokens_only_when_the_client_sends_none(client, mock):
    client.chat.completions.create(
        model="claude-3-haiku", messages=[{"role": "user", "content": "Hi"}]
    )
    sent = mock.last_chat()
    assert (sent["model"], sent["max_tokens"]) == ("GigaChat-2-Max", 321)
    client.chat.completions.create(
        model="claude-3-haiku", max_tokens=12, messages=[{"role": "user", "content": "Hi"}]
    )
    assert mock.last_chat()["max_tokens"] == 12


def test_anthropic_sdk_with_a_glob_alias(aliased_url, mock):
    with anthropic.Anthropic(base_url=aliased_url, api_key="test", max_retries=0) as claude:
        msg = claude.messages.create(
            model="claude-opus-4-1", max_tokens=50, messages=[{"role": "user", "content": "Hi"}]
        )
        assert msg.model == "claude-opus-4-1"
        m = claude.models.retrieve("claude-opus-4-1")
        assert m.display_name == "claude-opus-4-1 (served by GigaChat-2-Max)"
    assert mock.last_chat()["model"] == "GigaChat-2-Max"
    assert mock.last_chat()["max_tokens"] == 50


def test_embeddings_alias_uses_its_embeddings_model(client, mock):
    e = client.embeddings.create(model="text-embedding-3-small", input="hello")
    assert e.model == "text-embedding-3-small"
    assert len(e.data[0].embedding) > 0
    sent = [r["json"] for r in mock.requests("/api/v1/embeddings")]
    assert sent[-1]["model"] == "Embeddings-2"


def test_litellm_model_info(aliased_url, mock):
    with httpx.Client(timeout=10.0, trust_env=False) as http:
        for path in ("/model/info", "/v1/model/info"):
            r = http.get(f"{aliased_url}{path}")
            assert r.status_code == 200, r.text
            data = {e["model_name"]: e for e in r.json()["data"]}
            claude = data["claude-*"]
            assert claude["litellm_params"] == {"model": "gigachat/GigaChat-2-Max"}
            assert claude["model_info"]["max_output_tokens"] == 321
            assert claude["model_info"]["max_input_tokens"] == 128000
            assert claude["model_info"]["mode"] == "chat"
            assert data["text-embedding-3-small"]["model_info"]["mode"] == "embedding"
            assert data["GigaChat-2-Pro"]["model_info"]["max_input_tokens"] == 128000
