"""OpenAI Python SDK, Responses API: one request with instructions, then a follow-up that
continues the conversation through `previous_response_id` (the proxy stores responses).

Try it (no account):  gpt2giga --demo            then  python examples/python/responses_basic.py
Real GigaChat:        GIGACHAT_CREDENTIALS=<key> gpt2giga  then the same command.
Needs `pip install openai`. Settings: GPT2GIGA_URL (default http://localhost:8090),
GPT2GIGA_API_KEY (only if the proxy requires a key), GPT2GIGA_MODEL (default GigaChat).
"""

import os

from openai import OpenAI

URL = os.environ.get("GPT2GIGA_URL", "http://localhost:8090").rstrip("/")
MODEL = os.environ.get("GPT2GIGA_MODEL", "GigaChat")
client = OpenAI(base_url=f"{URL}/v1", api_key=os.environ.get("GPT2GIGA_API_KEY") or "unused")

first = client.responses.create(
    model=MODEL,
    instructions="Answer in one sentence.",
    input="Which river flows through Kazan?",
)
print("answer:", first.output_text)
print("status:", first.status, "| id:", first.id)

second = client.responses.create(
    model=MODEL,
    previous_response_id=first.id,  # the proxy sends the stored history along
    input="And which sea does it flow into?",
)
print("follow-up:", second.output_text)
print("usage:", second.usage.input_tokens, "in,", second.usage.output_tokens, "out")
