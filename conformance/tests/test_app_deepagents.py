"""Deep Agents Code (`dcode` of deepagents-code, pinned in conformance/apps/deepagents/)
run headlessly (`dcode -n … -q`) against the proxy with LangChain's OpenAI provider
(`-M openai:GigaChat`, `OPENAI_BASE_URL`), which speaks the Responses API.

GigaChat calls dcode's `write_file` tool; the test checks the file on disk, the final
answer (built from the tool's result) and what GigaChat received. dcode gets a scratch
HOME and working directory, with update checks, downloads, LangSmith tracing and the
LangGraph CLI's analytics off."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from helpers import app_bin, cli_env, proc_detail, run_cli

TIMEOUT = 180.0
pytestmark = pytest.mark.timeout(TIMEOUT + 30)


@pytest.fixture
def sandbox():
    with tempfile.TemporaryDirectory(prefix="gpt2giga-deepagents-") as d:
        home, work = Path(d, "home"), Path(d, "work")
        home.mkdir()
        work.mkdir()
        yield home, work


def dcode(home: Path, work: Path, prompt: str, *args: str, **extra: str):
    env = cli_env(
        str(home),
        OPENAI_API_KEY="unused",
        DEEPAGENTS_CODE_NO_UPDATE_CHECK="1",
        DEEPAGENTS_CODE_AUTO_UPDATE="0",
        DEEPAGENTS_CODE_OFFLINE="1",  # no ripgrep download, no price-list refresh
        DEEPAGENTS_CODE_PRICES_AUTO_UPDATE="0",
        LANGSMITH_TRACING="false",
        LANGGRAPH_CLI_NO_ANALYTICS="1",
        **extra,
    )
    argv = [app_bin("deepagents", "dcode"), *args, "-n", prompt, "-q"]
    proc = run_cli(argv, env=env, cwd=str(work), timeout=TIMEOUT)
    detail = proc_detail(proc)
    assert proc.returncode == 0, detail
    return proc, detail


def test_deepagents_writes_a_file(mock, proxy_url, sandbox):
    home, work = sandbox
    target = work / "notes.md"
    content = "# Notes\nwritten by GigaChat through gpt2giga\n"
    mock.add_rule(
        {"last_user_contains": "conformance-deepagents-write"},
        {"type": "function_call", "name": "write_file", "arguments": {"file_path": str(target), "content": content}},
        times=1,
    )
    # After the result the emulator's default answer reports it: "The function … returned: …".
    proc, detail = dcode(
        home, work, "Write notes.md (conformance-deepagents-write)",
        "-M", "openai:GigaChat", OPENAI_BASE_URL=f"{proxy_url}/v1",
    )

    assert target.read_text() == content
    tool_result = f"Updated file {target}"
    answer = "The function write_file returned: " + json.dumps({"result": tool_result}, separators=(",", ":"))
    assert answer in proc.stdout, detail

    first, second = mock.chat_requests()
    for body in (first, second):
        assert body["model"] == "GigaChat"
        assert body["messages"][0]["role"] == "system"
        assert "non-interactive" in body["messages"][0]["content"]
        names = {f["name"] for f in body["functions"]}
        assert {"read_file", "write_file", "edit_file", "ls"} <= names, names
    write = next(f for f in first["functions"] if f["name"] == "write_file")
    assert write["parameters"]["required"] == ["file_path", "content"]
    assert first["messages"][-1] == {"role": "user", "content": "Write notes.md (conformance-deepagents-write)"}
    call, result = second["messages"][-2:]
    assert call["role"] == "assistant"
    assert call["function_call"] == {"name": "write_file", "arguments": {"file_path": str(target), "content": content}}
    assert result["role"] == "function"
    assert result["name"] == "write_file"
    assert json.loads(result["content"]) == {"result": tool_result}


# What integrations/deepagents/README.md tells users to put in ~/.deepagents/config.toml.
CONFIG = """\
[models]
default = "openai:GigaChat"

[models.providers.openai]
base_url = "{base_url}"
models = ["GigaChat"]

[warnings]
suppress = ["ripgrep", "tavily"]
"""


def test_deepagents_config_file(mock, proxy_url, sandbox):
    """The proxy configured in ~/.deepagents/config.toml (no -M, no OPENAI_BASE_URL)."""
    home, work = sandbox
    (home / ".deepagents").mkdir()
    (home / ".deepagents" / "config.toml").write_text(CONFIG.format(base_url=f"{proxy_url}/v1"))
    mock.add_rule({"last_user_contains": "conformance-deepagents-config"}, {"type": "text", "text": "Configured through config.toml."})

    proc, detail = dcode(home, work, "Say hi (conformance-deepagents-config)")

    assert "Configured through config.toml." in proc.stdout, detail
    assert "TAVILY_API_KEY" not in proc.stdout + proc.stderr, detail  # the [warnings] table was read
    (body,) = mock.chat_requests()
    assert body["model"] == "GigaChat"
    assert body["messages"][-1] == {"role": "user", "content": "Say hi (conformance-deepagents-config)"}
    assert "write_file" in {f["name"] for f in body["functions"]}
