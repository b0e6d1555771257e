"""Anthropic Python SDK, extended thinking: the model's reasoning arrives as a `thinking` block
before the answer (the proxy maps `thinking` to GigaChat's reasoning_effort).

Reasoning text comes only from a reasoning model (GigaChat-2-Reasoning); other models
answer without a thinking block.
Try it (no account):  gpt2giga --demo --proxy.pass-model  then
                      GPT2GIGA_MODEL=GigaChat-2-Reasoning python examples/python/anthropic_thinking.py
Real GigaChat:        GIGACHAT_CREDENTIALS=<key> GIGACHAT_MODEL=GigaChat-2-Reasoning gpt2giga
                      then  python examples/python/anthropic_thinking.py
Needs `pip install anthropic`. Settings: GPT2GIGA_URL (default http://localhost:8090),
GPT2GIGA_API_KEY (only if the proxy requires a key), GPT2GIGA_MODEL (default GigaChat).
"""

import os

import anthropic

URL = os.environ.get("GPT2GIGA_URL", "http://localhost:8090").rstrip("/")
MODEL = os.environ.get("GPT2GIGA_MODEL", "GigaChat")
client = anthropic.Anthropic(base_url=URL, api_key=os.environ.get("GPT2GIGA_API_KEY") or "unused")

message = client.messages.create(
    model=MODEL,
    max_tokens=8000,
    # budget_tokens picks GigaChat's effort: < 4096 low, < 16384 medium, else high.
    thinking={"type": "enabled", "budget_tokens": 4096},
    messages=[{"role": "user", "content": "Is 221 a prime number?"}],
)
for block in message.content:
    if block.type == "thinking":
        print("thinking:", block.thinking)
    elif block.type == "text":
        print("answer:", block.text)
print("stop_reason:", message.stop_reason)
