"""The Vercel AI SDK (`ai` with `@ai-sdk/openai-compatible`, `@ai-sdk/openai` and
`@ai-sdk/anthropic`, pinned in conformance/apps/vercel-ai-sdk/) driven through the proxy
by `conformance/apps/vercel-ai-sdk/drive.mjs`: a tool loop whose tool result ends up in
the final answer (generateText + stopWhen), streamText, and structured output
(generateObject and generateText with Output.object, both with a zod schema), through
each provider. Guide: integrations/vercel-ai-sdk/README.md."""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import pytest

from helpers import app_dir, cli_env, proc_detail, run_cli

pytestmark = pytest.mark.timeout(180)

APP = "vercel-ai-sdk"
TIMEOUT = 90.0
WEATHER_RESULT = {"city": "Kazan", "temperatureC": 21, "sky": "clear-sky-7731"}


def drive(proxy_url: str, *steps: str) -> dict[str, dict]:
    """Runs drive.mjs for `steps` (`provider:step`); returns each step's JSON by name."""
    here = app_dir(APP)
    if not os.path.isdir(os.path.join(here, "node_modules", "ai")):
        pytest.fail(
            f"{APP}'s environment is missing: conformance/run.sh installs it with `npm ci` "
            f"from conformance/apps/{APP}/package-lock.json",
            pytrace=False,
        )
    node = shutil.which("node")
    assert node, "node is not on PATH"
    with tempfile.TemporaryDirectory(prefix="gpt2giga-ai-sdk-") as home:
        env = cli_env(home, GPT2GIGA_URL=proxy_url, AI_SDK_LOG_WARNINGS="false")
        proc = run_cli(
            [node, os.path.join(here, "drive.mjs"), *steps], env=env, cwd=here, timeout=TIMEOUT
        )
    detail = proc_detail(proc)
    assert proc.returncode == 0, detail
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            v = json.loads(line)
            results[v["step"]] = v
    assert set(results) == set(steps), detail
    return results


def bodies_with(mock, marker: str) -> list[dict]:
    """The chat requests GigaChat received whose messages mention `marker`."""
    return [b for b in mock.chat_requests() if marker in json.dumps(b["messages"], ensure_ascii=False)]


def script(mock, provider: str) -> None:
    mock.config(chunk_size=6)
    mock.add_rule(
        {"last_user_contains": f"({provider}-tool)"},
        {"type": "function_call", "name": "get_weather", "arguments": {"city": "Kazan"}},
        times=1,
    )
    mock.add_rule({"last_user_contains": f"({provider}-stream)"}, {"type": "text", "text": "one, two, three, four"})


def check_tool(mock, provider: str, r: dict) -> None:
    # The SDK ran the tool with GigaChat's arguments and sent its result back; the final
    # answer (the emulator's default after a function result) quotes that result.
    assert r["executed"] == [{"city": "Kazan"}]
    assert r["toolCalls"] == [{"name": "get_weather", "input": {"city": "Kazan"}}]
    assert r["steps"] == 2 and r["finishReason"] == "stop"
    assert r["text"] == "The function get_weather returned: " + json.dumps(WEATHER_RESULT, separators=(",", ":"))
    assert r["usage"]["inputTokens"] > 0 and r["usage"]["outputTokens"] > 0

    first, second = bodies_with(mock, f"({provider}-tool)")
    for body in (first, second):
        assert body["model"] == "GigaChat"
        assert body["functions"] == [
            {
                "name": "get_weather",
                "description": "Current weather in a city",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string", "description": "City name"}},
                    "required": ["city"],
                },
            }
        ]
        assert body["messages"][0] == {"role": "system", "content": "You are a weather assistant."}
    assert second["messages"][-2]["role"] == "assistant"
    assert second["messages"][-2]["function_call"] == {"name": "get_weather", "arguments": {"city": "Kazan"}}
    assert second["messages"][-1]["role"] == "function"
    assert second["messages"][-1]["name"] == "get_weather"
    assert json.loads(second["messages"][-1]["content"]) == WEATHER_RESULT


def check_stream(mock, provider: str, r: dict) -> None:
    assert r["text"] == "one, two, three, four"
    assert r["parts"] >= 3, r  # really streamed, in pieces
    assert r["finishReason"] == "stop"
    assert r["usage"]["outputTokens"] > 0
    (body,) = bodies_with(mock, f"({provider}-stream)")
    assert body["stream"] is True and body["model"] == "GigaChat"


def check_object(mock, provider: str, step: str, r: dict) -> None:
    # The emulator answers json_schema formats with an instance of the schema it got, so a
    # parsed, valid object proves the whole schema reached GigaChat.
    assert r["valid"] is True, r
    assert set(r["object"]) == {"name", "servings", "ingredients", "vegetarian"}
    assert r["finishReason"] == "stop"
    (body,) = bodies_with(mock, f"({provider}-{step})")
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema"
    schema = fmt["schema"]
    assert schema["required"] == ["name", "servings", "ingredients", "vegetarian"]
    assert schema["properties"]["ingredients"]["items"]["required"] == ["item", "grams"]
    assert "functions" not in body


@pytest.mark.parametrize("provider", ["compat", "openai-chat", "openai-responses", "anthropic"])
def test_vercel_ai_sdk(proxy_url, mock, provider):
    script(mock, provider)
    r = drive(
        proxy_url,
        f"{provider}:tool",
        f"{provider}:stream",
        f"{provider}:object",
        f"{provider}:output",
    )
    check_tool(mock, provider, r[f"{provider}:tool"])
    check_stream(mock, provider, r[f"{provider}:stream"])
    check_object(mock, provider, "object", r[f"{provider}:object"])
    check_object(mock, provider, "output", r[f"{provider}:output"])
