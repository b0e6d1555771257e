"""smolagents driven end to end through the proxy from its own pinned environment
(conformance/apps/smolagents/): a ToolCallingAgent on OpenAIServerModel calls a @tool and
finishes through `final_answer`; a CodeAgent runs the code GigaChat writes."""

from __future__ import annotations

import json

import pytest

from pyapps import run_driver

pytestmark = pytest.mark.timeout(120)

APP = "smolagents"
RESULT = "27 degrees and sunny in Kazan"


def drive(proxy_url, tmp_path, scenario):
    # HF_HUB_OFFLINE: smolagents pulls in huggingface_hub; nothing may leave loopback.
    return run_driver(APP, scenario, proxy_url, str(tmp_path), env={"HF_HUB_OFFLINE": "1"})


def script_tool_calling(mock) -> None:
    mock.function_call("get_weather", {"city": "Kazan"})
    # Only once the tool's observation is in the conversation does GigaChat finish:
    # this rule matches the observation text smolagents sends back.
    mock.add_rule(
        {"last_user_contains": RESULT},
        {
            "type": "function_call",
            "name": "final_answer",
            "arguments": {"answer": f"It is {RESULT}."},
        },
    )


def assert_tool_calling_requests(mock) -> None:
    first, second = mock.chat_requests()
    assert first["model"] == "GigaChat"
    names = sorted(f["name"] for f in first["functions"])
    assert names == ["final_answer", "get_weather"]
    weather = next(f for f in first["functions"] if f["name"] == "get_weather")
    assert weather["parameters"]["properties"]["city"]["type"] == "string"
    # tool_choice "required" with two tools: GigaChat cannot force "some function".
    assert first.get("function_call", "auto") == "auto"
    # smolagents sends its tool call and the observation back as plain assistant/user
    # text (its own role conversion), not as OpenAI tool messages.
    last = second["messages"][-1]
    assert last["role"] == "user"
    assert RESULT in last["content"]
    assert any(
        m["role"] == "assistant" and "get_weather" in json.dumps(m, ensure_ascii=False)
        for m in second["messages"]
    )


def test_tool_calling_agent(proxy_url, mock, tmp_path):
    script_tool_calling(mock)
    out = drive(proxy_url, tmp_path, "tool_calling")
    assert out["answer"] == f"It is {RESULT}."
    assert out["steps"][0]["tool_calls"] == [{"name": "get_weather", "arguments": {"city": "Kazan"}}]
    assert RESULT in out["steps"][0]["observations"]
    assert out["steps"][1]["tool_calls"][0]["name"] == "final_answer"
    assert_tool_calling_requests(mock)


def test_tool_calling_agent_streaming(proxy_url, mock, tmp_path):
    script_tool_calling(mock)
    out = drive(proxy_url, tmp_path, "tool_calling_stream")
    assert out["answer"] == f"It is {RESULT}."
    assert RESULT in out["steps"][0]["observations"]
    assert all(r["stream"] is True for r in mock.chat_requests())
    assert_tool_calling_requests(mock)


def test_code_agent(proxy_url, mock, tmp_path):
    mock.text(
        "Thought: I will ask the weather tool.\n"
        "<code>\nweather = get_weather(city=\"Kazan\")\nprint(weather)\n</code>"
    )
    mock.add_rule(
        {"last_user_contains": RESULT},
        {
            "type": "text",
            "text": "Thought: I have it.\n<code>\nfinal_answer(\"It is \" + weather)\n</code>",
        },
    )
    out = drive(proxy_url, tmp_path, "code")
    assert out["answer"] == f"It is {RESULT}"
    first, second = mock.chat_requests()
    assert "functions" not in first
    assert "get_weather" in first["messages"][0]["content"]
    assert RESULT in second["messages"][-1]["content"]


def test_tool_calling_agent_recovers_from_a_text_answer(proxy_url, mock, tmp_path):
    # GigaChat cannot be forced to call "some" function: it may answer with text. The
    # agent records that step's error, sends it back and goes on.
    mock.text("I think it is warm there.")
    script_tool_calling(mock)
    out = drive(proxy_url, tmp_path, "tool_calling")
    assert out["answer"] == f"It is {RESULT}."
    assert out["steps"][0]["error"]
    assert out["steps"][1]["tool_calls"] == [{"name": "get_weather", "arguments": {"city": "Kazan"}}]
    chats = mock.chat_requests()
    assert len(chats) == 3
    assert chats[1]["messages"][-2] == {"role": "assistant", "content": "I think it is warm there."}
    assert chats[1]["messages"][-1]["role"] == "user"
    assert "Error" in chats[1]["messages"][-1]["content"]
    call, observation = chats[2]["messages"][-2:]
    assert call["role"] == "assistant" and call["content"].startswith("Calling tools:")
    assert observation == {"role": "user", "content": f"Observation:\n{RESULT}"}
