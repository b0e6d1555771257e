"""OpenAI Embeddings and Models through the official `openai` SDK."""

from __future__ import annotations

import math
import struct

import openai
import pytest


def as_f32(values) -> list[float]:
    """Rounds to float32, the precision GigaChat's vectors (and base64) carry."""
    return [struct.unpack("<f", struct.pack("<f", v))[0] for v in values]


def embedding_bodies(mock) -> list[dict]:
    return [r["json"] for r in mock.requests("/api/v1/embeddings")]


# ----------------------------------------------------------------------------------
# 8. embeddings
# ----------------------------------------------------------------------------------


def test_embeddings_float_and_base64_agree(openai_client, mock):
    texts = ["hello world", "Привет, мир"]
    as_float = openai_client.embeddings.create(
        model="text-embedding-3-small", input=texts, encoding_format="float"
    )
    default = openai_client.embeddings.create(model="text-embedding-3-small", input=texts)

    for resp in (as_float, default):
        assert resp.object == "list"
        assert resp.model == "text-embedding-3-small"
        assert [d.index for d in resp.data] == [0, 1]
        assert all(d.object == "embedding" for d in resp.data)
        assert resp.usage.prompt_tokens > 0
        assert resp.usage.total_tokens == resp.usage.prompt_tokens
    dim = len(as_float.data[0].embedding)
    assert dim == 1024
    assert all(len(d.embedding) == dim for d in as_float.data + default.data)
    for f, b in zip(as_float.data, default.data):
        assert as_f32(f.embedding) == as_f32(b.embedding)
    assert as_float.data[0].embedding != as_float.data[1].embedding

    bodies = embedding_bodies(mock)
    assert len(bodies) == 2
    for body in bodies:
        assert body["model"] == "EmbeddingsGigaR"
        assert body["input"] == texts


def test_embeddings_base64_on_the_wire(proxy_url, mock):
    """The SDK's default asks for base64: the proxy answers with a base64 string of
    little-endian float32s."""
    import base64

    import httpx

    r = httpx.post(
        f"{proxy_url}/v1/embeddings",
        json={"model": "text-embedding-3-small", "input": "abc", "encoding_format": "base64"},
        timeout=10,
        trust_env=False,
    )
    assert r.status_code == 200
    emb = r.json()["data"][0]["embedding"]
    assert isinstance(emb, str)
    raw = base64.b64decode(emb)
    assert len(raw) == 4 * 1024
    assert embedding_bodies(mock)[-1]["input"] == ["abc"]


def test_embeddings_single_string(openai_client, mock):
    resp = openai_client.embeddings.create(model="text-embedding-ada-002", input="just one")
    assert len(resp.data) == 1
    body = embedding_bodies(mock)[-1]
    assert body["model"] == "EmbeddingsGigaR"
    assert body["input"] in (["just one"], "just one")


def test_embeddings_token_ids_are_decoded(openai_client, mock):
    resp = openai_client.embeddings.create(
        model="text-embedding-3-small", input=[[15339, 1917]], encoding_format="float"
    )
    assert len(resp.data) == 1
    body = embedding_bodies(mock)[-1]
    assert body["model"] == "EmbeddingsGigaR"
    assert body["input"] == ["hello world"]

    # Same text given as a string → same vector.
    text = openai_client.embeddings.create(
        model="text-embedding-3-small", input="hello world", encoding_format="float"
    )
    assert as_f32(text.data[0].embedding) == as_f32(resp.data[0].embedding)


def test_embeddings_dimensions(openai_client, mock):
    """`dimensions` shortens and re-normalises the vector (as OpenAI does); above
    GigaChat's vector size it is a 400 naming both numbers."""
    full = openai_client.embeddings.create(
        model="text-embedding-3-small", input="x", dimensions=1024, encoding_format="float"
    )
    assert len(full.data[0].embedding) == 1024
    short = openai_client.embeddings.create(
        model="text-embedding-3-small", input="x", dimensions=256
    )
    vec = short.data[0].embedding
    assert len(vec) == 256
    assert abs(math.sqrt(sum(v * v for v in vec)) - 1.0) < 1e-5
    with pytest.raises(openai.BadRequestError) as exc:
        openai_client.embeddings.create(
            model="text-embedding-3-small", input="x", dimensions=4096
        )
    assert "1024" in exc.value.message and "4096" in exc.value.message
    assert all(b["model"] == "EmbeddingsGigaR" for b in embedding_bodies(mock))


def test_embeddings_upstream_error(openai_client, mock):
    mock.fault(500, path_suffix="/embeddings")
    with pytest.raises(openai.InternalServerError) as exc:
        openai_client.embeddings.create(model="text-embedding-3-small", input="x")
    assert exc.value.status_code == 502


# ----------------------------------------------------------------------------------
# 9. models
# ----------------------------------------------------------------------------------


def test_models_list(openai_client, mock):
    models = openai_client.models.list()
    ids = [m.id for m in models]
    assert "GigaChat" in ids
    assert "GigaChat-2-Max" in ids
    for m in models:
        assert m.object == "model"
        assert isinstance(m.created, int)
        assert m.owned_by


def test_models_retrieve(openai_client, mock):
    m = openai_client.models.retrieve("GigaChat")
    assert m.id == "GigaChat"
    assert m.object == "model"
    assert m.owned_by


def test_models_retrieve_any_name_is_served(openai_client, mock):
    """Without pass-model every name is served by the configured GigaChat model, so
    programs that check their model at start-up get an answer."""
    m = openai_client.models.retrieve("gpt-4o")
    assert m.id == "gpt-4o"
    assert m.object == "model"
    assert "served by" in m.owned_by
