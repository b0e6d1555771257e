"""Fixtures of the SDK conformance suite.

One GigaChat emulator (`gigachat-mock`) and one proxy (`gpt2giga`) run for the whole
session, both on loopback, both started from a scratch working directory (so no stray
`.env` or log file is picked up or left behind). Every test starts from a reset
emulator: no scripted replies, rules, faults or recordings, default config.

Tests talk to the proxy with the official SDKs and check what reached the emulator
through its control API (`/__mock/...`, wrapped by :class:`Mock`).
"""

from __future__ import annotations

import base64
import collections
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterable

import anthropic
import httpx
import openai
import pytest

REPO = Path(__file__).resolve().parents[2]
BIN_DIR = Path(os.environ.get("CONFORMANCE_BIN_DIR", REPO / "target" / "debug"))
LOOPBACK = "127.0.0.1"
STARTUP_TIMEOUT = 20.0
# Any well-formed base64 authorization key: the emulator accepts every such key.
CREDENTIALS = base64.b64encode(b"conformance-client:conformance-secret").decode()


# --------------------------------------------------------------------------------------
# Child processes
# --------------------------------------------------------------------------------------


class Child:
    """A child process whose stdout and stderr are drained by background threads
    (so the pipes never fill), keeping the last lines for diagnostics."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], cwd: str):
        self.name = name
        self.lines: collections.deque[str] = collections.deque(maxlen=4000)
        self.total = 0  # lines ever seen, to slice "what was logged during a test"
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._threads = [
            threading.Thread(target=self._drain, args=(s,), daemon=True)
            for s in (self.proc.stdout, self.proc.stderr)
        ]
        for t in self._threads:
            t.start()

    _ANSI = re.compile(r"\x1b\[[0-9;]*m")

    def _drain(self, stream) -> None:
        for raw in iter(stream.readline, b""):
            line = self._ANSI.sub("", raw.decode("utf-8", "replace").rstrip("\n"))
            with self._cond:
                self.lines.append(line)
                self.total += 1
                self._cond.notify_all()
        stream.close()

    def wait_for_line(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                lines = list(self.lines)
                for line in lines[seen:]:
                    m = pattern.search(line)
                    if m:
                        return m
                seen = len(lines)
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}"
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"{self.name} did not start in {timeout}s:\n{self.tail()}")
                self._cond.wait(min(left, 0.2))

    def tail(self, since: int = 0, limit: int = 200) -> str:
        with self._lock:
            lines = list(self.lines)
            total = self.total
        first_kept = total - len(lines)
        start = max(since - first_kept, 0)
        return "\n".join(lines[start:][-limit:])

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM this child (by pid), then SIGKILL it if it does not exit in time."""
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=timeout)
            except ProcessLookupError:
                pass
        for t in self._threads:
            t.join(timeout=2)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def binary(name: str) -> str:
    path = BIN_DIR / name
    if not path.exists():
        pytest.exit(
            f"{path} is missing: run `cargo build --workspace --bins` first", returncode=2
        )
    return str(path)


