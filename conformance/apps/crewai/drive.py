"""Runs a CrewAI crew (one agent with one tool, one task) against the proxy, as a user's
script would, and prints the outcome as one JSON line.

    drive.py <proxy base URL ending in /v1> <task marker> [stream]"""

from __future__ import annotations

import json
import sys

from crewai import LLM, Agent, Crew, Process, Task
from crewai.tools import tool

CALLS: list[dict] = []


@tool("lookup_stock")
def lookup_stock(sku: str) -> str:
    """Returns how many items of a product (by its SKU) are in the warehouse."""
    CALLS.append({"sku": sku})
    return f"{sku}: {sum(map(ord, sku))} items in stock"


def main() -> None:
    base_url, marker = sys.argv[1], sys.argv[2]
    stream = len(sys.argv) > 3 and sys.argv[3] == "stream"
    llm = LLM(model="openai/GigaChat", base_url=base_url, api_key="unused", temperature=0.2, stream=stream)
    agent = Agent(
        role="Warehouse clerk",
        goal="Answer stock questions with exact numbers from the warehouse system",
        backstory="You always check the warehouse system before answering.",
        tools=[lookup_stock],
        llm=llm,
        allow_delegation=False,
        max_iter=3,
        verbose=False,
    )
    task = Task(
        description=f"How many items of SKU-17 are in stock? ({marker})",
        expected_output="The number of items in stock.",
        agent=agent,
    )
    crew = Crew(agents=[agent], tasks=[task], process=Process.sequential, verbose=False)
    result = crew.kickoff()
    print(json.dumps({"raw": result.raw, "executed": CALLS}, ensure_ascii=False))


if __name__ == "__main__":
    main()
