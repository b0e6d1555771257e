"""OpenAI Python SDK, embeddings: vectors for two texts and their cosine similarity.

Try it (no account):  gpt2giga --demo            then  python examples/python/openai_embeddings.py
Real GigaChat:        GIGACHAT_CREDENTIALS=<key> gpt2giga  then the same command.
Needs `pip install openai`. Settings: GPT2GIGA_URL (default http://localhost:8090),
GPT2GIGA_API_KEY (only if the proxy requires a key). The proxy serves every embeddings
request with its --proxy.embeddings model (default EmbeddingsGigaR) unless a model alias
names another one, so the model name sent here is informational.
"""

import math
import os

from openai import OpenAI

URL = os.environ.get("GPT2GIGA_URL", "http://localhost:8090").rstrip("/")
client = OpenAI(base_url=f"{URL}/v1", api_key=os.environ.get("GPT2GIGA_API_KEY") or "unused")

texts = ["Kazan is a city on the Volga.", "The Volga flows through Kazan."]
response = client.embeddings.create(model="EmbeddingsGigaR", input=texts)
a, b = (item.embedding for item in response.data)
cosine = sum(x * y for x, y in zip(a, b)) / (math.hypot(*a) * math.hypot(*b))
print(f"embeddings: {len(response.data)} vectors of {len(a)} dimensions")
print(f"cosine similarity: {cosine:.3f}")
