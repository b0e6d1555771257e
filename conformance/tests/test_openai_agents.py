"""The OpenAI Agents SDK (`openai-agents`) running a tool-using agent through the proxy
with the Chat Completions model."""

from __future__ import annotations

import json

import pytest

agents = pytest.importorskip("agents")

from agents import (  # noqa: E402
    Agent,
    ModelSettings,
    OpenAIChatCompletionsModel,
    Runner,
    function_tool,
    set_tracing_disabled,
)
from openai import AsyncOpenAI  # noqa: E402

set_tracing_disabled(True)  # never try to export traces


@function_tool
def get_weather(city: str) -> str:
    """Current weather in a city."""
    return f"27 degrees and sunny in {city}"


def make_agent(proxy_url: str, **settings) -> tuple[Agent, AsyncOpenAI]:
    client = AsyncOpenAI(base_url=f"{proxy_url}/v1", api_key="test", max_retries=0)
    agent = Agent(
        name="weather",
        instructions="You answer weather questions using the tool.",
        tools=[get_weather],
        model=OpenAIChatCompletionsModel(model="gpt-4o", openai_client=client),
        model_settings=ModelSettings(**settings),
    )
    return agent, client


def test_agent_tool_loop(proxy_url, mock):
    mock.push_replies(
        [
            {"type": "function_call", "name": "get_weather", "arguments": {"city": "Kazan"}},
            {"type": "text", "text": "It is 27 degrees and sunny in Kazan."},
        ]
    )
    agent, _client = make_agent(proxy_url)
    result = Runner.run_sync(agent, "What's the weather in Kazan?")
    assert result.final_output == "It is 27 degrees and sunny in Kazan."

    first, second = mock.chat_requests()
    assert first["messages"][0] == {
        "role": "system",
        "content": "You answer weather questions using the tool.",
    }
    assert [f["name"] for f in first["functions"]] == ["get_weather"]
    assert first["functions"][0]["parameters"]["properties"]["city"]["type"] == "string"

    roles = [m["role"] for m in second["messages"]]
    assert roles == ["system", "user", "assistant", "function"]
    assert second["messages"][2]["function_call"] == {
        "name": "get_weather",
        "arguments": {"city": "Kazan"},
    }
    assert second["messages"][3]["name"] == "get_weather"
    assert json.loads(second["messages"][3]["content"]) == {
        "result": "27 degrees and sunny in Kazan"
    }


def test_agent_streaming(proxy_url, mock):
    import asyncio

    mock.config(chunk_size=4)
    mock.push_replies(
        [
            {"type": "function_call", "name": "get_weather", "arguments": {"city": "Omsk"}},
            {"type": "text", "text": "Omsk: 27 and sunny."},
        ]
    )
    agent, client = make_agent(proxy_url)

    async def run() -> tuple[str, str]:
        result = Runner.run_streamed(agent, "Weather in Omsk?")
        deltas = []
        async for event in result.stream_events():
            if event.type == "raw_response_event" and getattr(event.data, "type", "") == "response.output_text.delta":
                deltas.append(event.data.delta)
        await client.close()
        return "".join(deltas), result.final_output

    streamed, final = asyncio.run(run())
    assert final == "Omsk: 27 and sunny."
    assert streamed == final
    bodies = mock.chat_requests()
    assert len(bodies) == 2
    assert all(b["stream"] is True for b in bodies)
