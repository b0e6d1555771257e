"""OpenAI Python SDK, Responses API function calling: the model calls a tool, the script
sends only the tool's output back with `previous_response_id`, the model answers with it.

Try it (no account):  gpt2giga --demo            then  python examples/python/responses_tools.py
Real GigaChat:        GIGACHAT_CREDENTIALS=<key> gpt2giga  then the same command.
Needs `pip install openai`. Settings: GPT2GIGA_URL (default http://localhost:8090),
GPT2GIGA_API_KEY (only if the proxy requires a key), GPT2GIGA_MODEL (default GigaChat).
"""

import json
import os

from openai import OpenAI

URL = os.environ.get("GPT2GIGA_URL", "http://localhost:8090").rstrip("/")
MODEL = os.environ.get("GPT2GIGA_MODEL", "GigaChat")
client = OpenAI(base_url=f"{URL}/v1", api_key=os.environ.get("GPT2GIGA_API_KEY") or "unused")


def get_exchange_rate(currency: str) -> dict:
    """A stand-in for a real exchange-rate service."""
    return {"currency": currency, "rub": 92.5}


tools = [
    {
        "type": "function",
        "name": "get_exchange_rate",
        "description": "Current exchange rate of a currency in roubles",
        "parameters": {
            "type": "object",
            "properties": {"currency": {"type": "string", "description": "ISO code, e.g. USD"}},
            "required": ["currency"],
            "additionalProperties": False,
        },
        "strict": True,
    }
]

# tool_choice forces the call, so the round trip happens on every model (the demo
# emulator calls only forced functions). Leave it out to let the model decide.
first = client.responses.create(
    model=MODEL,
    input="How many roubles is one US dollar today?",
    tools=tools,
    tool_choice={"type": "function", "name": "get_exchange_rate"},
)
call = next(item for item in first.output if item.type == "function_call")
result = get_exchange_rate(**json.loads(call.arguments))
print(f"tool call: {call.name}({call.arguments})")
print("tool result:", json.dumps(result))

final = client.responses.create(
    model=MODEL,
    previous_response_id=first.id,
    input=[{"type": "function_call_output", "call_id": call.call_id, "output": json.dumps(result)}],
    tools=tools,
)
print("final answer:", final.output_text)
