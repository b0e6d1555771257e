"""Small helpers shared by the conformance tests."""

from __future__ import annotations

import base64
import os
import struct
import zlib

_png_counter = 0


def png_1x1(rgb: tuple[int, int, int] | None = None) -> bytes:
    """A valid 1x1 RGB PNG. Without `rgb`, every call gives a different pixel (so
    different content hashes: the proxy's upload cache never links two tests)."""
    global _png_counter
    if rgb is None:
        _png_counter += 1
        n = _png_counter + (os.getpid() % 997) * 4096
        rgb = ((n >> 16) & 0xFF, (n >> 8) & 0xFF, n & 0xFF)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit, truecolour
    raw = b"\x00" + bytes(rgb)  # filter byte + one pixel
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def parse_method(client):
    """`chat.completions.parse` (openai >= 1.92), else the older `beta` location."""
    completions = client.chat.completions
    if hasattr(completions, "parse"):
        return completions.parse
    return client.beta.chat.completions.parse


# --------------------------------------------------------------------------------------
# CLI agents installed by run.sh into conformance/node_modules (see package.json)
# --------------------------------------------------------------------------------------

CONFORMANCE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NODE_BIN = os.path.join(CONFORMANCE_DIR, "node_modules", ".bin")


def cli_path(name: str) -> str:
    """The installed CLI `name`, or a test failure (never a skip) saying why not."""
    import pytest

    path = os.path.join(NODE_BIN, name)
    if not os.path.exists(path):
        pytest.fail(
            f"{name} is not installed at {path}: conformance/run.sh installs it with "
            f"`npm install` from conformance/package.json (is npm on PATH?)",
            pytrace=False,
        )
    return path


def cli_env(home: str, **extra: str) -> dict[str, str]:
    """A minimal environment for a CLI agent: nothing inherited but PATH (for node), a
    scratch HOME, no proxies, and `extra`. Nothing in it points off loopback."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": home,
        "LANG": "C.UTF-8",
        "NO_PROXY": "*",
        "no_proxy": "*",
        "TERM": "dumb",
        "NO_COLOR": "1",
    }
    env.update(extra)
    return env


def proc_detail(proc, out: int = 4000, err: int = 4000) -> str:
    """A finished process's exit code and the ends of its output, for assertion messages."""
    return (
        f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout[-out:]}\n"
        f"--- stderr ---\n{proc.stderr[-err:]}"
    )


def run_cli(argv: list[str], env: dict[str, str], cwd: str, timeout: float):
    """Runs a CLI to completion in its own process group; on timeout kills that group
    (by its id) and fails the test with what the CLI printed."""
    import pytest
    import signal
    import subprocess

    proc = subprocess.Popen(
        argv,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
        pytest.fail(
            f"{os.path.basename(argv[0])} did not finish in {timeout:.0f}s\n"
            f"--- stdout ---\n{out.decode(errors='replace')[-4000:]}\n"
            f"--- stderr ---\n{err.decode(errors='replace')[-4000:]}",
            pytrace=False,
        )
    return subprocess.CompletedProcess(
        argv, proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")
    )


# --------------------------------------------------------------------------------------
# Applications with their own pinned environments (conformance/apps/<app>/, built by run.sh)
# --------------------------------------------------------------------------------------

APPS_DIR = os.path.join(CONFORMANCE_DIR, "apps")


def app_dir(app: str) -> str:
    return os.path.join(APPS_DIR, app)


def app_python(app: str) -> str:
    """The Python of `app`'s own environment, or a test failure (never a skip) saying why not."""
    import pytest

    path = os.path.join(APPS_DIR, app, ".venv", "bin", "python")
    if not os.path.exists(path):
        pytest.fail(
            f"{app}'s environment is missing at {path}: conformance/run.sh builds it from "
            f"conformance/apps/{app}/requirements.lock",
            pytrace=False,
        )
    return path


def app_bin(app: str, name: str) -> str:
    """An executable of `app`'s environment: `.venv/bin/<name>` (Python) or
    `node_modules/.bin/<name>` (npm), or a test failure saying why not."""
    import pytest

    for path in (
        os.path.join(APPS_DIR, app, ".venv", "bin", name),
        os.path.join(APPS_DIR, app, "node_modules", ".bin", name),
    ):
        if os.path.exists(path):
            return path
    pytest.fail(
        f"{name} of {app} is not installed: conformance/run.sh installs it from "
        f"conformance/apps/{app}/ (requirements.lock or package-lock.json)",
        pytrace=False,
    )


def served(proxy_url: str, model: str, route: str = "/chat/completions", dialect: str = "openai") -> int:
    """The proxy's count of answered POSTs on `route` in `dialect` for the client model
    `model` (its /metrics): which API and model name an application used."""
    import re

    import httpx

    text = httpx.get(f"{proxy_url}/metrics", timeout=10.0, trust_env=False).text
    m = re.search(
        r'^gpt2giga_requests_total\{route="%s",dialect="%s",method="POST",status="200",model="%s"\} (\d+)'
        % (re.escape(route), re.escape(dialect), re.escape(model)),
        text,
        re.M,
    )
    return int(m.group(1)) if m else 0
