#!/usr/bin/env bash
# SDK conformance suite: drives the proxy (target/debug/gpt2giga) with the official
# Python SDKs, Claude Code and Codex CLI against the GigaChat emulator
# (target/debug/gigachat-mock).
#
#   conformance/run.sh                 run everything
#   conformance/run.sh -k stream -x    extra arguments go to pytest
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
cd "$ROOT"

VENV="$HERE/.venv"
REQS="$HERE/requirements.txt"
STAMP="$VENV/.requirements.sha256"

if [ ! -x "$VENV/bin/python" ]; then
  echo "conformance: creating virtualenv in $VENV" >&2
  python3 -m venv "$VENV"
fi

want="$(sha256sum "$REQS" | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
  echo "conformance: installing $REQS" >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade -r "$REQS"
  echo "$want" >"$STAMP"
fi

# CLI agents and SDKs (Claude Code, Codex CLI, Gemini CLI, @google/genai) driven by test_claude_code.py,
# test_codex.py, test_gemini_cli.py and test_gemini_node.py: installed into conformance/node_modules when package.json changes.
# Without npm the install is skipped here and those tests fail with a clear message.
PKG="$HERE/package.json"
NODE_STAMP="$HERE/node_modules/.package.sha256"
if [ -f "$PKG" ]; then
  if command -v npm >/dev/null 2>&1; then
    want="$(sha256sum "$PKG" | cut -d' ' -f1)"
    have="$(cat "$NODE_STAMP" 2>/dev/null || true)"
    if [ "$want" != "$have" ]; then
      echo "conformance: npm install ($PKG)" >&2
      if (cd "$HERE" && npm install --no-audit --no-fund --no-package-lock --loglevel=error); then
        # npm may skip postinstall scripts; Claude Code's puts its native binary in place.
        if ! "$HERE/node_modules/.bin/claude" --version >/dev/null 2>&1; then
          echo "conformance: running Claude Code's install.cjs by hand" >&2
          (cd "$HERE/node_modules/@anthropic-ai/claude-code" && node install.cjs) || true
        fi
        echo "$want" >"$NODE_STAMP"
      else
        # Not fatal: the SDK tests still run; the CLI tests fail saying what is missing.
        echo "conformance: npm install failed; the Claude Code and Codex CLI tests will fail" >&2
      fi
    fi
  else
    echo "conformance: npm not found; the Claude Code and Codex CLI tests will fail" >&2
  fi
fi

# Applications driven end to end (conformance/apps/<app>/): each has its own pinned
# environment, so one application's dependencies never move another's.
#   requirements.lock  -> conformance/apps/<app>/.venv, synced with uv from the lock
#   package-lock.json  -> conformance/apps/<app>/node_modules, installed with `npm ci`
# Each is (re)built only when its lock file changes. To refresh a Python lock after
# editing requirements.in:  uv pip compile requirements.in -o requirements.lock
# (uv is in the suite's own venv: conformance/.venv/bin/uv).
UV="$VENV/bin/uv"
for app in "$HERE"/apps/*/; do
  [ -d "$app" ] || continue
  name="$(basename "$app")"
  if [ -f "$app/requirements.lock" ]; then
    want="$(sha256sum "$app/requirements.lock" | cut -d' ' -f1)"
    have="$(cat "$app/.venv/.lock.sha256" 2>/dev/null || true)"
    if [ "$want" != "$have" ]; then
      echo "conformance: building the $name environment from its requirements.lock" >&2
      rm -rf "$app/.venv"
      if "$UV" venv --quiet --python "$(command -v python3)" "$app/.venv" \
        && VIRTUAL_ENV="$app/.venv" "$UV" pip sync --quiet "$app/requirements.lock"; then
        echo "$want" >"$app/.venv/.lock.sha256"
      else
        # Not fatal here: that application's tests fail saying its environment is missing.
        echo "conformance: could not build the $name environment" >&2
      fi
    fi
  fi
  if [ -f "$app/package-lock.json" ] && command -v npm >/dev/null 2>&1; then
    want="$(sha256sum "$app/package-lock.json" | cut -d' ' -f1)"
    have="$(cat "$app/node_modules/.lock.sha256" 2>/dev/null || true)"
    if [ "$want" != "$have" ]; then
      echo "conformance: npm ci for $name" >&2
      if (cd "$app" && npm ci --no-audit --no-fund --loglevel=error); then
        echo "$want" >"$app/node_modules/.lock.sha256"
      else
        echo "conformance: npm ci failed for $name" >&2
      fi
    fi
  fi
done

if [ ! -x "$ROOT/target/debug/gpt2giga" ] || [ ! -x "$ROOT/target/debug/gigachat-mock" ]; then
  echo "conformance: building the binaries" >&2
  cargo build --workspace --bins
fi

set +e
"$VENV/bin/python" -m pytest -q -p no:cacheprovider --timeout=60 "$HERE/tests" "$@"
rc=$?
set -e
exit "$rc"
