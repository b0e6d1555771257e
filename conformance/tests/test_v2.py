"""GigaChat API v2 and its built-in tools as the official SDKs and the CLI agents see
them: OpenAI Responses with `web_search` (the SDK parses `web_search_call` items and
`url_citation` annotations) and `image_generation` (a decodable image), Chat Completions
with `web_search_options`, Anthropic's `web_search` server tool (`server_tool_use`,
`web_search_tool_result`, citations), and Codex / Claude Code completing a tool round
trip over v2.

A proxy of its own runs with `--proxy.gigachat-api-mode v2`; the built-in tests would
reach v2 through the session proxy too, since built-ins always go to v2.
"""

from __future__ import annotations

import base64
import json
import tempfile
from pathlib import Path
from typing import Iterable

import anthropic
import openai
import pytest

import test_claude_code as claude_code
import test_codex as codex_cli
from conftest import (
    CREDENTIALS,
    clean_env,
    own_proxy,
)

V2 = "/api/v2/chat/completions"
CITED = "the emulator found two relevant pages"


@pytest.fixture(scope="module")
def v2_url(mock_url, workdir) -> Iterable[str]:
    env = clean_env(GIGACHAT_CREDENTIALS=CREDENTIALS, GIGACHAT_MODEL="GigaChat")
    yield from own_proxy(
        "gpt2giga (v2)", mock_url, workdir, env, "--proxy.gigachat-api-mode", "v2"
    )


@pytest.fixture
def oai(v2_url) -> Iterable[openai.OpenAI]:
    c = openai.OpenAI(base_url=f"{v2_url}/v1", api_key="test", max_retries=0, timeout=30.0)
    yield c
    c.close()


@pytest.fixture
def claude_v2(v2_url) -> Iterable[anthropic.Anthropic]:
    c = anthropic.Anthropic(base_url=v2_url, api_key="test", max_retries=0, timeout=30.0)
    yield c
    c.close()


def v2_chats(mock) -> list[dict]:
    return [r["json"] for r in mock.requests(V2)]


# ---- OpenAI Responses -------------------------------------------------------------------


def check_search_response(resp) -> None:
    call, msg = resp.output[0], resp.output[1]
    assert call.type == "web_search_call"
    assert call.status == "completed"
    assert call.action.type == "search"
    assert call.action.query
    text = msg.content[0]
    assert "[sources" not in text.text
    assert len(text.annotations) == 2
    a = text.annotations[0]
    assert a.type == "url_citation"
    assert a.url == "https://example.com/gigachat-emulator/search-result-1"
    assert text.text[a.start_index : a.end_index].endswith(CITED)
    assert resp.output_text == text.text


def test_responses_web_search_json_and_stream(oai, mock):
    tools = [{"type": "web_search_preview", "search_context_size": "low"}]
    resp = oai.responses.create(model="gpt-4o", input="latest python news", tools=tools)
    check_search_response(resp)
    assert v2_chats(mock)[-1]["tools"] == [{"web_search": {}}]

    kinds = []
    with oai.responses.stream(model="gpt-4o", input="latest python news", tools=tools) as s:
        for event in s:
            kinds.append(event.type)
        final = s.get_final_response()
    check_search_response(final)
    for k in (
        "response.web_search_call.in_progress",
        "response.web_search_call.searching",
        "response.web_search_call.completed",
        "response.output_text.annotation.added",
    ):
        assert k in kinds, kinds
    assert kinds.index("response.web_search_call.completed") < kinds.index(
        "response.output_text.delta"
    )


def test_responses_image_generation_gives_a_decodable_image(oai, mock):
    resp = oai.responses.create(
        model="gpt-4o",
        input="a small grey square",
        tools=[{"type": "image_generation"}],
        tool_choice={"type": "image_generation"},
    )
    call = resp.output[0]
    assert call.type == "image_generation_call"
    assert call.status == "completed"
    image = base64.b64decode(call.result)
    assert image[:2] == b"\xff\xd8" and image[-2:] == b"\xff\xd9", "a JPEG"
    assert "a small grey square" in resp.output_text
    sent = v2_chats(mock)[-1]
    assert sent["tool_config"] == {"mode": "forced", "tool_name": "image_generate"}


