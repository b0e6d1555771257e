"""aider (aider-chat, pinned in conformance/apps/aider/) run headlessly with `--message`
against the proxy's OpenAI Chat Completions endpoint, as `openai/GigaChat`.

The emulator answers with an edit in aider's own format (a SEARCH/REPLACE block for the
`diff` edit format, the whole file for `whole`); the test checks that aider applied it to
the file on disk and what GigaChat received. aider gets a scratch HOME and working
directory, analytics and update checks off, and the model's metadata from a local file
(so it never fetches litellm's price list)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from helpers import app_bin, cli_env, proc_detail, run_cli

TIMEOUT = 120.0
pytestmark = pytest.mark.timeout(2 * TIMEOUT + 30)

# What integrations/aider/README.md tells users to put next to their code.
CONF = """\
model: openai/GigaChat
openai-api-base: {base_url}
openai-api-key: test
check-update: false
show-release-notes: false
analytics: false
show-model-warnings: false
"""

MODEL_SETTINGS = """\
- name: openai/GigaChat
  edit_format: diff
  weak_model_name: openai/GigaChat
  use_repo_map: true
  use_temperature: true
  streaming: true
"""

MODEL_METADATA = {
    "openai/GigaChat": {
        "max_input_tokens": 128000,
        "max_output_tokens": 8192,
        "input_cost_per_token": 0,
        "output_cost_per_token": 0,
        "litellm_provider": "openai",
        "mode": "chat",
    }
}

SOURCE = 'def greet():\n    return "hello"\n'


@pytest.fixture
def sandbox():
    """(home, workdir) for one aider run; the workdir holds hello.py."""
    with tempfile.TemporaryDirectory(prefix="gpt2giga-aider-") as d:
        home, work = Path(d, "home"), Path(d, "work")
        home.mkdir()
        work.mkdir()
        (work / "hello.py").write_text(SOURCE)
        yield home, work


def aider(home: Path, work: Path, *args: str):
    env = cli_env(
        str(home),
        # litellm: use its bundled model list, never download one.
        LITELLM_LOCAL_MODEL_COST_MAP="True",
    )
    argv = [
        app_bin("aider", "aider"),
        "--yes-always",
        "--no-git",
        "--no-auto-commits",
        "--no-pretty",
        "--no-fancy-input",
        *args,
    ]
    proc = run_cli(argv, env=env, cwd=str(work), timeout=TIMEOUT)
    detail = proc_detail(proc)
    assert proc.returncode == 0, detail
    # Nothing was fetched from outside loopback (the price list comes from our metadata file).
    assert "raw.githubusercontent.com" not in proc.stdout + proc.stderr, detail
    return proc, detail


def test_aider_diff_edit_from_config_files(mock, proxy_url, sandbox):
    """The documented `.aider.conf.yml` + model settings (diff edit format): GigaChat
    answers with a SEARCH/REPLACE block and aider applies it to hello.py."""
    home, work = sandbox
    (work / ".aider.conf.yml").write_text(CONF.format(base_url=f"{proxy_url}/v1"))
    (work / ".aider.model.settings.yml").write_text(MODEL_SETTINGS)
    (work / ".aider.model.metadata.json").write_text(json.dumps(MODEL_METADATA))
    edit = (
        "I will change the greeting.\n\n"
        "hello.py\n```python\n<<<<<<< SEARCH\n"
        '    return "hello"\n'
        "=======\n"
        '    return "hello from GigaChat"\n'
        ">>>>>>> REPLACE\n```\n"
    )
    mock.add_rule({"last_user_contains": "conformance-aider-diff"}, {"type": "text", "text": edit})

    proc, detail = aider(home, work, "--message", "Change the greeting (conformance-aider-diff)", "hello.py")

    assert "diff edit format" in proc.stdout, detail
    assert "Applied edit to hello.py" in proc.stdout, detail
    assert (work / "hello.py").read_text() == 'def greet():\n    return "hello from GigaChat"\n'

    chats = mock.chat_requests()
    assert len(chats) == 1, detail
    body = chats[0]
    assert body["model"] == "GigaChat"
    assert body["stream"] is True  # aider streams by default
    assert "functions" not in body  # aider edits through text, not tools
    msgs = body["messages"]
    assert msgs[0]["role"] == "system"
    assert "SEARCH/REPLACE" in msgs[0]["content"]
    # The file's current content was sent, and the request is the last user turn.
    assert any(m["role"] == "user" and 'return "hello"' in m["content"] for m in msgs)
    assert msgs[-1]["role"] == "user"
    assert msgs[-1]["content"].startswith("Change the greeting (conformance-aider-diff)")


def test_aider_whole_file_edit_from_flags(mock, proxy_url, sandbox):
    """Command-line flags only, `whole` edit format, no streaming: GigaChat answers
    with the whole new file and aider writes it."""
    home, work = sandbox
    (work / ".aider.model.metadata.json").write_text(json.dumps(MODEL_METADATA))
    new_source = 'def greet():\n    return "whole file from GigaChat"\n'
    mock.add_rule(
        {"last_user_contains": "conformance-aider-whole"},
        {"type": "text", "text": f"Here is the new file.\n\nhello.py\n```python\n{new_source}```\n"},
    )

    proc, detail = aider(
        home,
        work,
        "--model", "openai/GigaChat",
        "--openai-api-base", f"{proxy_url}/v1",
        "--openai-api-key", "test",
        "--model-metadata-file", ".aider.model.metadata.json",
        "--edit-format", "whole",
        "--no-stream",
        "--no-check-update",
        "--no-show-release-notes",
        "--no-analytics",
        "--no-show-model-warnings",
        "--message", "Rewrite the greeting (conformance-aider-whole)",
        "hello.py",
    )

    assert "Applied edit to hello.py" in proc.stdout, detail
    assert (work / "hello.py").read_text() == new_source

    chats = mock.chat_requests()
    assert len(chats) == 1, detail
    body = chats[0]
    assert body["model"] == "GigaChat"
    assert not body.get("stream")
    assert body["messages"][-1]["role"] == "user"
    assert "conformance-aider-whole" in body["messages"][-1]["content"]
    assert any('return "hello"' in m["content"] for m in body["messages"] if m["role"] == "user")
