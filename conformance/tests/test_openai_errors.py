"""Errors: upstream failures and client mistakes become the exceptions the `openai`
SDK raises for OpenAI itself, and never leak the upstream URL or credentials."""

from __future__ import annotations

import openai
import pytest

from conftest import CREDENTIALS

CHAT = "/chat/completions"
MESSAGES = [{"role": "user", "content": "hello"}]


def assert_clean_error(exc: openai.APIStatusError, mock) -> None:
    """OpenAI's error envelope, and nothing secret or internal in it."""
    body = exc.response.json()
    assert isinstance(body.get("error"), dict), body
    assert isinstance(body["error"].get("message"), str) and body["error"]["message"]
    text = exc.response.text
    assert mock.base_url not in text
    assert "127.0.0.1" not in text
    assert CREDENTIALS not in text
    assert "Bearer" not in text


# ----------------------------------------------------------------------------------
# upstream statuses
# ----------------------------------------------------------------------------------


def test_rate_limit(openai_client, mock):
    mock.fault(429, retry_after=7, path_suffix=CHAT)
    with pytest.raises(openai.RateLimitError) as exc:
        openai_client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert exc.value.status_code == 429
    assert exc.value.response.headers.get("retry-after") == "7"
    assert_clean_error(exc.value, mock)
    assert len(mock.chat_requests()) == 1  # no retries by default


def test_no_such_model(openai_client, mock):
    mock.fault(404, body={"status": 404, "message": "No such model"}, path_suffix=CHAT)
    with pytest.raises(openai.NotFoundError) as exc:
        openai_client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert exc.value.status_code == 404
    assert "No such model" in exc.value.message
    assert_clean_error(exc.value, mock)


def test_upstream_bad_request(openai_client, mock):
    mock.fault(400, body={"status": 400, "message": "Bad Request"}, path_suffix=CHAT)
    with pytest.raises(openai.BadRequestError) as exc:
        openai_client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert exc.value.status_code == 400
    assert_clean_error(exc.value, mock)


def test_upstream_unprocessable(openai_client, mock):
    mock.fault(
        422,
        body={"status": 422, "message": "Invalid params: repetition_penalty must be in range (0, +inf)"},
        path_suffix=CHAT,
    )
    with pytest.raises(openai.UnprocessableEntityError) as exc:
        openai_client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert exc.value.status_code == 422
    assert "repetition_penalty" in exc.value.message


@pytest.mark.parametrize(
    ("upstream", "expected"), [(500, 502), (502, 502), (503, 503), (504, 504)]
)
def test_upstream_server_errors(openai_client, mock, upstream, expected):
    mock.fault(upstream, path_suffix=CHAT)
    with pytest.raises(openai.InternalServerError) as exc:
        openai_client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert exc.value.status_code == expected
    assert_clean_error(exc.value, mock)


def test_upstream_html_error_page(openai_client, mock):
    mock.fault(
        502,
        raw=("text/html", "<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"),
        path_suffix=CHAT,
    )
    with pytest.raises(openai.InternalServerError) as exc:
        openai_client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert exc.value.status_code == 502
    assert_clean_error(exc.value, mock)


def test_recovers_after_a_fault(openai_client, mock):
    mock.fault(503, path_suffix=CHAT)
    with pytest.raises(openai.InternalServerError):
        openai_client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    resp = openai_client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert resp.choices[0].message.content.endswith("You said: hello")


# ----------------------------------------------------------------------------------
# authentication
# ----------------------------------------------------------------------------------


def test_single_401_is_healed_by_reauthentication(openai_client, mock, warm_proxy):
    mock.fail_401(1)
    resp = openai_client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert resp.choices[0].message.content.endswith("You said: hello")
    chats = mock.requests("/api/v1/chat/completions")
    assert [r["status"] for r in chats] == [401, 200]
    assert mock.stats()["oauth_tokens"] == warm_proxy + 1  # re-authenticated once


def test_persistent_401_is_authentication_error(openai_client, mock, warm_proxy):
    mock.fail_401(2)
    with pytest.raises(openai.AuthenticationError) as exc:
        openai_client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert exc.value.status_code == 401
    assert_clean_error(exc.value, mock)
    chats = mock.requests("/api/v1/chat/completions")
    assert [r["status"] for r in chats] == [401, 401]  # one retry after re-auth, no more
    assert mock.stats()["oauth_tokens"] == warm_proxy + 1
    # The proxy is not stuck: the next request works.
    resp = openai_client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert resp.choices[0].message.content


