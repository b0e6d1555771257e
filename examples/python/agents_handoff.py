"""OpenAI Agents SDK: a triage agent hands off to a weather agent, which calls a function
tool and answers with its result (Chat Completions model, tracing off).

Try it (no account):  gpt2giga --demo            then  python examples/python/agents_handoff.py
Real GigaChat:        GIGACHAT_CREDENTIALS=<key> gpt2giga  then the same command.
Needs `pip install openai-agents`. Settings: GPT2GIGA_URL (default http://localhost:8090),
GPT2GIGA_API_KEY (only if the proxy requires a key), GPT2GIGA_MODEL (default GigaChat).
"""

import os

from agents import (
    Agent,
    ModelSettings,
    OpenAIChatCompletionsModel,
    Runner,
    function_tool,
    handoff,
    set_tracing_disabled,
)
from agents.extensions import handoff_filters
from openai import AsyncOpenAI

URL = os.environ.get("GPT2GIGA_URL", "http://localhost:8090").rstrip("/")
MODEL = os.environ.get("GPT2GIGA_MODEL", "GigaChat")

# Traces would go to OpenAI's servers: keep them off.
set_tracing_disabled(True)
client = AsyncOpenAI(base_url=f"{URL}/v1", api_key=os.environ.get("GPT2GIGA_API_KEY") or "unused")
model = OpenAIChatCompletionsModel(model=MODEL, openai_client=client)


@function_tool
def get_weather(city: str) -> str:
    """Current weather in a city.

    Args:
        city: The city name.
    """
    # A stand-in for a real weather service.
    return f"{city}: 18 degrees, light rain"


# tool_choice forces each agent's first step (the handoff, then the tool), so the run is
# the same on every model, the demo emulator included; the SDK resets tool_choice after a
# tool call (Agent.reset_tool_choice), so the weather agent then answers in words. Leave
# tool_choice out to let the model decide.
weather_agent = Agent(
    name="Weather agent",
    instructions="You answer weather questions. Always use the get_weather tool.",
    tools=[get_weather],
    model=model,
    model_settings=ModelSettings(tool_choice="get_weather"),
)
triage_agent = Agent(
    name="Triage agent",
    instructions="Hand weather questions over to the weather agent.",
    # remove_all_tools: the weather agent starts from the user's question, without the
    # transfer call in its history.
    handoffs=[
        handoff(
            weather_agent,
            on_handoff=lambda ctx: print("handoff: Triage agent -> Weather agent"),
            input_filter=handoff_filters.remove_all_tools,
        )
    ],
    model=model,
    model_settings=ModelSettings(tool_choice="transfer_to_weather_agent"),
)

result = Runner.run_sync(triage_agent, "What's the weather like in Saint Petersburg?")
for item in result.new_items:
    if item.type == "tool_call_output_item":
        print("tool result:", item.output)
print("answered by:", result.last_agent.name)
print("final answer:", result.final_output)
