"""Every runnable file under examples/ runs against `gpt2giga --demo`, as a user would run it.

The files are discovered by walking examples/, so a new example is run without touching
this module; it then fails until EXPECT says what its output must show. A file of a kind
this module cannot run fails too (only the entries of NOT_EXAMPLES are exempt).

The demo proxy is started here (its built-in emulator, no credentials), with an API key
required: every example must pass GPT2GIGA_API_KEY the way its SDK sends keys, so a
missing or misplaced key is a 401 and a failure. `--proxy.pass-model` lets the thinking
example pick the emulator's reasoning model through GPT2GIGA_MODEL.

Each example runs with a minimal environment (PATH, a scratch HOME, GPT2GIGA_URL,
GPT2GIGA_API_KEY) in a scratch directory: Python ones with this suite's interpreter,
Node ones with conformance/node_modules, shell ones with bash.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import LOOPBACK, REPO, STARTUP_TIMEOUT, Child, _wait_healthy, binary, clean_env, free_port
from helpers import CONFORMANCE_DIR, cli_env, run_cli

EXAMPLE_TIMEOUT = 90
pytestmark = pytest.mark.timeout(EXAMPLE_TIMEOUT + 30)

EXAMPLES = REPO / "examples"
API_KEY = "examples-test-key"

# Files under examples/ that are not examples to run, and why.
NOT_EXAMPLES = {
    "README.md": "the index of the examples",
    "model-aliases.yaml": "a configuration file, loaded by test_model_aliases.py",
    "node/package.json": "the Node examples' dependencies (the test uses conformance/node_modules)",
}
# Directories a user's local install may leave under examples/.
SKIPPED_DIRS = {"node_modules", "__pycache__", ".venv"}
SKIPPED_FILES = {"node/package-lock.json"}

# What each example's standard output must show: regular expressions, each searched
# line by line (re.MULTILINE). The demo emulator answers "Hello from the GigaChat
# emulator! You said: <last user text>", "The function <name> returned: <result>" after
# a tool result, schema-generated arguments for forced calls and a schema instance for
# structured output; the expectations lean on that to prove the request arrived whole.
EXPECT: dict[str, list[str]] = {
    "python/openai_chat.py": [
        r"^answer: .*You said: What is the capital of Tatarstan\?$",
        r"^finish_reason: stop$",
        r"^usage: [1-9]\d* in, [1-9]\d* out$",
    ],
    "python/openai_stream.py": [
        r"You said: Name three rivers of Russia\.$",
        r"^streamed [1-9]\d* pieces, finish_reason: stop$",
        r"^usage: [1-9]\d* tokens$",
    ],
    "python/openai_tools.py": [
        r'^tool call: get_weather\(\{"city":".+"\}\)$',
        r'^tool result: .*"temperature_c": 21',
        r'^final answer: .*get_weather.*"temperature_c":21',
    ],
    "python/openai_structured.py": [
        r'^parsed City: \{"name":".*","country":".*","population":-?\d+,"landmarks":\[.*\]\}$',
    ],
    "python/openai_image.py": [
        r"^answer: .*You said: What colour is this square\? One word\.$",
    ],
    "python/openai_embeddings.py": [
        r"^embeddings: 2 vectors of [1-9]\d* dimensions$",
        r"^cosine similarity: -?\d\.\d{3}$",
    ],
    "python/responses_basic.py": [
        r"^answer: .*You said: Which river flows through Kazan\?$",
        r"^status: completed \| id: resp_\w+$",
        r"^follow-up: .*You said: And which sea does it flow into\?$",
    ],
    "python/responses_tools.py": [
        r'^tool call: get_exchange_rate\(\{"currency":".+"\}\)$',
        r'^final answer: .*get_exchange_rate.*"rub":92\.5',
    ],
    "python/responses_structured.py": [
        r'^parsed Event: \{"title":".*","year":-?\d+,"participants":\[.*\]\}$',
    ],
    "python/anthropic_messages.py": [
        r"^answer: .*You said: Who wrote 'War and Peace'\?$",
        r"^stop_reason: end_turn$",
        r"^usage: [1-9]\d* in, [1-9]\d* out$",
    ],
    "python/anthropic_stream.py": [
        r"You said: Name three Russian composers\.$",
        r"^stop_reason: end_turn \| output tokens: [1-9]\d*$",
    ],
    "python/anthropic_tools.py": [
        r'^tool call: get_stock\(\{"sku": ".+"\}\)$',
        r'^final answer: .*get_stock.*"in_stock":17',
    ],
    "python/anthropic_thinking.py": [
        r"^thinking: .*Is 221 a prime number\?",
        r"^answer: .*You said: Is 221 a prime number\?$",
    ],
    "python/agents_handoff.py": [
        r"^handoff: Triage agent -> Weather agent$",
        r"^tool result: .+: 18 degrees, light rain$",
        r"^answered by: Weather agent$",
        r"^final answer: .*get_weather.*18 degrees, light rain",
    ],
    "python/agents_responses.py": [
        r"^tool result: .+ -> .+: SU 1190 at 09:05, SU 1196 at 18:40$",
        r"^final answer: .*find_flights.*SU 1190 at 09:05",
    ],
    "python/gemini_generate.py": [
        r"^answer: .*You said: What is the longest river in Europe\?$",
        r"^finish_reason: STOP$",
    ],
    "python/gemini_stream.py": [
        r"You said: Write a two-line poem about the Volga\.$",
        r"^streamed [1-9]\d* chunks, finish_reason: STOP$",
    ],
    "python/gemini_tools.py": [
        r'^tool call: get_train_times\(\{"origin": ".+", "destination": ".+"\}\)$',
        r'^final answer: .*get_train_times.*"departures":\["08:15","13:40"\]',
    ],
    "node/openai.mjs": [
        r"^answer: .*You said: What is the tallest mountain in Russia\?$",
        r"^streamed [1-9]\d* pieces, finish_reason: stop$",
    ],
    "node/anthropic.mjs": [
        r"^answer: .*You said: Who painted 'The Ninth Wave'\?$",
        r"^streamed; stop_reason: end_turn, output tokens: [1-9]\d*$",
    ],
    "node/gemini.mjs": [
        r"^answer: .*You said: What is the deepest lake in the world\?$",
        r"^streamed [1-9]\d* chunks, finish_reason: STOP$",
    ],
    "curl/chat_completions.sh": [
        r'"object":"chat\.completion"',
        r'"content":"[^"]*You said: What is the capital of Tatarstan\?"',
        r'"finish_reason":"stop"',
    ],
    "curl/chat_completions_stream.sh": [
        r'^data: \{.*"object":"chat\.completion\.chunk"',
        r'^data: \{.*"finish_reason":"stop"',
        r'^data: \{.*"usage":\{"prompt_tokens":[1-9]',
        r"^data: \[DONE\]$",
    ],
    "curl/responses.sh": [
        r'"object":"response"',
        r'"status":"completed"',
        r'"text":"[^"]*You said: Which river flows through Kazan\?"',
    ],
    "curl/anthropic_messages.sh": [
        r'"type":"message"',
        r'"text":"[^"]*You said: Who wrote War and Peace\?"',
        r'"stop_reason":"end_turn"',
    ],
    "curl/anthropic_count_tokens.sh": [
        r'^\{"input_tokens":[1-9]\d*\}$',
    ],
    "curl/embeddings.sh": [
        r'"object":"embedding","index":0,"embedding":\[-?\d',
        r'"object":"embedding","index":1,"embedding":\[-?\d',
    ],
    "curl/models.sh": [
        r'^\{"object":"list","data":\[\{"id":"GigaChat","object":"model"',
        r'^\{"id":"GigaChat","object":"model"',
    ],
    "curl/files.sh": [
        r'^\{"id":"[^"]+","object":"file",.*"filename":"notes\.txt","purpose":"user_data"',
        r'^\{"object":"list","data":\[.*"filename":"notes\.txt"',
        r"^# content\nKazan is the capital of the Republic of Tatarstan\.$",
        r'^\{"id":"[^"]+","object":"file","deleted":true\}$',
    ],
    "curl/gemini_generate.sh": [
        r'"text":"[^"]*You said: What is the longest river in Europe\?"',
        r'"finishReason":"STOP"',
    ],
    "curl/gemini_stream.sh": [
        r'^data: \{"candidates":\[\{"content":\{"parts":\[\{"text":',
        r'^data: \{.*"finishReason":"STOP"',
    ],
    "curl/health.sh": [
        r'^\{"status":"ok"',
        r'^\{"status":"ready"',
    ],
}

# Extra environment per example.
EXTRA_ENV = {
    # Reasoning text comes only from a reasoning model (here: passed through by
    # --proxy.pass-model to the emulator, which reasons for *Reasoning* models).
    "python/anthropic_thinking.py": {"GPT2GIGA_MODEL": "GigaChat-2-Reasoning"},
}

# Every example's header names these: how to run it on the demo and on a real account,
# and the shared address setting.
HEADER_MUST_NAME = ("gpt2giga --demo", "GIGACHAT_CREDENTIALS", "GPT2GIGA_URL")
HEADER_LINES = 16


def discover() -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(EXAMPLES):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        for name in filenames:
            rel = Path(dirpath, name).relative_to(EXAMPLES).as_posix()
            if rel not in NOT_EXAMPLES and rel not in SKIPPED_FILES:
                found.append(rel)
    return sorted(found)


ALL = discover()


@pytest.fixture(scope="module")
def demo_url(workdir):
    """`gpt2giga --demo` on a free loopback port, requiring API_KEY."""
    env = clean_env(GPT2GIGA_API_KEY=API_KEY)
    tail = ""
    for _attempt in range(5):
        port = free_port()
        url = f"http://{LOOPBACK}:{port}"
        child = Child(
            "gpt2giga --demo",
            [
                binary("gpt2giga"),
                "--demo",
                "--proxy.host", LOOPBACK,
                "--proxy.port", str(port),
                "--proxy.pass-model",
                "--proxy.enable-api-key-auth",
            ],
            env=env,
            cwd=workdir,
        )
        if _wait_healthy(child, url, STARTUP_TIMEOUT):
            try:
                yield url, child
            finally:
                child.stop()
            return
        tail = child.tail(limit=40)
        child.stop()
    pytest.fail(f"gpt2giga --demo did not start:\n{tail}")


def command(rel: str, scratch: str) -> list[str]:
    """How a user runs this kind of file; a kind without a runner fails the test."""
    path = EXAMPLES / rel
    suffix = path.suffix
    if suffix == ".py":
        return [sys.executable, str(path)]
    if suffix == ".sh":
        if shutil.which("curl") is None:
            pytest.fail("curl is not on PATH: the shell examples need it", pytrace=False)
        return [shutil.which("bash") or "/bin/bash", str(path)]
    if suffix == ".mjs":
        node = shutil.which("node")
        if node is None:
            pytest.fail("node is not on PATH: the Node examples need it", pytrace=False)
        modules = Path(CONFORMANCE_DIR, "node_modules")
        if not modules.is_dir():
            pytest.fail(
                f"{modules} is missing: conformance/run.sh installs it from conformance/package.json",
                pytrace=False,
            )
        # ES modules ignore NODE_PATH and resolve packages from the file's own
        # directory: run the example through a link in a directory whose node_modules
        # is the suite's (--preserve-symlinks-main keeps the link's location).
        os.symlink(modules, os.path.join(scratch, "node_modules"))
        link = os.path.join(scratch, path.name)
        os.symlink(path, link)
        return [node, "--preserve-symlinks-main", link]
    pytest.fail(
        f"examples/{rel}: no runner for {suffix or 'files without a suffix'} files; "
        f"teach test_examples.py to run it, or list it in NOT_EXAMPLES with the reason",
        pytrace=False,
    )


def test_every_expectation_names_an_existing_example():
    stale = sorted(set(EXPECT) - set(ALL))
    assert not stale, f"EXPECT names examples that no longer exist: {stale}"
    assert not sorted(set(EXTRA_ENV) - set(ALL))
    missing = sorted(name for name in NOT_EXAMPLES if not (EXAMPLES / name).exists())
    assert not missing, f"NOT_EXAMPLES names files that no longer exist: {missing}"


@pytest.mark.parametrize("rel", ALL)
def test_example(rel, demo_url):
    url, proxy = demo_url
    source = (EXAMPLES / rel).read_text(encoding="utf-8")
    header = "\n".join(source.splitlines()[:HEADER_LINES])
    for word in HEADER_MUST_NAME:
        assert word in header, f"examples/{rel}: its header comment does not mention {word}"

    with tempfile.TemporaryDirectory(prefix="gpt2giga-example-") as scratch:
        argv = command(rel, scratch)
        env = cli_env(
            scratch,
            GPT2GIGA_URL=url,
            GPT2GIGA_API_KEY=API_KEY,
            PYTHONUNBUFFERED="1",
            **EXTRA_ENV.get(rel, {}),
        )
        log_from = proxy.total
        run = run_cli(argv, env=env, cwd=scratch, timeout=EXAMPLE_TIMEOUT)

    report = (
        f"examples/{rel} exited with {run.returncode}\n--- stdout ---\n{run.stdout[-4000:]}"
        f"\n--- stderr ---\n{run.stderr[-4000:]}"
        f"\n--- gpt2giga --demo log ---\n{proxy.tail(log_from, limit=60)}"
    )
    assert run.returncode == 0, report
    assert "Traceback (most recent call last)" not in run.stdout + run.stderr, report
    expected = EXPECT.get(rel)
    assert expected, (
        f"examples/{rel} ran, but EXPECT has no entry for it: add the lines its output "
        f"must show\n{report}"
    )
    for pattern in expected:
        assert re.search(pattern, run.stdout, re.MULTILINE), f"no match for {pattern!r}\n{report}"
