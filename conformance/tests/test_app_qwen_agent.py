"""Qwen-Agent (pinned in conformance/apps/qwen-agent/): an `Assistant` with one registered
tool (`get_order_status`), pointed at the proxy's OpenAI Chat Completions endpoint through
`model_server`, run by conformance/apps/qwen-agent/drive.py in its own environment.

Two tool-calling modes: `use_raw_api` (OpenAI `tools`; Qwen-Agent sends the result as a
`tool` message carrying `id`, not `tool_call_id`, which the proxy pairs by name) and the
default prompted mode (tools in the system prompt, `<tool_call>` / `<tool_response>` text).
In both the tool really runs in the driver and its result reaches GigaChat."""

from __future__ import annotations

import json
import tempfile

import pytest

from helpers import app_dir, app_python, cli_env, proc_detail, run_cli

TIMEOUT = 90.0
pytestmark = pytest.mark.timeout(TIMEOUT + 30)

TOOL = "get_order_status"
# What the driver's tool returns for order A-1042 (its status is the id reversed, so the
# value can only come from running the tool).
RESULT = {"order_id": "A-1042", "status": "shipped-2401-A"}


def drive(proxy_url: str, prompt: str, mode: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="gpt2giga-qwen-agent-") as home:
        argv = [app_python("qwen-agent"), f"{app_dir('qwen-agent')}/drive.py", f"{proxy_url}/v1", prompt, mode]
        proc = run_cli(argv, env=cli_env(home), cwd=home, timeout=TIMEOUT)
    detail = proc_detail(proc)
    assert proc.returncode == 0, detail
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_qwen_agent_native_tool_call(mock, proxy_url):
    mock.add_rule(
        {"last_user_contains": "conformance-qwen-native"},
        {"type": "function_call", "name": TOOL, "arguments": {"order_id": "A-1042"}},
        times=1,
    )
    # After the result the emulator's default answer reports it: "The function … returned: …".
    out = drive(proxy_url, "Where is order A-1042? (conformance-qwen-native)", "native")

    assert out["tool_calls"] == [{"order_id": "A-1042"}]
    final = out["messages"][-1]
    assert final["role"] == "assistant"
    assert final["content"] == f"The function {TOOL} returned: " + json.dumps(RESULT, separators=(",", ":"))

    first, second = mock.chat_requests()
    for body in (first, second):
        assert body["model"] == "GigaChat"
        assert [f["name"] for f in body["functions"]] == [TOOL]
    assert body["functions"][0]["parameters"]["required"] == ["order_id"]
    assert first["messages"][-1] == {"role": "user", "content": "Where is order A-1042? (conformance-qwen-native)"}
    call, result = second["messages"][-2:]
    assert call["role"] == "assistant"
    assert call["function_call"] == {"name": TOOL, "arguments": {"order_id": "A-1042"}}
    assert result["role"] == "function"
    assert result["name"] == TOOL
    assert json.loads(result["content"]) == RESULT


def test_qwen_agent_prompted_tool_call(mock, proxy_url):
    mock.add_rule({"last_user_contains": "<tool_response>"}, {"type": "text", "text": "Order A-1042 has shipped."})
    mock.add_rule(
        {"last_user_contains": "conformance-qwen-prompted"},
        {"type": "text", "text": '<tool_call>\n{"name": "get_order_status", "arguments": {"order_id": "A-1042"}}\n</tool_call>'},
    )
    out = drive(proxy_url, "Where is order A-1042? (conformance-qwen-prompted)", "prompted")

    assert out["tool_calls"] == [{"order_id": "A-1042"}]
    assert out["messages"][-1]["content"] == "Order A-1042 has shipped."

    first, second = mock.chat_requests()
    for body in (first, second):
        assert body["model"] == "GigaChat"
        assert "functions" not in body  # the tools travel in the system prompt
        assert body["messages"][0]["role"] == "system"
        assert f'"name": "{TOOL}"' in body["messages"][0]["content"]
    # The tool's output went back to GigaChat as Qwen-Agent's <tool_response> turn.
    last = second["messages"][-1]
    assert last["role"] == "user"
    assert last["content"].startswith("<tool_response>")
    assert json.loads(last["content"].removeprefix("<tool_response>").removesuffix("</tool_response>")) == RESULT
