"""Codex CLI (`@openai/codex`, installed by run.sh from package.json) run headlessly
(`codex exec`) against the proxy's Responses API, with a custom model provider.

Codex gets a scratch CODEX_HOME (holding only config.toml), HOME and working directory,
and an environment that points only at the proxy on loopback."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from helpers import cli_env, cli_path, proc_detail, run_cli

TIMEOUT = 120.0
pytestmark = pytest.mark.timeout(2 * TIMEOUT + 30)

CONFIG = """\
model = "GigaChat"
model_provider = "gpt2giga"
check_for_update_on_startup = false
# Codex offers its hosted `web_search` tool by default, which sends every turn to
# GigaChat v2 (test_v2.py covers that); these tests keep to plain v1 turns.
web_search = "disabled"

[model_providers.gpt2giga]
name = "gpt2giga"
base_url = "{base_url}"
wire_api = "responses"
env_key = "GPT2GIGA_KEY"
"""


@pytest.fixture
def sandbox(proxy_url):
    """(codex_home, home, workdir) for one Codex session."""
    with tempfile.TemporaryDirectory(prefix="gpt2giga-codex-") as d:
        codex_home, home, work = Path(d, "codex-home"), Path(d, "home"), Path(d, "work")
        for p in (codex_home, home, work):
            p.mkdir()
        (codex_home / "config.toml").write_text(CONFIG.format(base_url=f"{proxy_url}/v1"))
        yield codex_home, home, work


def codex(sandbox, prompt: str) -> str:
    """Runs `codex exec` and returns the agent's last message (failing otherwise)."""
    codex_home, home, work = sandbox
    last = work.parent / "last-message.txt"
    env = cli_env(str(home), CODEX_HOME=str(codex_home), GPT2GIGA_KEY="test")
    argv = [cli_path("codex"), "exec", "--skip-git-repo-check", "--color", "never",
            "--output-last-message", str(last), prompt]
    proc = run_cli(argv, env=env, cwd=str(work), timeout=TIMEOUT)
    detail = proc_detail(proc, err=6000)
    assert proc.returncode == 0, detail
    assert last.exists(), f"codex wrote no last message\n{detail}"
    message = last.read_text().strip()
    assert message in proc.stdout, detail
    return message


def chat_with(mock, text: str) -> list[dict]:
    return [b for b in mock.chat_requests() if text in json.dumps(b["messages"], ensure_ascii=False)]


def test_codex_plain_turn(mock, sandbox):
    mock.add_rule({"last_user_contains": "conformance-plain"}, {"type": "text", "text": "Hi from GigaChat through Codex."})
    answer = codex(sandbox, "Say hi (conformance-plain)")
    assert answer == "Hi from GigaChat through Codex."
    requests = chat_with(mock, "conformance-plain")
    assert len(requests) == 1
    body = requests[0]
    assert body["model"] == "GigaChat"
    assert body["messages"][0]["role"] == "system"  # Codex's instructions
    assert body["messages"][-1] == {"role": "user", "content": "Say hi (conformance-plain)"}
    assert body.get("functions"), "Codex's tools did not reach GigaChat"


def pick_tool(functions: list[dict]) -> tuple[str, dict]:
    """A harmless tool Codex offers, with valid arguments built from its schema:
    preferably one that needs no sandbox."""
    by_name = {f["name"]: f for f in functions}
    if "update_plan" in by_name:
        return "update_plan", {"plan": [{"step": "Say hi", "status": "completed"}]}
    if "get_goal" in by_name and not by_name["get_goal"]["parameters"].get("required"):
        return "get_goal", {}
    if "exec_command" in by_name:
        return "exec_command", {"cmd": "echo conformance-hi"}
    if "shell" in by_name:
        return "shell", {"command": ["echo", "conformance-hi"]}
    pytest.fail(f"no known harmless Codex tool among {sorted(by_name)}", pytrace=False)


def test_codex_tool_round_trip(mock, sandbox):
    """GigaChat calls one of Codex's tools; Codex runs it and sends the result back
    through the proxy; GigaChat's second answer is Codex's final message."""
    # Discover the tools this Codex version offers (a plain turn), then script a call.
    mock.add_rule({"last_user_contains": "conformance-discover"}, {"type": "text", "text": "ok"})
    assert codex(sandbox, "Reply ok (conformance-discover)") == "ok"
    functions = chat_with(mock, "conformance-discover")[0]["functions"]
    name, arguments = pick_tool(functions)
    schema = next(f for f in functions if f["name"] == name)["parameters"]
    assert set(arguments) <= set(schema.get("properties", {})), (name, schema)
    assert set(schema.get("required", [])) <= set(arguments), (name, schema)

    mock.add_rule(
        {"last_user_contains": "conformance-tool"},
        {"type": "function_call", "name": name, "arguments": arguments},
        times=1,
    )
    mock.add_rule("after_function_result", {"type": "text", "text": "The tool ran; all done."})
    answer = codex(sandbox, "Use a tool, then answer (conformance-tool)")
    assert answer == "The tool ran; all done."

    requests = chat_with(mock, "conformance-tool")
    assert len(requests) == 2, [[m["role"] for m in b["messages"]] for b in requests]
    first, second = requests
    assert first["messages"][-1]["role"] == "user"
    msgs = second["messages"]
    assert [m["role"] for m in msgs[-2:]] == ["assistant", "function"]
    assert msgs[-2]["function_call"] == {"name": name, "arguments": arguments}
    assert msgs[-1]["name"] == name
    assert msgs[-1]["content"]
    if name in ("exec_command", "shell"):
        assert "conformance-hi" in msgs[-1]["content"]
