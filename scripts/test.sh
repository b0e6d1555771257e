#!/usr/bin/env bash
# The whole test suite: formatting, lints, Rust unit + integration tests, and the
# SDK conformance suite (which builds its own Python virtualenv on first run).
#
#   ./scripts/test.sh            everything
#   SKIP_CONFORMANCE=1 ./scripts/test.sh   Rust only
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo build (binaries used by integration and conformance tests)"
cargo build --workspace --bins --locked

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
