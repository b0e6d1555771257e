"""OpenCode (`opencode-ai`, pinned in conformance/apps/opencode/) run headless
(`opencode run`) with a custom `@ai-sdk/openai-compatible` provider in opencode.json that
points at the proxy: it reads a file, edits it on disk with its `edit` tool and finishes
with an answer that uses the tool's result. Everything stays on loopback (no models.dev,
no npm registry, no update check). Guide: integrations/opencode/README.md."""

from __future__ import annotations

import json
import os
import re

import httpx
import pytest

from helpers import app_dir, cli_env, run_cli

pytestmark = pytest.mark.timeout(240)

APP = "opencode"
VERSION = "1.18.33"
MODEL = "GigaChat-2-Max"
# A loopback port nothing listens on: should OpenCode ever reach for the npm registry
# (it installs @opencode-ai/plugin into its config directory), it fails here at once.
DEAD_REGISTRY = "http://127.0.0.1:9/"


def served(proxy_url: str) -> int:
    """The proxy's count of answered Chat Completions for the client model MODEL (its
    /metrics): which API and model name OpenCode used."""
    text = httpx.get(f"{proxy_url}/metrics", timeout=10.0, trust_env=False).text
    m = re.search(
        r'^gpt2giga_requests_total\{route="/chat/completions",dialect="openai",method="POST",'
        r'status="200",model="%s"\} (\d+)' % re.escape(MODEL),
        text,
        re.M,
    )
    return int(m.group(1)) if m else 0


def opencode_bin() -> str:
    """The pinned OpenCode binary (`opencode-linux-x64`, what `opencode-ai` installs on
    Linux x64), or a test failure saying why it is missing."""
    path = os.path.join(app_dir(APP), "node_modules", "opencode-linux-x64", "bin", "opencode")
    if not os.path.exists(path):
        pytest.fail(
            f"OpenCode is not installed at {path}: conformance/run.sh installs it with "
            f"`npm ci` from conformance/apps/{APP}/package-lock.json",
            pytrace=False,
        )
    return path


def opencode_config(proxy_url: str) -> dict:
    """The opencode.json of the guide (integrations/opencode/README.md)."""
    return {
        "$schema": "https://opencode.ai/config.json",
        "provider": {
            "gigachat": {
                "npm": "@ai-sdk/openai-compatible",
                "name": "GigaChat (gpt2giga)",
                "options": {"baseURL": f"{proxy_url}/v1", "apiKey": "unused"},
                "models": {
                    MODEL: {
                        "name": "GigaChat 2 Max",
                        "tool_call": True,
                        "limit": {"context": 128000, "output": 8192},
                    }
                },
            }
        },
        "model": f"gigachat/{MODEL}",
        "small_model": f"gigachat/{MODEL}",
        "autoupdate": False,
        "share": "disabled",
    }


def offline_home(home: str) -> None:
    """OpenCode installs `@opencode-ai/plugin` from npm into its global config directory
    on start unless that directory already has `node_modules` and a package-lock.json
    listing it (its Npm.install check); seed both so nothing is fetched."""
    config_dir = os.path.join(home, ".config", "opencode")
    os.makedirs(os.path.join(config_dir, "node_modules"))
    with open(os.path.join(config_dir, "package-lock.json"), "w") as f:
        json.dump({"packages": {"": {"dependencies": {"@opencode-ai/plugin": VERSION}}}}, f)


def test_opencode_edits_a_file(proxy_url, mock, tmp_path):
    opencode = opencode_bin()
    home = tmp_path / "home"
    project = tmp_path / "project"
    home.mkdir()
    project.mkdir()
    offline_home(str(home))
    (project / "opencode.json").write_text(json.dumps(opencode_config(proxy_url), indent=2))
    target = project / "greet.py"
    target.write_text('def greet():\n    return "Hello"\n')
    served_before = served(proxy_url)

    # GigaChat's side of the task: read the file, change it, then (the emulator's default
    # after a function result) an answer quoting the last tool's result.
    mock.add_rule(
        {"last_user_contains": "zq-greeting"},
        {"type": "function_call", "name": "read", "arguments": {"filePath": str(target)}},
        times=1,
    )
    mock.add_rule(
        "after_function_result",
        {
            "type": "function_call",
            "name": "edit",
            "arguments": {
                "filePath": str(target),
                "oldString": 'return "Hello"',
                "newString": 'return "Privet"',
            },
        },
        times=1,
    )

    env = cli_env(
        str(home),
        OPENCODE_DISABLE_MODELS_FETCH="1",
        OPENCODE_DISABLE_AUTOUPDATE="1",
        OPENCODE_DISABLE_LSP_DOWNLOAD="1",
        npm_config_registry=DEAD_REGISTRY,
    )
    proc = run_cli(
        [
            opencode,
            "run",
            "--format",
            "json",
            "--title",
            "greeting",
            "Make greet() in greet.py return Privet instead of Hello (zq-greeting)",
        ],
        env=env,
        cwd=str(project),
        timeout=180,
    )
    detail = (
        f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout[-6000:]}\n"
        f"--- stderr ---\n{proc.stderr[-4000:]}"
    )
    assert proc.returncode == 0, detail

    # The task is done on disk.
    assert target.read_text() == 'def greet():\n    return "Privet"\n', detail

    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    tools = [e["part"] for e in events if e.get("type") == "tool_use"]
    assert [(t["tool"], t["state"]["status"]) for t in tools] == [
        ("read", "completed"),
        ("edit", "completed"),
    ], detail
    texts = [e["part"]["text"] for e in events if e.get("type") == "text"]
    assert texts and texts[-1].startswith("The function edit returned:"), detail

    # OpenCode spoke Chat Completions to the proxy under the configured model name.
    assert served(proxy_url) - served_before == 3

    # What GigaChat received: the agent's tools as functions, each call and its result
    # sent back in order, the configured output cap, the model the proxy serves.
    bodies = mock.chat_requests()
    assert len(bodies) == 3, [b["messages"][-1] for b in bodies]
    for body in bodies:
        assert body["model"] == "GigaChat"
        assert body["stream"] is True
        assert body["max_tokens"] == 8192
        names = {f["name"] for f in body["functions"]}
        assert {"read", "edit", "write", "bash", "glob", "grep"} <= names
        assert body["messages"][0]["role"] == "system"
        assert "opencode" in body["messages"][0]["content"]
    edit_fn = next(f for f in bodies[0]["functions"] if f["name"] == "edit")
    assert {"filePath", "oldString", "newString"} <= set(edit_fn["parameters"]["properties"])

    read_round = bodies[1]["messages"]
    assert read_round[-2]["function_call"] == {"name": "read", "arguments": {"filePath": str(target)}}
    assert read_round[-1]["role"] == "function" and read_round[-1]["name"] == "read"
    # A plain-text tool result reaches GigaChat wrapped as JSON (function content must be JSON).
    assert 'return "Hello"' in json.loads(read_round[-1]["content"])["result"]

    edit_round = bodies[2]["messages"]
    assert edit_round[-2]["function_call"]["name"] == "edit"
    assert edit_round[-2]["function_call"]["arguments"]["newString"] == 'return "Privet"'
    assert edit_round[-1]["role"] == "function" and edit_round[-1]["name"] == "edit"
    # Both earlier rounds are still in the history GigaChat gets.
    assert [m.get("function_call", {}).get("name") for m in edit_round if m.get("function_call")] == [
        "read",
        "edit",
    ]