def clean_env(**extra: str) -> dict[str, str]:
    """The inherited environment without any GIGACHAT_*/GPT2GIGA_* setting or proxy
    variable that could leak in, plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith(("GIGACHAT_", "GPT2GIGA_"))
        and k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    }
    env["NO_PROXY"] = "*"
    env.update(extra)
    return env


_PROCESSES: dict[str, Child] = {}


@pytest.fixture(scope="session")
def workdir():
    with tempfile.TemporaryDirectory(prefix="gpt2giga-conformance-") as d:
        yield d


@pytest.fixture(scope="session")
def mock_url(workdir) -> Iterable[str]:
    child = Child(
        "gigachat-mock",
        [binary("gigachat-mock"), "--host", LOOPBACK, "--port", "0"],
        env=clean_env(),
        cwd=workdir,
    )
    try:
        m = child.wait_for_line(
            re.compile(r"gigachat-mock listening on (http://127\.0\.0\.1:\d+)"), STARTUP_TIMEOUT
        )
        _PROCESSES["mock"] = child
        yield m.group(1)
    finally:
        _PROCESSES.pop("mock", None)
        child.stop()


def _wait_healthy(child: Child, url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0, trust_env=False) as http:
        while time.monotonic() < deadline:
            if not child.alive():
                return False
            try:
                if http.get(f"{url}/health").status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    return False


def own_proxy(name: str, mock_url: str, workdir: str, env: dict[str, str], *args: str) -> Iterable[str]:
    """A gpt2giga of a test module's own (extra `args`, its own `env`) on the session's
    emulator; yields its URL and stops it afterwards. For module fixtures."""
    tail = ""
    for _attempt in range(5):
        port = free_port()
        url = f"http://{LOOPBACK}:{port}"
        child = Child(
            name,
            [
                binary("gpt2giga"),
                "--proxy.host", LOOPBACK,
                "--proxy.port", str(port),
                *args,
                "--gigachat.base-url", f"{mock_url}/api/v1",
                "--gigachat.auth-url", f"{mock_url}/api/v2/oauth",
            ],
            env=env,
            cwd=workdir,
        )
        if _wait_healthy(child, url, STARTUP_TIMEOUT):
            try:
                yield url
            finally:
                child.stop()
            return
        tail = child.tail(limit=40)
        child.stop()
    pytest.fail(f"{name} did not start:\n{tail}")


@pytest.fixture(scope="session")
def proxy_url(mock_url, workdir) -> Iterable[str]:
    env = clean_env(GIGACHAT_CREDENTIALS=CREDENTIALS, GIGACHAT_MODEL="GigaChat")
    failures = []
    for _attempt in range(5):
        port = free_port()
        url = f"http://{LOOPBACK}:{port}"
        child = Child(
            "gpt2giga",
            [
                binary("gpt2giga"),
                "--proxy.host", LOOPBACK,
                "--proxy.port", str(port),
                "--proxy.log-level", "DEBUG",
                "--gigachat.base-url", f"{mock_url}/api/v1",
                "--gigachat.auth-url", f"{mock_url}/api/v2/oauth",
            ],
            env=env,
            cwd=workdir,
        )
        if _wait_healthy(child, url, STARTUP_TIMEOUT):
            _PROCESSES["proxy"] = child
            try:
                yield url
            finally:
                _PROCESSES.pop("proxy", None)
                child.stop()
            return
        child.stop()
        failures.append(f"port {port}:\n{child.tail(limit=40)}")
    pytest.exit("gpt2giga did not start:\n" + "\n\n".join(failures), returncode=3)


# --------------------------------------------------------------------------------------
# The emulator's control API
# --------------------------------------------------------------------------------------


class Mock:
    """Thin wrapper over the emulator's `/__mock/` control API."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=10.0, trust_env=False)

    def _call(self, method: str, path: str, body: Any = None, **params) -> Any:
        kwargs: dict[str, Any] = {}
        if body is not None or method == "POST":
            kwargs["json"] = body
        params = {k: v for k, v in params.items() if v is not None}
        r = self.http.request(method, path, params=params or None, **kwargs)
        assert r.status_code == 200, f"{method} {path} -> {r.status_code} {r.text}"
        return r.json()

    # script
    def push_reply(self, reply: dict) -> Any:
        return self._call("POST", "/__mock/replies", reply)

    def push_replies(self, replies: list[dict]) -> Any:
        return self._call("POST", "/__mock/replies", replies)

    def text(self, text: str) -> Any:
        return self.push_reply({"type": "text", "text": text})

    def function_call(self, name: str, arguments: dict | None = None) -> Any:
        return self.push_reply(
            {"type": "function_call", "name": name, "arguments": arguments or {}}
        )

    def add_rule(self, matcher: Any, reply: dict, times: int | None = None) -> Any:
        return self._call(
            "POST", "/__mock/rules", {"matcher": matcher, "reply": reply, "times": times}
        )

    def clear_script(self) -> Any:
        return self._call("DELETE", "/__mock/replies")

    # faults
    def fault(
        self,
        status: int,
        body: Any = None,
        retry_after: str | int | None = None,
        times: int = 1,
        path_suffix: str | None = None,
        raw: tuple[str, str] | None = None,
    ) -> Any:
        """Arms an error response. `body` is sent as JSON; `raw=(content_type, text)`
        sends a raw body instead; neither: GigaChat's `{"status":N,"message":…}`."""
        fault: dict[str, Any] = {"status": status, "times": times}
        if body is not None:
            fault["body"] = {"json": body}
        if raw is not None:
            fault["body"] = {"raw": {"content_type": raw[0], "body": raw[1]}}
        if retry_after is not None:
            fault["retry_after"] = str(retry_after)
        if path_suffix is not None:
            fault["path_suffix"] = path_suffix
        return self._call("POST", "/__mock/faults", fault)

    def clear_faults(self) -> Any:
        return self._call("DELETE", "/__mock/faults")

    def stream_fault(
        self, kind: str | None, after_chunks: int | None = None, times: int | None = 1
    ) -> Any:
        """Breaks the next `times` streams (`kind=None` clears): `disconnect` /
        `stall` after `after_chunks` frames, `truncate_final`, `wrong_content_type`."""
        if kind is None:
            r = self.http.post(
                "/__mock/stream-fault", content=b"null", headers={"content-type": "application/json"}
            )
            assert r.status_code == 200, r.text
            return r.json()
        fault: dict[str, Any] = {"kind": kind, "times": times}
        if after_chunks is not None:
            fault["after_chunks"] = after_chunks
        return self._call("POST", "/__mock/stream-fault", fault)

    def fail_401(self, count: int) -> Any:
        return self._call("POST", "/__mock/fail-401", {"count": count})

    # knobs
    def config(self, **patch: Any) -> dict:
        """Reads the config, or merges `patch` into it and returns the result."""
        if patch:
            return self._call("POST", "/__mock/config", patch)
        return self._call("GET", "/__mock/config")

    # observation
    def requests(self, path_suffix: str | None = None, limit: int | None = None) -> list[dict]:
        """Recorded requests, oldest first; JSON bodies are parsed under `json`."""
        return self._call("GET", "/__mock/requests", path_suffix=path_suffix, limit=limit)

    def chat_requests(self) -> list[dict]:
        """Bodies of the v1 chat requests the proxy sent, oldest first."""
        return [r["json"] for r in self.requests("/api/v1/chat/completions")]

    def last_chat(self) -> dict:
        chats = self.chat_requests()
        assert chats, "the emulator received no chat request"
        return chats[-1]

    def clear_requests(self) -> Any:
        return self._call("DELETE", "/__mock/requests")

    def stats(self) -> dict:
        return self._call("GET", "/__mock/stats")

    def reset(self) -> Any:
        return self._call("POST", "/__mock/reset")

    def close(self) -> None:
        self.http.close()


