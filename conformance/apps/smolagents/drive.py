"""smolagents through gpt2giga, as a user would write it.

    python drive.py <scenario>      (PROXY_URL = the proxy's root URL)

Prints `@@result <JSON>`: what the application ended up with."""

from __future__ import annotations

import json
import os
import sys

from smolagents import CodeAgent, OpenAIServerModel, ToolCallingAgent, tool

PROXY = os.environ["PROXY_URL"]


@tool
def get_weather(city: str) -> str:
    """Current weather in a city.

    Args:
        city: the city's name
    """
    return f"27 degrees and sunny in {city}"


def model() -> OpenAIServerModel:
    return OpenAIServerModel(
        model_id="GigaChat", api_base=f"{PROXY}/v1", api_key="unused"
    )


def main() -> None:
    scenario = sys.argv[1]
    if scenario == "tool_calling":
        agent = ToolCallingAgent(tools=[get_weather], model=model(), max_steps=4, verbosity_level=0)
    elif scenario == "tool_calling_stream":
        agent = ToolCallingAgent(
            tools=[get_weather], model=model(), max_steps=4, verbosity_level=0, stream_outputs=True
        )
    elif scenario == "code":
        agent = CodeAgent(tools=[get_weather], model=model(), max_steps=3, verbosity_level=0)
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    answer = agent.run("What's the weather in Kazan?")
    steps = [
        {
            "tool_calls": [
                {"name": c.name, "arguments": c.arguments} for c in (getattr(s, "tool_calls", None) or [])
            ],
            "observations": getattr(s, "observations", None),
            "error": str(s.error) if getattr(s, "error", None) else None,
        }
        for s in agent.memory.steps
        if type(s).__name__ == "ActionStep"
    ]
    print("\n@@result " + json.dumps({"answer": str(answer), "steps": steps}))


if __name__ == "__main__":
    main()