def test_oauth_rejection_is_not_a_401_loop(openai_client, mock, warm_proxy):
    """Upstream 401 on the call, then the OAuth endpoint itself refuses the key."""
    mock.fail_401(1)
    mock.fault(401, body={"code": 6, "message": "credentials doesn't match db data"},
               path_suffix="/oauth")
    with pytest.raises(openai.APIStatusError) as exc:
        openai_client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert exc.value.status_code in (401, 502)
    assert_clean_error(exc.value, mock)
    assert len(mock.requests("/api/v2/oauth")) == 1


# ----------------------------------------------------------------------------------
# client mistakes (refused by the proxy, never sent upstream)
# ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"messages": [{"role": "wizard", "content": "hi"}]}, id="unknown-role"),
        pytest.param({"messages": MESSAGES, "n": 2}, id="n=2"),
        pytest.param({"messages": MESSAGES, "logprobs": True}, id="logprobs"),
        pytest.param({"messages": [{"role": "tool", "tool_call_id": "call_x", "content": "1"}]},
                     id="orphan-tool-result"),
    ],
)
def test_client_mistakes_are_400(openai_client, mock, kwargs):
    with pytest.raises(openai.BadRequestError) as exc:
        openai_client.chat.completions.create(model="gpt-4o", **kwargs)
    assert exc.value.status_code == 400
    assert_clean_error(exc.value, mock)
    assert mock.chat_requests() == []


def test_body_over_the_cap_is_413_in_openai_envelope(openai_client, mock):
    """Bodies over --proxy.max-request-body-bytes (10 MiB) are refused with 413, in
    OpenAI's error envelope like every other error."""
    big = "x" * (11 * 1024 * 1024)
    with pytest.raises(openai.APIStatusError) as exc:
        openai_client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": big}]
        )
    assert exc.value.status_code == 413
    assert mock.chat_requests() == []
    assert exc.value.response.headers["content-type"].startswith("application/json"), (
        f"413 body is not JSON: {exc.value.response.text!r}"
    )
    assert_clean_error(exc.value, mock)


def test_malformed_json_is_400(proxy_url, mock):
    import httpx

    r = httpx.post(
        f"{proxy_url}/v1/chat/completions",
        content=b'{"model": "gpt-4o", "messages": [',
        headers={"content-type": "application/json"},
        timeout=10,
        trust_env=False,
    )
    assert r.status_code == 400
    assert isinstance(r.json().get("error"), dict)
    assert mock.chat_requests() == []


# ----------------------------------------------------------------------------------
# streaming
# ----------------------------------------------------------------------------------


def test_stream_rate_limit_before_first_byte(openai_client, mock):
    mock.fault(429, retry_after=3, path_suffix=CHAT)
    with pytest.raises(openai.RateLimitError) as exc:
        openai_client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    assert exc.value.status_code == 429
    assert exc.value.response.headers.get("retry-after") == "3"
    assert mock.last_chat()["stream"] is True


def test_stream_upstream_503_before_first_byte(openai_client, mock):
    mock.fault(503, path_suffix=CHAT)
    with pytest.raises(openai.InternalServerError) as exc:
        openai_client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    assert exc.value.status_code == 503


def test_stream_mid_stream_disconnect(openai_client, mock):
    mock.config(chunk_size=5)
    mock.text("This answer is long enough to span many stream chunks.")
    mock.stream_fault("disconnect", after_chunks=1)
    stream = openai_client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True
    )
    received = []
    with pytest.raises(openai.APIError):
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                received.append(chunk.choices[0].delta.content)
    # What arrived before the break is a prefix of the answer, never a finished answer.
    assert "This answer is long enough to span many stream chunks.".startswith("".join(received))
    assert mock.last_chat()["stream"] is True


def test_stream_truncated_final_frame(openai_client, mock):
    mock.config(chunk_size=5)
    mock.text("Some text that streams.")
    mock.stream_fault("truncate_final")
    with pytest.raises(openai.APIError):
        for _ in openai_client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True
        ):
            pass
