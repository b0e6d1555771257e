"""instructor over the openai client, through gpt2giga, as a user would write it.

    python drive.py <scenario> [mode]      (PROXY_URL = the proxy's root URL)

Prints `@@result <JSON>`: what the application ended up with."""

from __future__ import annotations

import json
import os
import sys

import instructor
from openai import OpenAI
from pydantic import BaseModel, Field, field_validator

PROXY = os.environ["PROXY_URL"]

MODES = {
    "tools": instructor.Mode.TOOLS,
    "json": instructor.Mode.JSON,
    "json_schema": instructor.Mode.JSON_SCHEMA,
    "md_json": instructor.Mode.MD_JSON,
}


class Address(BaseModel):
    city: str
    country: str


class User(BaseModel):
    """A user described in the text."""

    name: str = Field(description="full name")
    age: int = Field(description="age in years")
    address: Address | None = None

    @field_validator("name")
    @classmethod
    def name_in_capitals(cls, v: str) -> str:
        if v != v.upper():
            raise ValueError("name must be in capital letters")
        return v


def client(mode: str):
    return instructor.from_openai(
        OpenAI(base_url=f"{PROXY}/v1", api_key="unused", max_retries=0), mode=MODES[mode]
    )


MESSAGES = [
    {"role": "system", "content": "Extract the user."},
    {"role": "user", "content": "ADA LOVELACE is 36 and lives in London, UK."},
]


def main() -> None:
    scenario, mode = sys.argv[1], sys.argv[2]
    if scenario == "extract":
        user = client(mode).chat.completions.create(
            model="GigaChat", response_model=User, messages=MESSAGES, max_retries=0
        )
        out = {"user": user.model_dump()}
    elif scenario == "from_provider":
        c = instructor.from_provider(
            "openai/GigaChat", base_url=f"{PROXY}/v1", api_key="unused", mode=MODES[mode]
        )
        user = c.chat.completions.create(response_model=User, messages=MESSAGES, max_retries=0)
        out = {"user": user.model_dump()}
    elif scenario == "retry":
        user, completion = client(mode).chat.completions.create_with_completion(
            model="GigaChat", response_model=User, messages=MESSAGES, max_retries=2
        )
        out = {"user": user.model_dump(), "finish_reason": completion.choices[0].finish_reason}
    elif scenario == "partial":
        stream = client(mode).chat.completions.create_partial(
            model="GigaChat", response_model=User, messages=MESSAGES
        )
        partials = [p.model_dump() for p in stream]
        out = {"partials": len(partials), "user": partials[-1]}
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    print("\n@@result " + json.dumps(out))


if __name__ == "__main__":
    main()
