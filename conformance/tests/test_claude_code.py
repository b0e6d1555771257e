"""Claude Code (`@anthropic-ai/claude-code`, installed by run.sh from package.json) run
headlessly (`claude -p … --output-format json`) against the proxy's Anthropic dialect.

Claude Code gets a scratch HOME and working directory and an environment that points
only at the proxy on loopback; telemetry, auto-update and error reporting are off."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from helpers import cli_env, cli_path, proc_detail, run_cli

TIMEOUT = 120.0
pytestmark = pytest.mark.timeout(TIMEOUT + 30)


@pytest.fixture
def sandbox():
    """(home, workdir): fresh directories for one Claude Code run."""
    with tempfile.TemporaryDirectory(prefix="gpt2giga-claude-") as d:
        home, work = Path(d, "home"), Path(d, "work")
        home.mkdir()
        work.mkdir()
        yield home, work


def claude(proxy_url: str, home: Path, work: Path, *args: str) -> dict:
    """Runs `claude -p …` and returns its parsed JSON result (failing on anything else)."""
    env = cli_env(
        str(home),
        ANTHROPIC_BASE_URL=proxy_url,
        ANTHROPIC_API_KEY="sk-test",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        DISABLE_TELEMETRY="1",
        DISABLE_AUTOUPDATER="1",
        DISABLE_ERROR_REPORTING="1",
    )
    argv = [cli_path("claude"), "-p", *args, "--output-format", "json"]
    proc = run_cli(argv, env=env, cwd=str(work), timeout=TIMEOUT)
    detail = proc_detail(proc)
    assert proc.returncode == 0, detail
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        pytest.fail(f"claude printed no JSON result\n{detail}", pytrace=False)
    assert result.get("type") == "result", detail
    assert result.get("is_error") is False, detail
    return result


def chat_with(mock, text: str) -> list[dict]:
    """The chat requests whose messages mention `text`."""
    return [b for b in mock.chat_requests() if text in json.dumps(b["messages"], ensure_ascii=False)]


def test_claude_code_print_mode(proxy_url, mock, sandbox):
    home, work = sandbox
    mock.add_rule({"last_user_contains": "Say hello"}, {"type": "text", "text": "Hello from GigaChat via gpt2giga!"})
    result = claude(proxy_url, home, work, "Say hello")
    assert result["subtype"] == "success"
    assert "Hello from GigaChat via gpt2giga!" in result["result"]
    assert result["num_turns"] == 1

    requests = chat_with(mock, "Say hello")
    assert requests, "the emulator received no chat request with the prompt"
    body = requests[-1]
    assert body["model"] == "GigaChat"
    assert body["messages"][0]["role"] == "system"  # Claude Code's system prompt
    assert body["messages"][-1]["role"] == "user"
    assert body.get("functions"), "Claude Code's tools did not reach GigaChat"


def test_claude_code_tool_round_trip(proxy_url, mock, sandbox):
    """GigaChat asks for Claude Code's `Read` tool; Claude Code runs it and sends the
    file back through the proxy; GigaChat's second answer is the final result."""
    home, work = sandbox
    target = work / "hello.txt"
    target.write_text("the secret word is pineapple\n")
    prompt = "Use the Read tool on hello.txt (conformance-read-check)"
    mock.add_rule(
        {"last_user_contains": "conformance-read-check"},
        {"type": "function_call", "name": "Read", "arguments": {"file_path": str(target)}},
        times=1,
    )
    mock.add_rule("after_function_result", {"type": "text", "text": "The file says pineapple."})

    result = claude(proxy_url, home, work, prompt, "--allowedTools", "Read")
    assert result["result"] == "The file says pineapple.", result
    assert result["num_turns"] == 2
    assert result.get("permission_denials") in (None, []), result

    requests = chat_with(mock, "conformance-read-check")
    assert len(requests) >= 2, f"expected two chat requests, got {len(requests)}"
    first, second = requests[0], requests[-1]
    # The tool exists with the argument we scripted (a clear failure if Claude Code
    # ever renames it).
    read = [f for f in first.get("functions", []) if f["name"] == "Read"]
    assert read, f"no Read tool among {[f['name'] for f in first.get('functions', [])]}"
    assert "file_path" in read[0]["parameters"]["properties"]

    msgs = second["messages"]
    assert [m["role"] for m in msgs[-2:]] == ["assistant", "function"]
    assert msgs[-2]["function_call"] == {"name": "Read", "arguments": {"file_path": str(target)}}
    assert msgs[-1]["name"] == "Read"
    assert "pineapple" in msgs[-1]["content"]
