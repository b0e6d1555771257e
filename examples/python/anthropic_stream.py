"""Anthropic Python SDK, Messages streaming: print text as it arrives, then the final message
the SDK assembled from the stream.

Try it (no account):  gpt2giga --demo            then  python examples/python/anthropic_stream.py
Real GigaChat:        GIGACHAT_CREDENTIALS=<key> gpt2giga  then the same command.
Needs `pip install anthropic`. Settings: GPT2GIGA_URL (default http://localhost:8090),
GPT2GIGA_API_KEY (only if the proxy requires a key), GPT2GIGA_MODEL (default GigaChat).
"""

import os

import anthropic

URL = os.environ.get("GPT2GIGA_URL", "http://localhost:8090").rstrip("/")
MODEL = os.environ.get("GPT2GIGA_MODEL", "GigaChat")
client = anthropic.Anthropic(base_url=URL, api_key=os.environ.get("GPT2GIGA_API_KEY") or "unused")

with client.messages.stream(
    model=MODEL,
    max_tokens=300,
    messages=[{"role": "user", "content": "Name three Russian composers."}],
) as stream:
    for text in stream.text_stream:
        print(text, end="", flush=True)
    final = stream.get_final_message()
print()
print("stop_reason:", final.stop_reason, "| output tokens:", final.usage.output_tokens)
