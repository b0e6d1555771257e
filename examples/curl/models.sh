#!/usr/bin/env bash
# curl, model list: GET /v1/models (GigaChat's models and the configured aliases), then one model.
#
# Try it (no account):  gpt2giga --demo            then  bash examples/curl/models.sh
# Real GigaChat:        GIGACHAT_CREDENTIALS=<key> gpt2giga  then the same command.
# Settings: GPT2GIGA_URL (default http://localhost:8090), GPT2GIGA_API_KEY (only if the
# proxy requires a key), GPT2GIGA_MODEL (default GigaChat).
set -euo pipefail
URL="${GPT2GIGA_URL:-http://localhost:8090}"
MODEL="${GPT2GIGA_MODEL:-GigaChat}"
auth=()
if [ -n "${GPT2GIGA_API_KEY:-}" ]; then auth=(-H "Authorization: Bearer $GPT2GIGA_API_KEY"); fi

curl -sS --fail-with-body "${URL%/}/v1/models" "${auth[@]}"
echo
curl -sS --fail-with-body "${URL%/}/v1/models/$MODEL" "${auth[@]}"
echo
