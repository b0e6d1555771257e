"""LlamaIndex through gpt2giga, as a user would write it.

    python drive.py <scenario>      (PROXY_URL = the proxy's root URL)

Prints `@@result <JSON>`: what the application ended up with."""

from __future__ import annotations

import asyncio
import json
import os
import sys

from llama_index.core.llms import ChatMessage
from llama_index.core.tools import FunctionTool
from llama_index.llms.openai_like import OpenAILike
from pydantic import BaseModel, Field

PROXY = os.environ["PROXY_URL"]


def get_weather(city: str) -> str:
    """Current weather in a city."""
    return f"27 degrees and sunny in {city}"


WEATHER_TOOL = FunctionTool.from_defaults(fn=get_weather)


class Person(BaseModel):
    """A person mentioned in the text."""

    name: str = Field(description="the person's name")
    age: int = Field(description="age in years")


def llm() -> OpenAILike:
    return OpenAILike(
        model="GigaChat",
        api_base=f"{PROXY}/v1",
        api_key="unused",
        is_chat_model=True,
        is_function_calling_model=True,
        context_window=128000,
        max_retries=0,
    )


async def function_agent() -> dict:
    from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult

    agent = FunctionAgent(
        tools=[WEATHER_TOOL], llm=llm(), system_prompt="Answer weather questions with the tool."
    )
    handler = agent.run("What's the weather in Kazan?")
    results = []
    async for event in handler.stream_events():
        if isinstance(event, ToolCallResult):
            results.append({"name": event.tool_name, "kwargs": event.tool_kwargs, "output": str(event.tool_output)})
    response = await handler
    return {"answer": str(response), "tool_results": results}


async def react_agent() -> dict:
    from llama_index.core.agent.workflow import ReActAgent

    agent = ReActAgent(tools=[WEATHER_TOOL], llm=llm())
    response = await agent.run("What's the weather in Kazan?")
    return {"answer": str(response)}


def main() -> None:
    scenario = sys.argv[1]
    if scenario == "function_agent":
        out = asyncio.run(function_agent())
    elif scenario == "react_agent":
        out = asyncio.run(react_agent())
    elif scenario == "predict_and_call":
        response = llm().predict_and_call([WEATHER_TOOL], "What's the weather in Kazan?")
        out = {"response": str(response), "sources": [s.tool_name for s in response.sources]}
    elif scenario == "structured_predict":
        from llama_index.core.prompts import PromptTemplate

        person = llm().structured_predict(
            Person, PromptTemplate("Extract the person from: {text}"), text="Ada Lovelace was 36."
        )
        out = {"type": type(person).__name__, "person": person.model_dump()}
    elif scenario == "structured_llm":
        sllm = llm().as_structured_llm(Person)
        response = sllm.chat([ChatMessage(role="user", content="Ada Lovelace was 36.")])
        out = {"person": response.raw.model_dump()}
    elif scenario == "stream_chat":
        pieces = [
            r.delta for r in llm().stream_chat([ChatMessage(role="user", content="Tell me a story")])
        ]
        out = {"pieces": pieces, "text": "".join(pieces)}
    elif scenario == "openai_class":
        from llama_index.llms.openai import OpenAI

        def ask(model: str) -> dict:
            try:
                client = OpenAI(model=model, api_base=f"{PROXY}/v1", api_key="unused", max_retries=0)
                return {"answer": str(client.complete("Hi"))}
            except Exception as e:  # what a user sees with a name the class does not know
                return {"error": f"{type(e).__name__}: {e}"}

        out = {"gpt-4o": ask("gpt-4o"), "GigaChat": ask("GigaChat")}
    elif scenario == "embeddings":
        from llama_index.embeddings.openai import OpenAIEmbedding
        from llama_index.embeddings.openai_like import OpenAILikeEmbedding

        like = OpenAILikeEmbedding(
            model_name="EmbeddingsGigaR", api_base=f"{PROXY}/v1", api_key="unused", max_retries=0
        )
        openai_emb = OpenAIEmbedding(
            model="text-embedding-3-small", api_base=f"{PROXY}/v1", api_key="unused", max_retries=0
        )
        docs = like.get_text_embedding_batch(["first document", "second document"])
        query = openai_emb.get_query_embedding("which document?")
        out = {"docs": [len(v) for v in docs], "query": len(query), "distinct": docs[0] != docs[1]}
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    print("\n@@result " + json.dumps(out))


if __name__ == "__main__":
    main()
