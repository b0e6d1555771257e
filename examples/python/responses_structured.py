"""OpenAI Python SDK, Responses API structured output: `responses.parse` fills a pydantic
model (sent as text.format json_schema).

Try it (no account):  gpt2giga --demo            then  python examples/python/responses_structured.py
Real GigaChat:        GIGACHAT_CREDENTIALS=<key> gpt2giga  then the same command.
Needs `pip install openai pydantic`. Settings: GPT2GIGA_URL (default http://localhost:8090),
GPT2GIGA_API_KEY (only if the proxy requires a key), GPT2GIGA_MODEL (default GigaChat).
"""

import os

from openai import OpenAI
from pydantic import BaseModel

URL = os.environ.get("GPT2GIGA_URL", "http://localhost:8090").rstrip("/")
MODEL = os.environ.get("GPT2GIGA_MODEL", "GigaChat")
client = OpenAI(base_url=f"{URL}/v1", api_key=os.environ.get("GPT2GIGA_API_KEY") or "unused")


class Event(BaseModel):
    title: str
    year: int
    participants: list[str]


response = client.responses.parse(
    model=MODEL,
    instructions="Extract the event.",
    input="In 1961 Yuri Gagarin became the first person to fly to space, aboard Vostok 1.",
    text_format=Event,
)
event = response.output_parsed
print("parsed Event:", event.model_dump_json())
print(f"{event.title}: {event.year}, {len(event.participants)} participant(s)")
