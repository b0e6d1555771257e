"""The OpenAI Agents SDK (`openai-agents`) running a tool-using agent through the proxy,
with the Chat Completions model and with the Responses model (the SDK's default)."""

from __future__ import annotations

import json

import pytest

agents = pytest.importorskip("agents")

from agents import (  # noqa: E402
    Agent,
    ModelSettings,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
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


# ----------------------------------------------------------------------------------
# The Responses model (what `Agent(model="...")` uses by default)
# ----------------------------------------------------------------------------------


def make_responses_agent(proxy_url: str, **settings) -> tuple[Agent, AsyncOpenAI]:
    client = AsyncOpenAI(base_url=f"{proxy_url}/v1", api_key="test", max_retries=0)
    agent = Agent(
        name="weather",
        instructions="You answer weather questions using the tool.",
        tools=[get_weather],
        model=OpenAIResponsesModel(model="gpt-5", openai_client=client),
        model_settings=ModelSettings(**settings),
    )
    return agent, client


def check_responses_tool_loop(bodies: list[dict], city: str) -> None:
    first, second = bodies
    assert first["messages"][0] == {
        "role": "system",
        "content": "You answer weather questions using the tool.",
    }
    assert first["messages"][-1]["role"] == "user"
    assert [f["name"] for f in first["functions"]] == ["get_weather"]
    assert first["functions"][0]["parameters"]["properties"]["city"]["type"] == "string"

    msgs = second["messages"]
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "function"]
    assert msgs[2]["function_call"] == {"name": "get_weather", "arguments": {"city": city}}
    assert msgs[3]["name"] == "get_weather"
    assert json.loads(msgs[3]["content"]) == {"result": f"27 degrees and sunny in {city}"}


def test_agent_tool_loop_responses(proxy_url, mock):
    import asyncio

    mock.push_replies(
        [
            {"type": "function_call", "name": "get_weather", "arguments": {"city": "Kazan"}},
            {"type": "text", "text": "It is 27 degrees and sunny in Kazan."},
        ]
    )
    agent, client = make_responses_agent(proxy_url)

    async def run():
        try:
            return await Runner.run(agent, "What's the weather in Kazan?")
        finally:
            await client.close()

    result = asyncio.run(run())
    assert result.final_output == "It is 27 degrees and sunny in Kazan."
    kinds = [item.type for item in result.new_items]
    assert kinds == ["tool_call_item", "tool_call_output_item", "message_output_item"]
    assert result.new_items[1].output == "27 degrees and sunny in Kazan"
    assert len(result.raw_responses) == 2
    assert all(r.response_id and r.response_id.startswith("resp_") for r in result.raw_responses)
    check_responses_tool_loop(mock.chat_requests(), "Kazan")
    assert mock.requests("/api/v1/chat/completions")[0]["status"] == 200


def test_agent_streaming_responses(proxy_url, mock):
    import asyncio

    mock.config(chunk_size=4)
    mock.push_replies(
        [
            {"type": "function_call", "name": "get_weather", "arguments": {"city": "Omsk"}},
            {"type": "text", "text": "Omsk: 27 and sunny."},
        ]
    )
    agent, client = make_responses_agent(proxy_url)

    async def run() -> tuple[str, str, list[str]]:
        try:
            result = Runner.run_streamed(agent, "Weather in Omsk?")
            deltas, items = [], []
            async for event in result.stream_events():
                if event.type == "raw_response_event" and event.data.type == "response.output_text.delta":
                    deltas.append(event.data.delta)
                elif event.type == "run_item_stream_event":
                    items.append(event.item.type)
            return "".join(deltas), result.final_output, items
        finally:
            await client.close()

    streamed, final, items = asyncio.run(run())
    assert final == "Omsk: 27 and sunny."
    assert streamed == final
    assert items == ["tool_call_item", "tool_call_output_item", "message_output_item"]
    bodies = mock.chat_requests()
    assert all(b["stream"] is True for b in bodies)
    check_responses_tool_loop(bodies, "Omsk")
