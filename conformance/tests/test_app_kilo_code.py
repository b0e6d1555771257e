"""Kilo Code's CLI (`kilo`, pinned in conformance/apps/kilo-code/) run headless
(`kilo run`) with a custom provider in kilo.json that points at the proxy — through
`@ai-sdk/openai-compatible` (Chat Completions) and through `@ai-sdk/anthropic` (Messages):
it reads a file, edits it on disk with its `edit` tool and finishes with an answer that
uses the tool's result. Telemetry is off and Kilo's own services, the model
catalogue and the npm registry are pointed at a dead loopback port, so nothing leaves the
machine. Guide: integrations/kilo-code/README.md."""

from __future__ import annotations

import json
import os

import pytest

import edit_task
from helpers import app_dir, cli_env, served

pytestmark = pytest.mark.timeout(240)

APP = "kilo-code"
MODEL = "GigaChat-2-Max"
# A loopback port nothing listens on, for every service Kilo would call besides the proxy.
DEAD = "http://127.0.0.1:9"


def kilo_bin() -> str:
    """The pinned Kilo CLI binary (`@kilocode/cli-linux-x64`, what `@kilocode/cli`
    installs on Linux x64), or a test failure saying why it is missing."""
    path = os.path.join(app_dir(APP), "node_modules", "@kilocode", "cli-linux-x64", "bin", "kilo")
    if not os.path.exists(path):
        pytest.fail(
            f"Kilo CLI is not installed at {path}: conformance/run.sh installs it with "
            f"`npm ci` from conformance/apps/{APP}/package-lock.json",
            pytrace=False,
        )
    return path


# provider id -> (AI SDK package, the proxy route it must use, that route's dialect)
PROVIDERS = {
    "gigachat": ("@ai-sdk/openai-compatible", "/chat/completions", "openai"),
    "gigachat-anthropic": ("@ai-sdk/anthropic", "/messages", "anthropic"),
}


def kilo_config(proxy_url: str, provider: str) -> dict:
    """The kilo.json of the guide (integrations/kilo-code/README.md)."""
    return {
        "$schema": "https://app.kilo.ai/config.json",
        "provider": {
            provider: {
                "npm": PROVIDERS[provider][0],
                "name": "GigaChat (gpt2giga)",
                "options": {"baseURL": f"{proxy_url}/v1", "apiKey": "unused"},
                "models": {
                    MODEL: {
                        "name": "GigaChat 2 Max",
                        "tool_call": True,
                        "limit": {"context": 128000, "output": 8192},
                    }
                },
            }
        },
        "model": f"{provider}/{MODEL}",
        "small_model": f"{provider}/{MODEL}",
        "autoupdate": False,
        "share": "disabled",
    }


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_kilo_cli_edits_a_file(proxy_url, mock, tmp_path, provider):
    kilo = kilo_bin()
    home = tmp_path / "home"
    project = tmp_path / "project"
    home.mkdir()
    project.mkdir()
    (project / "kilo.json").write_text(json.dumps(kilo_config(proxy_url, provider), indent=2))
    _npm, route, dialect = PROVIDERS[provider]
    served_before = served(proxy_url, MODEL, route, dialect)
    target = edit_task.greet_file(project)
    edit_task.script(mock, target)

    env = cli_env(
        str(home),
        KILO_TELEMETRY_LEVEL="off",
        KILO_API_URL=DEAD,
        KILO_DISABLE_MODELS_FETCH="1",
        KILO_DISABLE_AUTOUPDATE="1",
        KILO_DISABLE_LSP_DOWNLOAD="1",
        npm_config_registry=DEAD + "/",
    )
    edit_task.run(kilo, env, project, target)

    # Kilo spoke the provider's API to the proxy, under the configured model name.
    assert served(proxy_url, MODEL, route, dialect) - served_before == 3
    edit_task.check_gigachat(mock, target, "Kilo")
