"""OpenAI Agents SDK with its defaults: one client for every agent (set_default_openai_client),
the Responses API, a function tool, and the run streamed event by event.

Try it (no account):  gpt2giga --demo            then  python examples/python/agents_responses.py
Real GigaChat:        GIGACHAT_CREDENTIALS=<key> gpt2giga  then the same command.
Needs `pip install openai-agents`. Settings: GPT2GIGA_URL (default http://localhost:8090),
GPT2GIGA_API_KEY (only if the proxy requires a key), GPT2GIGA_MODEL (default GigaChat).
"""

import asyncio
import os

from agents import (
    Agent,
    ModelSettings,
    Runner,
    function_tool,
    set_default_openai_client,
    set_tracing_disabled,
)
from openai import AsyncOpenAI

URL = os.environ.get("GPT2GIGA_URL", "http://localhost:8090").rstrip("/")
MODEL = os.environ.get("GPT2GIGA_MODEL", "GigaChat")

# Traces would go to OpenAI's servers: keep them off. Every agent without a model object
# of its own uses this client, through the Responses API (the SDK's default).
set_tracing_disabled(True)
set_default_openai_client(
    AsyncOpenAI(base_url=f"{URL}/v1", api_key=os.environ.get("GPT2GIGA_API_KEY") or "unused"),
    use_for_tracing=False,
)


@function_tool
def find_flights(origin: str, destination: str) -> str:
    """Direct flights today between two cities.

    Args:
        origin: City of departure.
        destination: City of arrival.
    """
    # A stand-in for a real booking service.
    return f"{origin} -> {destination}: SU 1190 at 09:05, SU 1196 at 18:40"


# tool_choice forces the first step, so the run is the same on every model, the demo
# emulator included; the SDK resets it after the call. Leave it out to let the model decide.
agent = Agent(
    name="Travel agent",
    instructions="You find flights with the find_flights tool and summarise them.",
    tools=[find_flights],
    model=MODEL,
    model_settings=ModelSettings(tool_choice="find_flights"),
)


async def main() -> None:
    result = Runner.run_streamed(agent, "Which flights go from Moscow to Kazan today?")
    async for event in result.stream_events():
        if event.type == "raw_response_event" and event.data.type == "response.output_text.delta":
            print(event.data.delta, end="", flush=True)
        elif event.type == "run_item_stream_event" and event.item.type == "tool_call_output_item":
            print("tool result:", event.item.output)
    print()
    print("final answer:", result.final_output)


asyncio.run(main())
