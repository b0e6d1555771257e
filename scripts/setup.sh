#!/usr/bin/env bash
# Makes sure this machine has everything the test suite needs, installing what is
# missing when it can (Debian/Ubuntu: apt-get as root or through passwordless sudo;
# rustup for the musl target), and otherwise saying exactly what to install.
# `./scripts/test.sh` runs it first; it is safe to run again (it installs nothing twice).
#
#   chromium        headless-browser test of the log viewer and the API reference
#   docker.io       dockerd + docker for the container test
#   docker-compose  validation of the compose files
#   musl-tools      musl-gcc, ring's C compiler for the static x86_64-unknown-linux-musl build
#   file            the static-linking check in scripts/build-image.sh
#   redis-server    the shared-state tests (a real Redis started by the tests)
#   nginx-light     the multi-replica test (nginx balancing over three replicas)
#   postgresql      the traffic-log tests (a real PostgreSQL server started by the tests)
#   python3-venv    the SDK conformance suite's virtualenv
#   nodejs, npm     the headless-browser driver and the CLI agents (Node.js >= 20)
#   curl            the curl examples run by conformance/tests/test_examples.py
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
need() { # need COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || missing+=("$2")
}
need chromium chromium
need dockerd docker.io
need docker-compose docker-compose
need musl-gcc musl-tools
need file file
need redis-server redis-server
need nginx nginx-light
need node nodejs
need npm npm
need curl curl
# PostgreSQL's server programs live in /usr/lib/postgresql/<version>/bin on Debian.
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need initdb postgresql
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=("python3-venv")

if [ "${#missing[@]}" -gt 0 ]; then
  sudo_=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo_=(sudo -n)
    else
      echo "setup: missing packages: ${missing[*]}" >&2
      echo "setup: install them with: sudo apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: missing: ${missing[*]} (no apt-get here: install the equivalents by hand)" >&2
    exit 1
  fi
  echo "==> installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_[@]}" apt-get update -qq
  "${sudo_[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

node_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js >= 20 is needed (found $(node --version 2>/dev/null || echo none));" \
       "the CLI agents and the browser driver require it" >&2
  exit 1
fi

# The Rust standard library for the static image build.
if ! rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
  echo "==> rustup target add x86_64-unknown-linux-musl"
  rustup target add x86_64-unknown-linux-musl
fi
