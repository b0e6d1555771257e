"""Gemini CLI (`@google/gemini-cli`, installed by run.sh from package.json) run
headlessly (`gemini -p … --output-format json`) against the proxy's Gemini dialect,
with `GOOGLE_GEMINI_BASE_URL` pointing at the proxy.

The CLI gets a scratch HOME (its settings turn telemetry and usage statistics off) and
working directory, and an environment that points only at the proxy on loopback; no
sandbox."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from helpers import cli_env, cli_path, proc_detail, run_cli

TIMEOUT = 120.0
pytestmark = pytest.mark.timeout(TIMEOUT + 30)

SETTINGS = {
    "telemetry": {"enabled": False},
    "privacy": {"usageStatisticsEnabled": False},
    "general": {"disableAutoUpdate": True, "disableUpdateNag": True},
    "tools": {"sandbox": False},
    # An API key (GEMINI_API_KEY) against the base URL in GOOGLE_GEMINI_BASE_URL.
    "security": {"auth": {"selectedType": "gemini-api-key"}},
}


@pytest.fixture
def sandbox():
    """(home, workdir): fresh directories for one Gemini CLI run."""
    with tempfile.TemporaryDirectory(prefix="gpt2giga-gemini-cli-") as d:
        home, work = Path(d, "home"), Path(d, "work")
        (home / ".gemini").mkdir(parents=True)
        (home / ".gemini" / "settings.json").write_text(json.dumps(SETTINGS))
        work.mkdir()
        yield home, work


def gemini(proxy_url: str, home: Path, work: Path, prompt: str) -> dict:
    """Runs `gemini -p …` and returns its parsed JSON output (failing on anything else)."""
    env = cli_env(
        str(home),
        GOOGLE_GEMINI_BASE_URL=proxy_url,
        GEMINI_API_KEY="test-key",
        GEMINI_TELEMETRY_ENABLED="false",
        GEMINI_SANDBOX="false",
    )
    argv = [
        cli_path("gemini"), "-p", prompt, "--output-format", "json",
        "--skip-trust", "--approval-mode", "yolo", "-m", "gemini-2.5-flash",
    ]
    proc = run_cli(argv, env=env, cwd=str(work), timeout=TIMEOUT)
    detail = proc_detail(proc)
    assert proc.returncode == 0, detail
    start = proc.stdout.find("{")
    try:
        result = json.loads(proc.stdout[start:])
    except ValueError:
        pytest.fail(f"gemini printed no JSON result\n{detail}", pytrace=False)
    assert "error" not in result or not result["error"], detail
    return result


def chat_with(mock, text: str) -> list[dict]:
    """The chat requests whose messages mention `text`."""
    return [b for b in mock.chat_requests() if text in json.dumps(b["messages"], ensure_ascii=False)]


def test_gemini_cli_tool_round_trip(proxy_url, mock, sandbox):
    """GigaChat asks for the CLI's `read_file` tool; the CLI runs it and sends the file
    back through the proxy; GigaChat's second answer is the final response."""
    home, work = sandbox
    target = work / "hello.txt"
    target.write_text("the secret word is pineapple\n")
    prompt = "Read hello.txt and tell me the secret word (gemini-cli-read-check)"
    mock.add_rule(
        {"last_user_contains": "gemini-cli-read-check"},
        {"type": "function_call", "name": "read_file", "arguments": {"file_path": str(target)}},
        times=1,
    )
    mock.add_rule("after_function_result", {"type": "text", "text": "The secret word is pineapple."})

    result = gemini(proxy_url, home, work, prompt)
    assert "pineapple" in result["response"], result

    requests = chat_with(mock, "gemini-cli-read-check")
    assert len(requests) >= 2, f"expected two chat requests, got {len(requests)}"
    first = requests[0]
    names = [f["name"] for f in first.get("functions", [])]
    assert "read_file" in names, names
    second = [b for b in requests if any(m["role"] == "function" for m in b["messages"])][-1]
    msgs = second["messages"]
    calls = [m for m in msgs if m.get("function_call")]
    assert calls[-1]["function_call"] == {"name": "read_file", "arguments": {"file_path": str(target)}}
    results = [m for m in msgs if m["role"] == "function"]
    assert results[-1]["name"] == "read_file"
    assert "pineapple" in results[-1]["content"]
