"""Anthropic Python SDK, tool use round trip: the model asks for a tool, the script runs it and
returns a tool_result, the model answers with it.

Try it (no account):  gpt2giga --demo            then  python examples/python/anthropic_tools.py
Real GigaChat:        GIGACHAT_CREDENTIALS=<key> gpt2giga  then the same command.
Needs `pip install anthropic`. Settings: GPT2GIGA_URL (default http://localhost:8090),
GPT2GIGA_API_KEY (only if the proxy requires a key), GPT2GIGA_MODEL (default GigaChat).
"""

import json
import os

import anthropic

URL = os.environ.get("GPT2GIGA_URL", "http://localhost:8090").rstrip("/")
MODEL = os.environ.get("GPT2GIGA_MODEL", "GigaChat")
client = anthropic.Anthropic(base_url=URL, api_key=os.environ.get("GPT2GIGA_API_KEY") or "unused")


def get_stock(sku: str) -> dict:
    """A stand-in for a real inventory service."""
    return {"sku": sku, "in_stock": 17, "warehouse": "Kazan-2"}


tools = [
    {
        "name": "get_stock",
        "description": "How many items of a product are in stock",
        "input_schema": {
            "type": "object",
            "properties": {"sku": {"type": "string", "description": "Product code"}},
            "required": ["sku"],
        },
    }
]
messages = [{"role": "user", "content": "How many units of product A-100 do we have?"}]

# tool_choice forces the call, so the round trip happens on every model (the demo
# emulator calls only forced functions). Leave it out to let the model decide.
first = client.messages.create(
    model=MODEL,
    max_tokens=500,
    tools=tools,
    tool_choice={"type": "tool", "name": "get_stock"},
    messages=messages,
)
use = next(block for block in first.content if block.type == "tool_use")
result = get_stock(**use.input)
print(f"tool call: {use.name}({json.dumps(use.input)})")
print("tool result:", json.dumps(result))

messages.append({"role": "assistant", "content": first.content})
messages.append(
    {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": use.id, "content": json.dumps(result)}],
    }
)
final = client.messages.create(model=MODEL, max_tokens=500, tools=tools, messages=messages)
print("final answer:", "".join(b.text for b in final.content if b.type == "text"))
