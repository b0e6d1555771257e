#!/usr/bin/env bash
# The whole test suite: formatting, lints, Rust unit + integration tests (including the
# headless-browser check of the log page), and the SDK conformance suite (which builds
# its own Python virtualenv and installs the CLI clients on first run).
#
#   ./scripts/test.sh                      everything
#   SKIP_CONFORMANCE=1 ./scripts/test.sh   Rust only
#
# Needs: a Rust toolchain, python3 with venv, Node.js >= 20 with npm, and Chromium
# (/usr/bin/chromium, or CHROMIUM=/path); for the container test root, Docker
# (docker.io, docker-compose), musl-tools and the x86_64-unknown-linux-musl target.
# `.ci/run` installs whatever of these is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

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
