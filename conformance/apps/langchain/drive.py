"""LangChain through gpt2giga, as a user would write it.

    python drive.py <scenario>      (PROXY_URL = the proxy's root URL)

Prints `@@result <JSON>`: what the application ended up with."""

from __future__ import annotations

import json
import os
import sys

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field

PROXY = os.environ["PROXY_URL"]


@tool
def get_weather(city: str) -> str:
    """Current weather in a city."""
    return f"27 degrees and sunny in {city}"


class Person(BaseModel):
    """A person mentioned in the text."""

    name: str = Field(description="the person's name")
    age: int = Field(description="age in years")


def chat_openai(**kw):
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        base_url=f"{PROXY}/v1", api_key="unused", model="GigaChat", max_retries=0, **kw
    )


def agent_loop(llm) -> dict:
    """bind_tools -> the model calls the tool -> we run it -> the final answer."""
    tools = {"get_weather": get_weather}
    model = llm.bind_tools(list(tools.values()))
    messages = [
        SystemMessage("Answer weather questions with the tool."),
        HumanMessage("What's the weather in Kazan?"),
    ]
    calls = []
    for _ in range(5):
        ai = model.invoke(messages)
        messages.append(ai)
        if not ai.tool_calls:
            return {"answer": ai.content, "calls": calls}
        for call in ai.tool_calls:
            calls.append({"name": call["name"], "args": call["args"], "id": call["id"]})
            messages.append(tools[call["name"]].invoke(call))
    raise SystemExit("the agent did not finish in 5 turns")


def main() -> None:
    scenario = sys.argv[1]
    if scenario == "openai_tools":
        out = agent_loop(chat_openai())
    elif scenario == "create_agent":
        from langchain.agents import create_agent

        class Weather(BaseModel):
            """The weather report."""

            city: str
            temperature_c: int

        agent = create_agent(
            chat_openai(),
            tools=[get_weather],
            system_prompt="Answer weather questions with the tool.",
            response_format=Weather,
        )
        state = agent.invoke({"messages": [{"role": "user", "content": "What's the weather in Kazan?"}]})
        tool_outputs = [m.content for m in state["messages"] if m.type == "tool"]
        out = {
            "structured": state["structured_response"].model_dump(),
            "tool_outputs": tool_outputs,
        }
    elif scenario == "responses_tools":
        out = agent_loop(chat_openai(use_responses_api=True))
        if isinstance(out["answer"], list):  # content blocks
            out["answer"] = "".join(b.get("text", "") for b in out["answer"])
    elif scenario == "openai_structured":
        method = sys.argv[2]
        llm = chat_openai().with_structured_output(Person, method=method)
        person = llm.invoke("Ada Lovelace was 36.")
        out = {"type": type(person).__name__, "person": person.model_dump()}
    elif scenario == "openai_stream":
        chunks = list(chat_openai(stream_usage=True).stream("Tell me a story"))
        pieces = [c.content for c in chunks]
        usage = [c.usage_metadata for c in chunks if c.usage_metadata]
        out = {"pieces": pieces, "text": "".join(pieces), "usage": usage}
    elif scenario == "openai_stream_tools":
        model = chat_openai().bind_tools([get_weather])
        full = None
        for chunk in model.stream("What's the weather in Kazan?"):
            full = chunk if full is None else full + chunk
        out = {"calls": [{"name": c["name"], "args": c["args"]} for c in full.tool_calls]}
    elif scenario == "anthropic_tools":
        from langchain_anthropic import ChatAnthropic

        llm = ChatAnthropic(
            base_url=PROXY, api_key="unused", model="claude-sonnet-4-5", max_retries=0
        )
        out = agent_loop(llm)
        if isinstance(out["answer"], list):  # content blocks
            out["answer"] = "".join(b.get("text", "") for b in out["answer"])
    elif scenario == "anthropic_stream":
        from langchain_anthropic import ChatAnthropic

        llm = ChatAnthropic(
            base_url=PROXY, api_key="unused", model="claude-sonnet-4-5", max_retries=0
        )
        pieces = [c.text for c in llm.stream("Tell me a story")]
        out = {"text": "".join(pieces)}
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    print("\n@@result " + json.dumps(out))


if __name__ == "__main__":
    main()
