"""OpenAI Python SDK, function calling round trip: the model calls a tool, the script runs it
and sends the result back, the model answers with it.

Try it (no account):  gpt2giga --demo            then  python examples/python/openai_tools.py
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


def get_weather(city: str) -> dict:
    """A stand-in for a real weather service."""
    return {"city": city, "temperature_c": 21, "sky": "clear"}


tools = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "City name"}},
                "required": ["city"],
            },
        },
    }
]
messages = [{"role": "user", "content": "What is the weather in Kazan right now?"}]

# tool_choice forces the call, so the round trip happens on every model (the demo
# emulator calls only forced functions). Leave it out to let the model decide.
first = client.chat.completions.create(
    model=MODEL,
    messages=messages,
    tools=tools,
    tool_choice={"type": "function", "function": {"name": "get_weather"}},
)
message = first.choices[0].message
call = message.tool_calls[0]
result = get_weather(**json.loads(call.function.arguments))
print(f"tool call: {call.function.name}({call.function.arguments})")
print("tool result:", json.dumps(result))

messages.append(message)  # the assistant turn with its tool call, as the SDK returned it
messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})
final = client.chat.completions.create(model=MODEL, messages=messages, tools=tools)
print("final answer:", final.choices[0].message.content)
