"""The npm Gemini SDK (`@google/genai`, installed by run.sh from package.json) driven
by a small node script (`gemini_node.mjs`) against the proxy: generate, stream, a chat
with a function call and its response, token counting, embeddings, the model list and
an error."""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import pytest

from helpers import CONFORMANCE_DIR, cli_env, proc_detail, run_cli

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gemini_node.mjs")
TIMEOUT = 60.0


def node(proxy_url: str, *steps: str) -> dict[str, dict]:
    """Runs the script's `steps`; returns each step's JSON output by name."""
    if not os.path.isdir(os.path.join(CONFORMANCE_DIR, "node_modules", "@google", "genai")):
        pytest.fail(
            "@google/genai is not installed: conformance/run.sh installs it with npm install",
            pytrace=False,
        )
    node_bin = shutil.which("node")
    assert node_bin, "node is not on PATH"
    with tempfile.TemporaryDirectory(prefix="gpt2giga-genai-node-") as home:
        env = cli_env(home, GEMINI_BASE_URL=proxy_url, GEMINI_API_KEY="test-key")
        proc = run_cli([node_bin, SCRIPT, *steps], env=env, cwd=CONFORMANCE_DIR, timeout=TIMEOUT)
    detail = proc_detail(proc)
    assert proc.returncode == 0, detail
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            v = json.loads(line)
            results[v["step"]] = v
    assert set(results) == set(steps), detail
    return results


def test_node_sdk(proxy_url, mock):
    mock.config(chunk_size=4)
    mock.add_rule({"last_user_contains": "node-generate"}, {"type": "text", "text": "Hello from node."})
    mock.add_rule({"last_user_contains": "node-stream"}, {"type": "text", "text": "one two three four"})
    mock.add_rule(
        {"last_user_contains": "node-tools"},
        {"type": "function_call", "name": "get_weather", "arguments": {"city": "Kazan"}},
        times=1,
    )
    mock.add_rule("after_function_result", {"type": "text", "text": "Kazan is sunny."})
    r = node(proxy_url, "generate", "stream", "tools", "count", "embed", "list", "error")

    assert r["generate"]["text"] == "Hello from node."
    assert r["generate"]["stop"] is True
    assert r["generate"]["usage"]["totalTokenCount"] > 0

    assert r["stream"]["text"] == "one two three four"
    assert r["stream"]["chunks"] > 2
    assert r["stream"]["finish"] == "STOP"
    assert r["stream"]["usage"]["totalTokenCount"] > 0

    calls = r["tools"]["calls"]
    assert [c["name"] for c in calls] == ["get_weather"]
    assert calls[0]["args"] == {"city": "Kazan"}
    assert calls[0]["id"]
    assert r["tools"]["text"] == "Kazan is sunny."
    assert r["tools"]["history"] == 4

    assert r["count"]["total"] > 0
    assert r["embed"]["n"] == 2 and r["embed"]["dims"] > 8
    assert "models/GigaChat" in r["list"]["names"]
    assert len(r["list"]["names"]) > 2

    assert r["error"]["thrown"] is True
    assert r["error"]["status"] == 400
    assert "codeExecution" in r["error"]["message"]

    # What GigaChat received for the tool round trip.
    bodies = [b for b in mock.chat_requests() if "node-tools" in json.dumps(b["messages"])]
    assert len(bodies) == 2
    assert bodies[0]["functions"][0]["name"] == "get_weather"
    msgs = bodies[1]["messages"]
    assert msgs[-2]["function_call"] == {"name": "get_weather", "arguments": {"city": "Kazan"}}
    assert msgs[-1]["role"] == "function" and "sunny" in msgs[-1]["content"]
    sys_body = [b for b in mock.chat_requests() if "node-generate" in json.dumps(b["messages"])][0]
    assert sys_body["messages"][0] == {"role": "system", "content": "Be brief."}
