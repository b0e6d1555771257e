"""OpenAI Python SDK, structured output: `chat.completions.parse` fills a pydantic model
(sent as a json_schema response_format; GigaChat answers with matching JSON).

Try it (no account):  gpt2giga --demo            then  python examples/python/openai_structured.py
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


class City(BaseModel):
    name: str
    country: str
    population: int
    landmarks: list[str]


# openai >= 1.92 has `chat.completions.parse`; older releases: `client.beta.chat.completions.parse`.
completion = client.chat.completions.parse(
    model=MODEL,
    messages=[{"role": "user", "content": "Describe the city of Kazan."}],
    response_format=City,
)
city = completion.choices[0].message.parsed
print("parsed City:", city.model_dump_json())
print(f"{city.name} ({city.country}), population {city.population}, {len(city.landmarks)} landmarks")
