"""Runs a Qwen-Agent `Assistant` with one registered tool against the proxy, as a user's
script would, and prints the run's messages as one JSON line.

    drive.py <proxy base URL ending in /v1> <prompt> <native|prompted>

`native` sets `use_raw_api` (tools travel as OpenAI `tools`, results as `tool` messages);
`prompted` is Qwen-Agent's default (tools described in the system prompt, calls parsed
from `<tool_call>` text, results sent back as `<tool_response>` text)."""

from __future__ import annotations

import json
import sys

import json5
from qwen_agent.agents import Assistant
from qwen_agent.tools.base import BaseTool, register_tool

CALLS: list[dict] = []


@register_tool("get_order_status")
class GetOrderStatus(BaseTool):
    description = "Look up the delivery status of an order by its number."
    parameters = {
        "type": "object",
        "properties": {"order_id": {"type": "string", "description": "The order number"}},
        "required": ["order_id"],
    }

    def call(self, params: str | dict, **kwargs) -> str:
        args = json5.loads(params) if isinstance(params, str) else params
        CALLS.append(args)
        return json.dumps({"order_id": args["order_id"], "status": f"shipped-{args['order_id'][::-1]}"})


def main() -> None:
    base_url, prompt, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    generate_cfg: dict = {"max_retries": 0}
    if mode == "native":
        generate_cfg["use_raw_api"] = True
    elif mode != "prompted":
        raise SystemExit(f"unknown mode {mode!r}")
    llm = {
        "model": "GigaChat",
        "model_type": "oai",
        "model_server": base_url,
        "api_key": "unused",
        "generate_cfg": generate_cfg,
    }
    bot = Assistant(llm=llm, function_list=["get_order_status"], name="orders")
    final: list = []
    for final in bot.run(messages=[{"role": "user", "content": prompt}]):
        pass
    print(json.dumps({"messages": final, "tool_calls": CALLS}, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
