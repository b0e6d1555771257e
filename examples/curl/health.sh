#!/usr/bin/env bash
# curl, probes: GET /health (the process is up; no key needed) and GET /ready (a GigaChat token can be had).
#
# Try it (no account):  gpt2giga --demo            then  bash examples/curl/health.sh
# Real GigaChat:        GIGACHAT_CREDENTIALS=<key> gpt2giga  then the same command.
# Settings: GPT2GIGA_URL (default http://localhost:8090), GPT2GIGA_API_KEY (only if the
# proxy requires a key).
set -euo pipefail
URL="${GPT2GIGA_URL:-http://localhost:8090}"
auth=()
if [ -n "${GPT2GIGA_API_KEY:-}" ]; then auth=(-H "Authorization: Bearer $GPT2GIGA_API_KEY"); fi

curl -sS --fail-with-body "${URL%/}/health"
echo
curl -sS --fail-with-body "${URL%/}/ready" "${auth[@]}"
echo
