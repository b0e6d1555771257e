"""OpenAI Python SDK, Chat Completions: one question, one answer, with token usage.

Try it (no account):  gpt2giga --demo            then  python examples/python/openai_chat.py
Real GigaChat:        GIGACHAT_CREDENTIALS=<key> gpt2giga  then the same command.
Needs `pip install openai`. Settings: GPT2GIGA_URL (default http://localhost:8090),
GPT2GIGA_API_KEY (only if the proxy requires a key), GPT2GIGA_MODEL (default GigaChat).
"""

import os

from openai import OpenAI

URL = os.environ.get("GPT2GIGA_URL", "http://localhost:8090").rstrip("/")
MODEL = os.environ.get("GPT2GIGA_MODEL", "GigaChat")
# The SDK insists on a key; any text works while the proxy's API key is off.
client = OpenAI(base_url=f"{URL}/v1", api_key=os.environ.get("GPT2GIGA_API_KEY") or "unused")

completion = client.chat.completions.create(
    model=MODEL,
    messages=[
        {"role": "system", "content": "Answer in one sentence."},
        {"role": "user", "content": "What is the capital of Tatarstan?"},
    ],
    temperature=0.3,
    max_tokens=200,
)
choice = completion.choices[0]
print("answer:", choice.message.content)
print("finish_reason:", choice.finish_reason)
print("usage:", completion.usage.prompt_tokens, "in,", completion.usage.completion_tokens, "out")