def test_responses_hosted_tool_without_equivalent_is_a_400(oai, mock):
    with pytest.raises(openai.BadRequestError) as e:
        oai.responses.create(
            model="gpt-4o",
            input="x",
            tools=[{"type": "file_search", "vector_store_ids": ["vs_1"]}],
        )
    assert "file_search" in str(e.value)


# ---- OpenAI Chat Completions ------------------------------------------------------------


def test_chat_completions_web_search_options(oai, mock):
    r = oai.chat.completions.create(
        model="gpt-4o-search-preview",
        messages=[{"role": "user", "content": "latest python news"}],
        web_search_options={"search_context_size": "medium"},
    )
    m = r.choices[0].message
    assert "[sources" not in m.content
    assert len(m.annotations) == 2
    a = m.annotations[0]
    assert a.type == "url_citation"
    c = a.url_citation
    assert c.url == "https://example.com/gigachat-emulator/search-result-1"
    assert m.content[c.start_index : c.end_index].endswith(CITED)

    with oai.chat.completions.stream(
        model="gpt-4o-search-preview",
        messages=[{"role": "user", "content": "latest python news"}],
        web_search_options={},
    ) as s:
        final = s.get_final_completion()
    fm = final.choices[0].message
    assert fm.content == m.content
    assert [x.url_citation.url for x in fm.annotations] == [x.url_citation.url for x in m.annotations]


# ---- Anthropic --------------------------------------------------------------------------


def check_search_message(msg) -> None:
    types = [b.type for b in msg.content]
    assert types == ["server_tool_use", "web_search_tool_result", "text"], types
    use, result, text = msg.content
    assert use.name == "web_search" and use.input["query"]
    assert result.tool_use_id == use.id
    assert [r.url for r in result.content] == [
        "https://example.com/gigachat-emulator/search-result-1",
        "https://example.org/gigachat-emulator/search-result-2",
    ]
    assert "[sources" not in text.text
    assert text.citations and text.citations[0].type == "web_search_result_location"
    assert text.citations[0].cited_text in text.text
    assert msg.usage.server_tool_use.web_search_requests == 1


def test_anthropic_web_search_server_tool(claude_v2, mock):
    tools = [{"type": "web_search_20250305", "name": "web_search", "max_uses": 2}]
    messages = [{"role": "user", "content": "latest python news"}]
    msg = claude_v2.messages.create(
        model="claude-sonnet-4-5", max_tokens=400, tools=tools, messages=messages
    )
    check_search_message(msg)
    with claude_v2.messages.stream(
        model="claude-sonnet-4-5", max_tokens=400, tools=tools, messages=messages
    ) as s:
        final = s.get_final_message()
    check_search_message(final)
    # The next turn sends the server tool blocks back: accepted, not passed to GigaChat.
    follow = claude_v2.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=400,
        tools=tools,
        messages=messages
        + [{"role": "assistant", "content": msg.content}, {"role": "user", "content": "thanks"}],
    )
    assert follow.stop_reason == "end_turn"
    sent = v2_chats(mock)[-1]
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]


# ---- Gemini -----------------------------------------------------------------------------


def test_gemini_google_search_grounding(v2_url, mock):
    from google import genai
    from google.genai import types

    client = genai.Client(
        api_key="test",
        http_options=types.HttpOptions(base_url=v2_url, timeout=30_000),
    )
    r = client.models.generate_content(
        model="gemini-2.5-flash",
        contents="latest python news",
        config=types.GenerateContentConfig(tools=[types.Tool(google_search=types.GoogleSearch())]),
    )
    assert "[sources" not in r.text
    g = r.candidates[0].grounding_metadata
    assert g.web_search_queries == ["latest python news"]
    assert [c.web.uri for c in g.grounding_chunks] == [
        "https://example.com/gigachat-emulator/search-result-1",
        "https://example.org/gigachat-emulator/search-result-2",
    ]
    seg = g.grounding_supports[0].segment
    assert r.text.encode()[seg.start_index : seg.end_index].decode() == seg.text
    assert seg.text.endswith(CITED)
    assert v2_chats(mock)[-1]["tools"] == [{"web_search": {}}]


