"""OpenCode (`opencode-ai`, pinned in conformance/apps/opencode/) run headless
(`opencode run`) with a custom `@ai-sdk/openai-compatible` provider in opencode.json that
points at the proxy: it reads a file, edits it on disk with its `edit` tool and finishes
with an answer that uses the tool's result. Everything stays on loopback (no models.dev,
no npm registry, no update check). Guide: integrations/opencode/README.md."""

from __future__ import annotations

import json
import os

import pytest

import edit_task
from helpers import app_dir, cli_env, served

pytestmark = pytest.mark.timeout(240)

APP = "opencode"
VERSION = "1.18.33"
MODEL = "GigaChat-2-Max"
# A loopback port nothing listens on: should OpenCode ever reach for the npm registry
# (it installs @opencode-ai/plugin into its config directory), it fails here at once.
DEAD_REGISTRY = "http://127.0.0.1:9/"


def opencode_bin() -> str:
    """The pinned OpenCode binary (`opencode-linux-x64`, what `opencode-ai` installs on
    Linux x64), or a test failure saying why it is missing."""
    path = os.path.join(app_dir(APP), "node_modules", "opencode-linux-x64", "bin", "opencode")
    if not os.path.exists(path):
        pytest.fail(
            f"OpenCode is not installed at {path}: conformance/run.sh installs it with "
            f"`npm ci` from conformance/apps/{APP}/package-lock.json",
            pytrace=False,
        )
    return path


def opencode_config(proxy_url: str) -> dict:
    """The opencode.json of the guide (integrations/opencode/README.md)."""
    return {
        "$schema": "https://opencode.ai/config.json",
        "provider": {
            "gigachat": {
                "npm": "@ai-sdk/openai-compatible",
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
        "model": f"gigachat/{MODEL}",
        "small_model": f"gigachat/{MODEL}",
        "autoupdate": False,
        "share": "disabled",
    }


def offline_home(home: str) -> None:
    """OpenCode installs `@opencode-ai/plugin` from npm into its global config directory
    on start unless that directory already has `node_modules` and a package-lock.json
    listing it (its Npm.install check); seed both so nothing is fetched."""
    config_dir = os.path.join(home, ".config", "opencode")
    os.makedirs(os.path.join(config_dir, "node_modules"))
    with open(os.path.join(config_dir, "package-lock.json"), "w") as f:
        json.dump({"packages": {"": {"dependencies": {"@opencode-ai/plugin": VERSION}}}}, f)


def test_opencode_edits_a_file(proxy_url, mock, tmp_path):
    opencode = opencode_bin()
    home = tmp_path / "home"
    project = tmp_path / "project"
    home.mkdir()
    project.mkdir()
    offline_home(str(home))
    (project / "opencode.json").write_text(json.dumps(opencode_config(proxy_url), indent=2))
    target = edit_task.greet_file(project)
    served_before = served(proxy_url, MODEL)
    edit_task.script(mock, target)

    env = cli_env(
        str(home),
        OPENCODE_DISABLE_MODELS_FETCH="1",
        OPENCODE_DISABLE_AUTOUPDATE="1",
        OPENCODE_DISABLE_LSP_DOWNLOAD="1",
        npm_config_registry=DEAD_REGISTRY,
    )
    edit_task.run(opencode, env, project, target)

    # OpenCode spoke Chat Completions to the proxy under the configured model name.
    assert served(proxy_url, MODEL) - served_before == 3
    edit_task.check_gigachat(mock, target, "opencode")
