"""instructor (over the openai client) driven end to end through the proxy from its own
pinned environment (conformance/apps/instructor/): a pydantic object parsed in TOOLS,
JSON, JSON_SCHEMA and MD_JSON modes, a re-ask after a validation error, partial streaming."""

from __future__ import annotations

import json

import pytest

from pyapps import run_driver

pytestmark = pytest.mark.timeout(120)

APP = "instructor"
USER = {"name": "ADA LOVELACE", "age": 36, "address": {"city": "London", "country": "UK"}}


def drive(proxy_url, tmp_path, *args):
    return run_driver(APP, args[0], proxy_url, str(tmp_path), *args[1:])


def scripted(mock, mode: str, user: dict) -> None:
    """What GigaChat answers in `mode`: a function call in TOOLS mode, JSON text otherwise."""
    if mode == "tools":
        mock.function_call("User", user)
    elif mode == "md_json":
        mock.text("Here it is:\n```json\n" + json.dumps(user) + "\n```")
    else:
        mock.text(json.dumps(user))


def test_tools_mode(proxy_url, mock, tmp_path):
    scripted(mock, "tools", USER)
    out = drive(proxy_url, tmp_path, "extract", "tools")
    assert out == {"user": USER}
    req = mock.last_chat()
    assert req["model"] == "GigaChat"
    [fn] = req["functions"]
    assert fn["name"] == "User"
    props = fn["parameters"]["properties"]
    assert set(props) == {"name", "age", "address"}
    # `Address | None` ($ref + anyOf null) arrives inlined as the object itself.
    assert set(props["address"]["properties"]) == {"city", "country"}
    assert req["function_call"] == {"name": "User"}
    assert req["messages"][0] == {"role": "system", "content": "Extract the user."}


def test_from_provider(proxy_url, mock, tmp_path):
    scripted(mock, "tools", USER)
    out = drive(proxy_url, tmp_path, "from_provider", "tools")
    assert out == {"user": USER}
    req = mock.last_chat()
    assert req["model"] == "GigaChat"
    assert [f["name"] for f in req["functions"]] == ["User"]
    assert req["function_call"] == {"name": "User"}


@pytest.mark.parametrize("mode", ["json", "json_schema"])
def test_json_modes(proxy_url, mock, tmp_path, mode):
    scripted(mock, mode, USER)
    out = drive(proxy_url, tmp_path, "extract", mode)
    assert out == {"user": USER}
    req = mock.last_chat()
    assert "functions" not in req
    fmt = req["response_format"]
    assert fmt["type"] == "json_schema"
    if mode == "json_schema":
        # The pydantic schema itself reaches GigaChat's native structured output.
        assert set(fmt["schema"]["properties"]) == {"name", "age", "address"}
    else:
        # JSON mode: the schema travels in the prompt; GigaChat gets "any JSON object".
        assert fmt["schema"] == {"type": "object"}
        system = req["messages"][0]
        assert system["role"] == "system"
        assert '"age"' in system["content"]


def test_md_json_mode(proxy_url, mock, tmp_path):
    scripted(mock, "md_json", USER)
    out = drive(proxy_url, tmp_path, "extract", "md_json")
    assert out == {"user": USER}
    req = mock.last_chat()
    assert "functions" not in req and "response_format" not in req


@pytest.mark.parametrize("mode", ["tools", "json_schema"])
def test_reask_after_validation_error(proxy_url, mock, tmp_path, mode):
    bad = dict(USER, name="Ada Lovelace")
    scripted(mock, mode, bad)
    scripted(mock, mode, USER)
    out = drive(proxy_url, tmp_path, "retry", mode)
    assert out["user"] == USER

    first, second = mock.chat_requests()
    assert len(second["messages"]) > len(first["messages"])
    # The failed attempt and the validation error went back to GigaChat.
    sent = json.dumps(second["messages"], ensure_ascii=False)
    assert "name must be in capital letters" in sent
    if mode == "tools":
        roles = [m["role"] for m in second["messages"]]
        assert roles[:3] == ["system", "user", "assistant"]
        assert second["messages"][2]["function_call"]["name"] == "User"
        assert second["messages"][2]["function_call"]["arguments"]["name"] == "Ada Lovelace"
        assert roles[3] == "function"
        assert second["messages"][3]["name"] == "User"


def test_partial_streaming_tools_mode(proxy_url, mock, tmp_path):
    # create_partial offers (and forces) the model's partial twin, `PartialUser`.
    mock.function_call("PartialUser", USER)
    out = drive(proxy_url, tmp_path, "partial", "tools")
    assert out["user"] == USER
    assert out["partials"] >= 1
    req = mock.last_chat()
    assert req["stream"] is True
    assert req["function_call"] == {"name": "PartialUser"}
