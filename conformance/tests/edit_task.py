"""The file-editing task OpenCode and its fork Kilo Code are driven through (both run
`<cli> run --format json`): GigaChat reads `greet.py`, edits it with the `edit` tool, and
the emulator's default answer after a function result quotes the last tool's result.
The caller writes the application's own config and environment; this module scripts the
emulator, runs the CLI and checks the task and what GigaChat received."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import proc_detail, run_cli

PROMPT = "Make greet() in greet.py return Privet instead of Hello (zq-greeting)"


def greet_file(project: Path) -> Path:
    target = project / "greet.py"
    target.write_text('def greet():\n    return "Hello"\n')
    return target


def script(mock, target: Path) -> None:
    """GigaChat's side: read the file, then change it."""
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


def run(cli: str, env: dict[str, str], project: Path, target: Path) -> None:
    """Runs the task to its end and checks it: the file changed on disk, the read and
    edit tools completed, and the final answer used the edit's result."""
    proc = run_cli(
        [cli, "run", "--format", "json", "--title", "greeting", PROMPT],
        env=env,
        cwd=str(project),
        timeout=180,
    )
    detail = proc_detail(proc, out=6000)
    assert proc.returncode == 0, detail
    assert target.read_text() == 'def greet():\n    return "Privet"\n', detail
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    tools = [e["part"] for e in events if e.get("type") == "tool_use"]
    assert [(t["tool"], t["state"]["status"]) for t in tools] == [
        ("read", "completed"),
        ("edit", "completed"),
    ], detail
    texts = [e["part"]["text"] for e in events if e.get("type") == "text"]
    assert texts and texts[-1].startswith("The function edit returned:"), detail


def check_gigachat(mock, target: Path, system_marker: str) -> None:
    """What GigaChat received: the agent's tools as functions, each call and its result
    sent back in order, the configured output cap, the model the proxy serves."""
    bodies = mock.chat_requests()
    assert len(bodies) == 3, [b["messages"][-1] for b in bodies]
    for body in bodies:
        assert body["model"] == "GigaChat"
        assert body["stream"] is True
        assert body["max_tokens"] == 8192
        names = {f["name"] for f in body["functions"]}
        assert {"read", "edit", "write", "bash", "glob", "grep"} <= names
        assert body["messages"][0]["role"] == "system"
        assert system_marker in body["messages"][0]["content"]
    first_user = bodies[0]["messages"][1]
    assert first_user["role"] == "user" and "zq-greeting" in first_user["content"]
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
    assert [m["function_call"]["name"] for m in edit_round if m.get("function_call")] == ["read", "edit"]
