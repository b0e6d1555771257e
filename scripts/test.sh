#!/usr/bin/env bash
# The whole test suite: formatting, lints, Rust unit + integration tests (including the
# headless-browser check of the log page), and the SDK conformance suite (which builds
# its own Python virtualenv and installs the CLI clients on first run).
#
#   ./scripts/test.sh                      everything
#   SKIP_CONFORMANCE=1 ./scripts/test.sh   Rust only
#
# Needs a Rust toolchain; everything else (Chromium, Docker, docker-compose, musl-tools,
# redis-server, nginx, python3-venv, Node.js >= 20, the musl target) is checked first by
# scripts/setup.sh, which installs what is missing (as root or with passwordless sudo)
# or says exactly what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "what the tests need (scripts/setup.sh)"
./scripts/setup.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo build (binaries used by integration and conformance tests)"
cargo build --workspace --bins --locked

browser=crates/gpt2giga/tests/browser
if [ ! -d "$browser/node_modules/playwright-core" ]; then
  step "npm ci ($browser: playwright-core for the headless-browser test)"
  npm ci --prefix "$browser" --no-audit --no-fund
fi

step "Rust tests"
if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
  cargo test --workspace --doc --locked
else
  cargo test --workspace --locked --no-fail-fast
fi

if [ -z "${SKIP_CONFORMANCE:-}" ] && [ -x conformance/run.sh ]; then
  step "SDK conformance"
  conformance/run.sh
fi
