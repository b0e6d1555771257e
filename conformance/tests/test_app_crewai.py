"""CrewAI (pinned in conformance/apps/crewai/): a sequential Crew with one Agent on
`LLM(model="openai/GigaChat", base_url=<proxy>/v1)` and one `@tool`, run by
conformance/apps/crewai/drive.py in its own environment with telemetry and tracing off.
The task must finish with an answer built from the tool's result, with and without
streaming; GigaChat must have been offered the tool and sent its result back."""

from __future__ import annotations

import json
import tempfile

import pytest

from helpers import app_dir, app_python, cli_env, proc_detail, run_cli

TIMEOUT = 120.0
pytestmark = pytest.mark.timeout(TIMEOUT + 30)

TOOL = "lookup_stock"
# What the driver's tool computes for SKU-17 (the sum of its characters' codes).
TOOL_OUTPUT = f"SKU-17: {sum(map(ord, 'SKU-17'))} items in stock"


def drive(proxy_url: str, marker: str, *extra: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="gpt2giga-crewai-") as home:
        env = cli_env(
            home,
            CREWAI_DISABLE_TELEMETRY="true",
            CREWAI_DISABLE_TRACKING="true",
            CREWAI_TRACING_ENABLED="false",
            CREWAI_DISABLE_VERSION_CHECK="true",
            OTEL_SDK_DISABLED="true",
        )
        argv = [app_python("crewai"), f"{app_dir('crewai')}/drive.py", f"{proxy_url}/v1", marker, *extra]
        proc = run_cli(argv, env=env, cwd=home, timeout=TIMEOUT)
    detail = proc_detail(proc)
    assert proc.returncode == 0, detail
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("mode", ["json", "stream"])
def test_crewai_agent_uses_tool(mock, proxy_url, mode):
    marker = f"conformance-crewai-{mode}"
    mock.add_rule(
        {"last_user_contains": marker},
        {"type": "function_call", "name": TOOL, "arguments": {"sku": "SKU-17"}},
        times=1,
    )
    # After the result the emulator's default answer reports it: "The function … returned: …".
    out = drive(proxy_url, marker, mode)

    assert out["executed"] == [{"sku": "SKU-17"}]
    assert TOOL_OUTPUT in out["raw"]

    first, second = mock.chat_requests()
    for body in (first, second):
        assert body["model"] == "GigaChat"
        assert bool(body.get("stream")) is (mode == "stream")
        assert body["messages"][0]["role"] == "system"
        assert "Warehouse clerk" in body["messages"][0]["content"]
        (function,) = body["functions"]
        assert function["name"] == TOOL
        assert function["parameters"]["properties"] == {"sku": {"type": "string"}}
    task_turn = first["messages"][-1]
    assert task_turn["role"] == "user"
    assert f"How many items of SKU-17 are in stock? ({marker})" in task_turn["content"]
    call, result = second["messages"][-2:]
    assert call["role"] == "assistant"
    assert call["function_call"] == {"name": TOOL, "arguments": {"sku": "SKU-17"}}
    assert result["role"] == "function"
    assert result["name"] == TOOL
    assert json.loads(result["content"]) == {"result": TOOL_OUTPUT}
