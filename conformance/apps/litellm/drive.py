"""The LiteLLM SDK through gpt2giga, as a user would write it.

    python drive.py <scenario>      (PROXY_URL = the proxy's root URL)

Prints `@@result <JSON>`: what the application ended up with."""

from __future__ import annotations

import json
import os
import sys

import litellm
from pydantic import BaseModel

PROXY = os.environ["PROXY_URL"]

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


class Person(BaseModel):
    name: str
    age: int


def get_weather(city: str) -> str:
    return f"27 degrees and sunny in {city}"


def endpoint(model: str) -> dict:
    """`openai/…` goes to /v1/chat/completions, `anthropic/…` to /v1/messages."""
    base = f"{PROXY}/v1" if model.startswith("openai/") else PROXY
    return {"model": model, "api_base": base, "api_key": "unused", "num_retries": 0}


def tool_loop(model: str) -> dict:
    messages = [
        {"role": "system", "content": "Answer weather questions with the tool."},
        {"role": "user", "content": "What's the weather in Kazan?"},
    ]
    calls = []
    for _ in range(5):
        response = litellm.completion(messages=messages, tools=TOOLS, **endpoint(model))
        message = response.choices[0].message
        if not message.tool_calls:
            return {"answer": message.content, "calls": calls}
        messages.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls:
            args = json.loads(call.function.arguments)
            calls.append({"name": call.function.name, "args": args, "id": call.id})
            messages.append(
                {"role": "tool", "tool_call_id": call.id, "content": get_weather(**args)}
            )
    raise SystemExit("no final answer in 5 turns")


def stream(model: str) -> dict:
    pieces, finish = [], None
    for chunk in litellm.completion(
        messages=[{"role": "user", "content": "Tell me a story"}], stream=True, **endpoint(model)
    ):
        delta = chunk.choices[0].delta.content
        if delta:
            pieces.append(delta)
        finish = chunk.choices[0].finish_reason or finish
    return {"pieces": pieces, "text": "".join(pieces), "finish_reason": finish}


def stream_tools(model: str) -> dict:
    chunks = list(
        litellm.completion(
            messages=[{"role": "user", "content": "What's the weather in Kazan?"}],
            tools=TOOLS,
            stream=True,
            **endpoint(model),
        )
    )
    message = litellm.stream_chunk_builder(chunks).choices[0].message
    return {
        "calls": [
            {"name": c.function.name, "args": json.loads(c.function.arguments)}
            for c in message.tool_calls
        ]
    }


def main() -> None:
    scenario, model = sys.argv[1], sys.argv[2]
    if scenario == "tools":
        out = tool_loop(model)
    elif scenario == "stream":
        out = stream(model)
    elif scenario == "stream_tools":
        out = stream_tools(model)
    elif scenario == "structured":
        response = litellm.completion(
            messages=[{"role": "user", "content": "Ada Lovelace was 36."}],
            response_format=Person,
            **endpoint(model),
        )
        out = {"person": Person.model_validate_json(response.choices[0].message.content).model_dump()}
    elif scenario == "embeddings":
        response = litellm.embedding(
            input=["first document", "second document"], **endpoint(model)
        )
        vectors = [d["embedding"] for d in response.data]
        out = {"count": len(vectors), "dims": sorted({len(v) for v in vectors})}
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    print("\n@@result " + json.dumps(out))


if __name__ == "__main__":
    main()
