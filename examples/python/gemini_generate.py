"""Google Gen AI Python SDK (Gemini API): generate_content with a system instruction.

Try it (no account):  gpt2giga --demo            then  python examples/python/gemini_generate.py
Real GigaChat:        GIGACHAT_CREDENTIALS=<key> gpt2giga  then the same command.
Needs `pip install google-genai`. Settings: GPT2GIGA_URL (default http://localhost:8090),
GPT2GIGA_API_KEY (only if the proxy requires a key), GPT2GIGA_MODEL (default GigaChat).
"""

import os

from google import genai
from google.genai import types

URL = os.environ.get("GPT2GIGA_URL", "http://localhost:8090").rstrip("/")
MODEL = os.environ.get("GPT2GIGA_MODEL", "GigaChat")
# The base URL is the proxy's root: the SDK adds /v1beta/models/<model>:generateContent.
client = genai.Client(
    api_key=os.environ.get("GPT2GIGA_API_KEY") or "unused",
    http_options=types.HttpOptions(base_url=URL),
)

response = client.models.generate_content(
    model=MODEL,
    contents="What is the longest river in Europe?",
    config=types.GenerateContentConfig(
        system_instruction="Answer in one sentence.", temperature=0.3, max_output_tokens=200
    ),
)
print("answer:", response.text)
print("finish_reason:", response.candidates[0].finish_reason.name)
print("usage:", response.usage_metadata.total_token_count, "tokens")
