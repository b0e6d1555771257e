"""Google Gen AI Python SDK (Gemini API), function calling round trip: the model calls a
declared function, the script runs it and sends a function_response back, the model answers.

Try it (no account):  gpt2giga --demo            then  python examples/python/gemini_tools.py
Real GigaChat:        GIGACHAT_CREDENTIALS=<key> gpt2giga  then the same command.
Needs `pip install google-genai`. Settings: GPT2GIGA_URL (default http://localhost:8090),
GPT2GIGA_API_KEY (only if the proxy requires a key), GPT2GIGA_MODEL (default GigaChat).
"""

import json
import os

from google import genai
from google.genai import types

URL = os.environ.get("GPT2GIGA_URL", "http://localhost:8090").rstrip("/")
MODEL = os.environ.get("GPT2GIGA_MODEL", "GigaChat")
client = genai.Client(
    api_key=os.environ.get("GPT2GIGA_API_KEY") or "unused",
    http_options=types.HttpOptions(base_url=URL),
)


def get_train_times(origin: str, destination: str) -> dict:
    """A stand-in for a real timetable service."""
    return {"origin": origin, "destination": destination, "departures": ["08:15", "13:40"]}


declaration = types.FunctionDeclaration(
    name="get_train_times",
    description="Today's train departures between two cities",
    parameters_json_schema={
        "type": "object",
        "properties": {"origin": {"type": "string"}, "destination": {"type": "string"}},
        "required": ["origin", "destination"],
    },
)
tools = [types.Tool(function_declarations=[declaration])]
contents = [
    types.Content(role="user", parts=[types.Part(text="When do trains leave Moscow for Kazan today?")])
]

# Mode ANY forces the call, so the round trip happens on every model (the demo emulator
# calls only forced functions); the script runs the function itself (no automatic calling).
first = client.models.generate_content(
    model=MODEL,
    contents=contents,
    config=types.GenerateContentConfig(
        tools=tools,
        tool_config=types.ToolConfig(
            function_calling_config=types.FunctionCallingConfig(
                mode="ANY", allowed_function_names=["get_train_times"]
            )
        ),
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    ),
)
call = first.function_calls[0]
result = get_train_times(**call.args)
print(f"tool call: {call.name}({json.dumps(call.args)})")
print("tool result:", json.dumps(result))

contents.append(first.candidates[0].content)  # the model's turn with its function call
contents.append(
    types.Content(
        role="user", parts=[types.Part.from_function_response(name=call.name, response=result)]
    )
)
final = client.models.generate_content(
    model=MODEL,
    contents=contents,
    config=types.GenerateContentConfig(
        tools=tools,
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    ),
)
print("final answer:", final.text)
