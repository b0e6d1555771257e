"""Pydantic AI through gpt2giga, as a user would write it.

    python drive.py <scenario>      (PROXY_URL = the proxy's root URL)

Prints `@@result <JSON>`: what the application ended up with."""

from __future__ import annotations

import asyncio
import json
import os
import sys

from pydantic import BaseModel
from pydantic_ai import Agent, NativeOutput

PROXY = os.environ["PROXY_URL"]


class Weather(BaseModel):
    city: str
    temperature_c: int
    summary: str


def get_weather(city: str) -> str:
    """Current weather in a city."""
    return f"27 degrees and sunny in {city}"


def openai_model(provider: str):
    from pydantic_ai.models.openai import OpenAIChatModel

    if provider == "openai":
        from pydantic_ai.providers.openai import OpenAIProvider

        p = OpenAIProvider(base_url=f"{PROXY}/v1", api_key="unused")
    else:
        from pydantic_ai.providers.openai_compatible import OpenAICompatibleProvider

        p = OpenAICompatibleProvider("gpt2giga", base_url=f"{PROXY}/v1", api_key="unused")
    return OpenAIChatModel("GigaChat", provider=p)


def anthropic_model():
    from pydantic_ai.models.anthropic import AnthropicModel
    from pydantic_ai.providers.anthropic import AnthropicProvider

    return AnthropicModel(
        "claude-sonnet-4-5", provider=AnthropicProvider(base_url=PROXY, api_key="unused")
    )


def tool_agent(model, output_type) -> dict:
    agent = Agent(
        model,
        output_type=output_type,
        instructions="Answer weather questions with the tool.",
        tools=[get_weather],
        retries=0,
    )
    result = agent.run_sync("What's the weather in Kazan?")
    out = result.output
    tool_returns = [
        part.content
        for msg in result.all_messages()
        for part in getattr(msg, "parts", [])
        if part.part_kind == "tool-return" and part.tool_name == "get_weather"
    ]
    return {
        "output": out.model_dump() if isinstance(out, BaseModel) else out,
        "tool_returns": tool_returns,
    }


async def stream_text(model) -> dict:
    agent = Agent(model)
    async with agent.run_stream("Tell me a story") as result:
        pieces = [p async for p in result.stream_text(delta=True, debounce_by=None)]
    return {"pieces": pieces, "text": "".join(pieces)}


async def stream_structured(model) -> dict:
    agent = Agent(
        model,
        output_type=Weather,
        instructions="Answer weather questions with the tool.",
        tools=[get_weather],
        retries=0,
    )
    async with agent.run_stream("What's the weather in Kazan?") as result:
        partials = [p.model_dump() async for p in result.stream_output(debounce_by=None)]
    return {"output": partials[-1], "partials": len(partials)}


def responses_model():
    from pydantic_ai.models.openai import OpenAIResponsesModel
    from pydantic_ai.providers.openai_compatible import OpenAICompatibleProvider

    p = OpenAICompatibleProvider("gpt2giga", base_url=f"{PROXY}/v1", api_key="unused")
    return OpenAIResponsesModel("GigaChat", provider=p)


def main() -> None:
    scenario = sys.argv[1]
    if scenario == "tool_structured":
        out = tool_agent(openai_model(sys.argv[2]), Weather)
    elif scenario == "tool_native_output":
        out = tool_agent(openai_model("openai"), NativeOutput(Weather))
    elif scenario == "tool_text":
        out = tool_agent(openai_model("openai"), str)
    elif scenario == "stream":
        out = asyncio.run(stream_text(openai_model("openai")))
    elif scenario == "stream_structured":
        out = asyncio.run(stream_structured(openai_model("openai_compatible")))
    elif scenario == "responses_tool_structured":
        out = tool_agent(responses_model(), Weather)
    elif scenario == "anthropic_tool_structured":
        out = tool_agent(anthropic_model(), Weather)
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    print("\n@@result " + json.dumps(out))


if __name__ == "__main__":
    main()
