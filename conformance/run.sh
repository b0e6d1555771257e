#!/usr/bin/env bash
# SDK conformance suite: drives the proxy (target/debug/gpt2giga) with the official
# Python SDKs against the GigaChat emulator (target/debug/gigachat-mock).
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

if [ ! -x "$ROOT/target/debug/gpt2giga" ] || [ ! -x "$ROOT/target/debug/gigachat-mock" ]; then
  echo "conformance: building the binaries" >&2
  cargo build --workspace --bins
fi

set +e
"$VENV/bin/python" -m pytest -q -p no:cacheprovider --timeout=60 "$HERE/tests" "$@"
rc=$?
set -e
exit "$rc"