# ---- CLI agents over v2 -----------------------------------------------------------------


@pytest.fixture
def codex_sandbox(v2_url):
    with tempfile.TemporaryDirectory(prefix="gpt2giga-codex-v2-") as d:
        codex_home, home, work = Path(d, "codex-home"), Path(d, "home"), Path(d, "work")
        for p in (codex_home, home, work):
            p.mkdir()
        # Codex's default: its hosted web_search tool is offered (GigaChat's built-in).
        config = codex_cli.CONFIG.replace('web_search = "disabled"\n', "")
        assert 'web_search = "disabled"' not in config
        (codex_home / "config.toml").write_text(config.format(base_url=f"{v2_url}/v1"))
        yield codex_home, home, work


def with_text(bodies: list[dict], text: str) -> list[dict]:
    return [b for b in bodies if text in json.dumps(b["messages"], ensure_ascii=False)]


def functions_of(body: dict) -> list[dict]:
    return [f for t in body.get("tools", []) for f in t.get("functions", {}).get("specifications", [])]


def check_round_trip_v2(second: dict, name: str, arguments: dict) -> dict:
    msgs = second["messages"]
    assert [m["role"] for m in msgs[-2:]] == ["assistant", "tool"], [m["role"] for m in msgs]
    calls = [p["function_call"] for p in msgs[-2]["content"] if "function_call" in p]
    assert [(c["name"], c["arguments"]) for c in calls] == [(name, arguments)]
    results = [p["function_result"] for p in msgs[-1]["content"]]
    assert [r["name"] for r in results] == [name]
    return results[0]["result"]


@pytest.mark.timeout(2 * codex_cli.TIMEOUT + 30)
def test_codex_tool_round_trip_over_v2(mock, codex_sandbox):
    mock.add_rule({"last_user_contains": "conformance-v2-discover"}, {"type": "text", "text": "ok"})
    assert codex_cli.codex(codex_sandbox, "Reply ok (conformance-v2-discover)") == "ok"
    first = with_text(v2_chats(mock), "conformance-v2-discover")[0]
    functions = functions_of(first)
    assert {"web_search": {}} in first["tools"], first["tools"]
    name, arguments = codex_cli.pick_tool(functions)

    mock.add_rule(
        {"last_user_contains": "conformance-v2-tool"},
        {"type": "function_call", "name": name, "arguments": arguments},
        times=1,
    )
    mock.add_rule("after_function_result", {"type": "text", "text": "The tool ran over v2."})
    answer = codex_cli.codex(codex_sandbox, "Use a tool, then answer (conformance-v2-tool)")
    assert answer == "The tool ran over v2."
    requests = with_text(v2_chats(mock), "conformance-v2-tool")
    assert len(requests) == 2
    result = check_round_trip_v2(requests[1], name, arguments)
    if name in ("exec_command", "shell"):
        assert "conformance-hi" in json.dumps(result)


@pytest.mark.timeout(claude_code.TIMEOUT + 30)
def test_claude_code_tool_round_trip_over_v2(v2_url, mock):
    with tempfile.TemporaryDirectory(prefix="gpt2giga-claude-v2-") as d:
        home, work = Path(d, "home"), Path(d, "work")
        home.mkdir()
        work.mkdir()
        target = work / "hello.txt"
        target.write_text("the secret word is mango\n")
        mock.add_rule(
            {"last_user_contains": "conformance-v2-read"},
            {"type": "function_call", "name": "Read", "arguments": {"file_path": str(target)}},
            times=1,
        )
        mock.add_rule("after_function_result", {"type": "text", "text": "The file says mango."})
        result = claude_code.claude(
            v2_url, home, work, "Use the Read tool on hello.txt (conformance-v2-read)",
            "--allowedTools", "Read",
        )
    assert result["result"] == "The file says mango.", result
    assert result["num_turns"] == 2
    requests = with_text(v2_chats(mock), "conformance-v2-read")
    assert len(requests) >= 2
    out = check_round_trip_v2(requests[-1], "Read", {"file_path": str(target)})
    assert "mango" in json.dumps(out, ensure_ascii=False)
