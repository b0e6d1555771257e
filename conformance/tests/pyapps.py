"""Running a Python application's driver script (`conformance/apps/<app>/drive.py`) in
that application's own pinned environment, pointed only at the proxy on loopback."""

from __future__ import annotations

import json
import os

import pytest

from helpers import app_dir, app_python, cli_env, run_cli


def run_driver(
    app: str,
    scenario: str,
    proxy_url: str,
    home: str,
    *args: str,
    timeout: float = 90.0,
    env: dict[str, str] | None = None,
) -> dict:
    """Runs `drive.py <scenario> <args…>` with `app`'s Python in a minimal environment
    (scratch HOME, `PROXY_URL`, nothing else inherited but PATH) and returns the JSON
    object the script prints last on a line of its own after `@@result ` (the
    application may print other things). A non-zero exit fails the test with its output."""
    python = app_python(app)
    proc = run_cli(
        [python, os.path.join(app_dir(app), "drive.py"), scenario, *args],
        cli_env(home, PROXY_URL=proxy_url, PYTHONUNBUFFERED="1", **(env or {})),
        cwd=home,
        timeout=timeout,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"{app} drive.py {scenario} exited with {proc.returncode}\n"
            f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-6000:]}",
            pytrace=False,
        )
    marker = "@@result "
    lines = [line for line in proc.stdout.splitlines() if line.startswith(marker)]
    assert lines, f"{app} drive.py {scenario} printed no result:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(lines[-1][len(marker) :])
