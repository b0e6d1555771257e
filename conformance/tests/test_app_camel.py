"""CAMEL (camel-ai, pinned in conformance/apps/camel/): a `ChatAgent` on
`ModelFactory.create(ModelPlatformType.OPENAI_COMPATIBLE_MODEL, model_type="GigaChat",
url=<proxy>/v1)` with one `FunctionTool`, run by conformance/apps/camel/drive.py in its own
environment. One `step()` must call the tool through GigaChat's function call and finish
with an answer built from the tool's result, with and without streaming."""

from __future__ import annotations

import json
import tempfile

import pytest

from helpers import app_dir, app_python, cli_env, proc_detail, run_cli

TIMEOUT = 90.0
pytestmark = pytest.mark.timeout(TIMEOUT + 30)

TOOL = "get_exchange_rate"
# What the driver's tool computes for "CNY" (3 letters x 4.25).
TOOL_OUTPUT = "1 CNY = 12.75 RUB"


def drive(proxy_url: str, prompt: str, *extra: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="gpt2giga-camel-") as home:
        argv = [app_python("camel"), f"{app_dir('camel')}/drive.py", f"{proxy_url}/v1", prompt, *extra]
        proc = run_cli(argv, env=cli_env(home), cwd=home, timeout=TIMEOUT)
    detail = proc_detail(proc)
    assert proc.returncode == 0, detail
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("mode", ["json", "stream"])
def test_camel_chat_agent_tool_step(mock, proxy_url, mode):
    marker = f"conformance-camel-{mode}"
    mock.add_rule(
        {"last_user_contains": marker},
        {"type": "function_call", "name": TOOL, "arguments": {"currency": "CNY"}},
        times=1,
    )
    # After the result the emulator's default answer reports it: "The function … returned: …".
    out = drive(proxy_url, f"What is the CNY rate? ({marker})", mode)

    assert out["executed"] == [{"currency": "CNY"}]
    assert out["tool_calls"] == [{"name": TOOL, "args": {"currency": "CNY"}, "result": TOOL_OUTPUT}]
    assert out["content"] == f"The function {TOOL} returned: " + json.dumps({"result": TOOL_OUTPUT}, separators=(",", ":"))

    first, second = mock.chat_requests()
    for body in (first, second):
        assert body["model"] == "GigaChat"
        assert bool(body.get("stream")) is (mode == "stream")
        assert body["messages"][0] == {"role": "system", "content": "You are a helpful finance assistant."}
        (function,) = body["functions"]
        assert function["name"] == TOOL
        assert function["parameters"]["required"] == ["currency"]
        assert "rouble" in function["description"]
    assert first["messages"][-1] == {"role": "user", "content": f"What is the CNY rate? ({marker})"}
    call, result = second["messages"][-2:]
    assert call == {"role": "assistant", "content": "", "function_call": {"name": TOOL, "arguments": {"currency": "CNY"}}}
    assert result["role"] == "function"
    assert result["name"] == TOOL
    assert json.loads(result["content"]) == {"result": TOOL_OUTPUT}
