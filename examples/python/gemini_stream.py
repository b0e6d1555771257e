"""Google Gen AI Python SDK (Gemini API): generate_content_stream, printing text as it arrives.

Try it (no account):  gpt2giga --demo            then  python examples/python/gemini_stream.py
Real GigaChat:        GIGACHAT_CREDENTIALS=<key> gpt2giga  then the same command.
Needs `pip install google-genai`. Settings: GPT2GIGA_URL (default http://localhost:8090),
GPT2GIGA_API_KEY (only if the proxy requires a key), GPT2GIGA_MODEL (default GigaChat).
"""

import os

from google import genai
from google.genai import types

URL = os.environ.get("GPT2GIGA_URL", "http://localhost:8090").rstrip("/")
MODEL = os.environ.get("GPT2GIGA_MODEL", "GigaChat")
client = genai.Client(
    api_key=os.environ.get("GPT2GIGA_API_KEY") or "unused",
    http_options=types.HttpOptions(base_url=URL),
)

chunks = 0
last = None
for chunk in client.models.generate_content_stream(
    model=MODEL, contents="Write a two-line poem about the Volga."
):
    chunks += 1
    last = chunk
    print(chunk.text or "", end="", flush=True)
print()
print(f"streamed {chunks} chunks, finish_reason: {last.candidates[0].finish_reason.name}")