@pytest.fixture(scope="session")
def mock(mock_url) -> Iterable[Mock]:
    m = Mock(mock_url)
    yield m
    m.close()


@pytest.fixture(autouse=True)
def _fresh_emulator(request, mock: Mock, proxy_url: str):
    """Every test starts from a reset emulator with no recordings."""
    mock.reset()
    mock.clear_requests()
    proxy = _PROCESSES.get("proxy")
    request.node._proxy_log_from = proxy.total if proxy else 0
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach what the proxy logged during a failed test to its report."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        proxy = _PROCESSES.get("proxy")
        if proxy is not None:
            since = getattr(item, "_proxy_log_from", 0)
            report.sections.append(("gpt2giga log (this test)", proxy.tail(since, limit=80)))


# --------------------------------------------------------------------------------------
# Clients and small helpers
# --------------------------------------------------------------------------------------


@pytest.fixture
def warm_proxy(proxy_url, mock) -> int:
    """Makes sure the proxy holds a valid GigaChat token before the test (so counting
    OAuth calls or upstream statuses is not disturbed by the first log-in), then clears
    the recordings. Returns the OAuth counter at that point."""
    with httpx.Client(timeout=10.0, trust_env=False) as http:
        r = http.post(
            f"{proxy_url}/v1/chat/completions",
            json={"model": "warm-up", "messages": [{"role": "user", "content": "warm-up"}]},
        )
        assert r.status_code == 200, r.text
    mock.clear_requests()
    return mock.stats()["oauth_tokens"]


@pytest.fixture
def openai_client(proxy_url) -> Iterable[openai.OpenAI]:
    client = openai.OpenAI(base_url=f"{proxy_url}/v1", api_key="test", max_retries=0, timeout=30.0)
    yield client
    client.close()


@pytest.fixture
def claude(proxy_url) -> Iterable[anthropic.Anthropic]:
    """The official Anthropic client pointed at the proxy (no SDK retries)."""
    client = anthropic.Anthropic(base_url=proxy_url, api_key="test", max_retries=0, timeout=30.0)
    yield client
    client.close()
