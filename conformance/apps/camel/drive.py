"""Runs a CAMEL `ChatAgent` with one `FunctionTool` against the proxy, as a user's script
would, and prints the step's outcome as one JSON line.

    drive.py <proxy base URL ending in /v1> <prompt> [stream]"""

from __future__ import annotations

import json
import sys

from camel.agents import ChatAgent
from camel.models import ModelFactory
from camel.toolkits import FunctionTool
from camel.types import ModelPlatformType
from camel.utils import BaseTokenCounter

CALLS: list[dict] = []


def get_exchange_rate(currency: str) -> str:
    r"""Returns today's exchange rate of a currency to the rouble.

    Args:
        currency (str): The ISO code of the currency, e.g. "CNY".

    Returns:
        str: The rate as text.
    """
    CALLS.append({"currency": currency})
    return f"1 {currency} = {len(currency) * 4.25:.2f} RUB"


class CharTokenCounter(BaseTokenCounter):
    """An offline estimate (4 characters a token). CAMEL's default counter for
    OpenAI-compatible models downloads tiktoken's o200k_base encoding on first use,
    which a machine without internet access cannot do."""

    def count_tokens_from_messages(self, messages) -> int:
        return sum(len(json.dumps(m, ensure_ascii=False, default=str)) // 4 + 1 for m in messages)

    def encode(self, text: str) -> list[int]:
        return [ord(c) for c in text]

    def decode(self, token_ids: list[int]) -> str:
        return "".join(chr(t) for t in token_ids)


def main() -> None:
    base_url, prompt = sys.argv[1], sys.argv[2]
    stream = len(sys.argv) > 3 and sys.argv[3] == "stream"
    model = ModelFactory.create(
        model_platform=ModelPlatformType.OPENAI_COMPATIBLE_MODEL,
        model_type="GigaChat",
        url=base_url,
        api_key="unused",
        model_config_dict={"temperature": 0.2, "stream": stream},
        token_counter=CharTokenCounter(),
    )
    agent = ChatAgent(
        system_message="You are a helpful finance assistant.",
        model=model,
        tools=[FunctionTool(get_exchange_rate)],
        # Streamed parts carry only their new text (CAMEL's recommended setting).
        stream_accumulate=False,
    )
    response = agent.step(prompt)
    if stream:
        # A streaming step yields partial responses; the answer is their texts joined.
        parts, last = [], None
        for last in response:
            parts.extend(m.content for m in last.msgs)
        content, info, terminated = "".join(parts), last.info if last else {}, last.terminated if last else None
    else:
        content = response.msgs[0].content if response.msgs else None
        info, terminated = response.info, response.terminated
    print(
        json.dumps(
            {
                "content": content,
                "tool_calls": [
                    {"name": t.tool_name, "args": t.args, "result": t.result}
                    for t in info.get("tool_calls", [])
                ],
                "executed": CALLS,
                "terminated": terminated,
            },
            ensure_ascii=False,
            default=str,
        )
    )

if __name__ == "__main__":
    main()
