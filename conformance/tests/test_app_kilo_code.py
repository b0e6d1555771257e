"""Kilo Code's CLI (`kilo`, pinned in conformance/apps/kilo-code/) run headless
(`kilo run`) with a custom provider in kilo.json that points at the proxy — through
`@ai-sdk/openai-compatible` (Chat Completions) and through `@ai-sdk/anthropic` (Messages):
it reads a file, edits it on disk with its `edit` tool and finishes with an answer that
uses the tool's result. Telemetry is off and Kilo's own services, the model
catalogue and the npm registry are pointed at a dead loopback port, so nothing leaves the
machine. Guide: integrations/kilo-code/README.md."""

from __future__ import annotations

import json
import os
import re

import httpx
import pytest

from helpers import app_dir, cli_env, run_cli

pytestmark = pytest.mark.timeout(240)

APP = "kilo-code"
MODEL = "GigaChat-2-Max"
# A loopback port nothing listens on, for every service Kilo would call besides the proxy.
DEAD = "http://127.0.0.1:9"


def kilo_bin() -> str:
    """The pinned Kilo CLI binary (`@kilocode/cli-linux-x64`, what `@kilocode/cli`
    installs on Linux x64), or a test failure saying why it is missing."""
    path = os.path.join(app_dir(APP), "node_modules", "@kilocode", "cli-linux-x64", "bin", "kilo")
    if not os.path.exists(path):
        pytest.fail(
            f"Kilo CLI is not installed at {path}: conformance/run.sh installs it with "
            f"`npm ci` from conformance/apps/{APP}/package-lock.json",
            pytrace=False,
        )
    return path


# provider id -> (AI SDK package, the proxy route it must use, that route's dialect)
PROVIDERS = {
    "gigachat": ("@ai-sdk/openai-compatible", "/chat/completions", "openai"),
    "gigachat-anthropic": ("@ai-sdk/anthropic", "/messages", "anthropic"),
}


def kilo_config(proxy_url: str, provider: str) -> dict:
    """The kilo.json of the guide (integrations/kilo-code/README.md)."""
    return {
        "$schema": "https://app.kilo.ai/config.json",
        "provider": {
            provider: {
                "npm": PROVIDERS[provider][0],
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
        "model": f"{provider}/{MODEL}",
        "small_model": f"{provider}/{MODEL}",
        "autoupdate": False,
        "share": "disabled",
    }


def served(proxy_url: str, route: str, dialect: str) -> int:
    """The proxy's count of answered POSTs on `route` in `dialect` for the client model
    MODEL (its /metrics), to see which API and model name the client used."""
    text = httpx.get(f"{proxy_url}/metrics", timeout=10.0, trust_env=False).text
    pattern = re.compile(
        r'^gpt2giga_requests_total\{route="%s",dialect="%s",method="POST",status="200",model="%s"\} (\d+)'
        % (re.escape(route), dialect, re.escape(MODEL)),
        re.M,
    )
    m = pattern.search(text)
    return int(m.group(1)) if m else 0


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_kilo_cli_edits_a_file(proxy_url, mock, tmp_path, provider):
    kilo = kilo_bin()
    home = tmp_path / "home"
    project = tmp_path / "project"
    home.mkdir()
    project.mkdir()
    (project / "kilo.json").write_text(json.dumps(kilo_config(proxy_url, provider), indent=2))
    _npm, route, dialect = PROVIDERS[provider]
    served_before = served(proxy_url, route, dialect)
    target = project / "greet.py"
    target.write_text('def greet():\n    return "Hello"\n')

    # GigaChat's side: read the file, change it, then (the emulator's default after a
    # function result) an answer quoting the last tool's result.
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
        KILO_TELEMETRY_LEVEL="off",
        KILO_API_URL=DEAD,
        KILO_DISABLE_MODELS_FETCH="1",
        KILO_DISABLE_AUTOUPDATE="1",
        KILO_DISABLE_LSP_DOWNLOAD="1",
        npm_config_registry=DEAD + "/",
    )
    proc = run_cli(
        [
            kilo,
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

    # Kilo spoke the provider's API to the proxy, under the configured model name.
    assert served(proxy_url, route, dialect) - served_before == 3

    # What GigaChat received.
    bodies = mock.chat_requests()
    assert len(bodies) == 3, [b["messages"][-1] for b in bodies]
    for body in bodies:
        assert body["model"] == "GigaChat"
        assert body["stream"] is True
        assert body["max_tokens"] == 8192
        names = {f["name"] for f in body["functions"]}
        assert {"read", "edit", "write", "bash", "glob", "grep"} <= names
        assert body["messages"][0]["role"] == "system"
        assert "Kilo" in body["messages"][0]["content"]
    first_user = bodies[0]["messages"][1]
    assert first_user["role"] == "user" and "zq-greeting" in first_user["content"]
    edit_fn = next(f for f in bodies[0]["functions"] if f["name"] == "edit")
    assert {"filePath", "oldString", "newString"} <= set(edit_fn["parameters"]["properties"])

    read_round = bodies[1]["messages"]
    assert read_round[-2]["function_call"] == {"name": "read", "arguments": {"filePath": str(target)}}
    assert read_round[-1]["role"] == "function" and read_round[-1]["name"] == "read"
    # A plain-text tool result reaches GigaChat wrapped as JSON.
    assert 'return "Hello"' in json.loads(read_round[-1]["content"])["result"]

    edit_round = bodies[2]["messages"]
    assert edit_round[-2]["function_call"]["name"] == "edit"
    assert edit_round[-2]["function_call"]["arguments"]["newString"] == 'return "Privet"'
    assert edit_round[-1]["role"] == "function" and edit_round[-1]["name"] == "edit"
    assert [m["function_call"]["name"] for m in edit_round if m.get("function_call")] == ["read", "edit"]
