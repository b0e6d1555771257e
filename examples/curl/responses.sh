#!/usr/bin/env bash
# curl, OpenAI Responses API: POST /v1/responses with instructions and input.
#
# Try it (no account):  gpt2giga --demo            then  bash examples/curl/responses.sh
# Real GigaChat:        GIGACHAT_CREDENTIALS=<key> gpt2giga  then the same command.
# Settings: GPT2GIGA_URL (default http://localhost:8090), GPT2GIGA_API_KEY (only if the
# proxy requires a key), GPT2GIGA_MODEL (default GigaChat).
set -euo pipefail
URL="${GPT2GIGA_URL:-http://localhost:8090}"
MODEL="${GPT2GIGA_MODEL:-GigaChat}"
auth=()
if [ -n "${GPT2GIGA_API_KEY:-}" ]; then auth=(-H "Authorization: Bearer $GPT2GIGA_API_KEY"); fi

curl -sS --fail-with-body "${URL%/}/v1/responses" "${auth[@]}" \
  -H 'Content-Type: application/json' \
  -d '{
    "model": "'"$MODEL"'",
    "instructions": "Answer in one sentence.",
    "input": "Which river flows through Kazan?"
  }'
echo
