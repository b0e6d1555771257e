"""Anthropic Python SDK, Messages API: a system prompt, a question, the answer and usage.

Try it (no account):  gpt2giga --demo            then  python examples/python/anthropic_messages.py
Real GigaChat:        GIGACHAT_CREDENTIALS=<key> gpt2giga  then the same command.
Needs `pip install anthropic`. Settings: GPT2GIGA_URL (default http://localhost:8090),
GPT2GIGA_API_KEY (only if the proxy requires a key), GPT2GIGA_MODEL (default GigaChat).
"""

import os

import anthropic

URL = os.environ.get("GPT2GIGA_URL", "http://localhost:8090").rstrip("/")
MODEL = os.environ.get("GPT2GIGA_MODEL", "GigaChat")
# Anthropic's base URL is the proxy's root (no /v1): the SDK adds /v1/messages itself.
client = anthropic.Anthropic(base_url=URL, api_key=os.environ.get("GPT2GIGA_API_KEY") or "unused")

message = client.messages.create(
    model=MODEL,
    max_tokens=300,
    system="Answer in one sentence.",
    messages=[{"role": "user", "content": "Who wrote 'War and Peace'?"}],
)
text = "".join(block.text for block in message.content if block.type == "text")
print("answer:", text)
print("stop_reason:", message.stop_reason)
print("usage:", message.usage.input_tokens, "in,", message.usage.output_tokens, "out")
