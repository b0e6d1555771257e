"""OpenAI Python SDK, Chat Completions streaming: print the answer as it arrives.

Try it (no account):  gpt2giga --demo            then  python examples/python/openai_stream.py
Real GigaChat:        GIGACHAT_CREDENTIALS=<key> gpt2giga  then the same command.
Needs `pip install openai`. Settings: GPT2GIGA_URL (default http://localhost:8090),
GPT2GIGA_API_KEY (only if the proxy requires a key), GPT2GIGA_MODEL (default GigaChat).
"""

import os

from openai import OpenAI

URL = os.environ.get("GPT2GIGA_URL", "http://localhost:8090").rstrip("/")
MODEL = os.environ.get("GPT2GIGA_MODEL", "GigaChat")
client = OpenAI(base_url=f"{URL}/v1", api_key=os.environ.get("GPT2GIGA_API_KEY") or "unused")

stream = client.chat.completions.create(
    model=MODEL,
    messages=[{"role": "user", "content": "Name three rivers of Russia."}],
    stream=True,
    # Ask for a last chunk with the token usage.
    stream_options={"include_usage": True},
)
pieces = 0
finish_reason = None
usage = None
for chunk in stream:
    if chunk.usage is not None:
        usage = chunk.usage
    for choice in chunk.choices:
        if choice.delta.content:
            pieces += 1
            print(choice.delta.content, end="", flush=True)
        if choice.finish_reason:
            finish_reason = choice.finish_reason
print()
print(f"streamed {pieces} pieces, finish_reason: {finish_reason}")
if usage is not None:
    print("usage:", usage.total_tokens, "tokens")
