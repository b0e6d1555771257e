#!/usr/bin/env bash
# curl, Anthropic token counting: POST /v1/messages/count_tokens (counted by GigaChat's tokenizer).
#
# Try it (no account):  gpt2giga --demo            then  bash examples/curl/anthropic_count_tokens.sh
# Real GigaChat:        GIGACHAT_CREDENTIALS=<key> gpt2giga  then the same command.
# Settings: GPT2GIGA_URL (default http://localhost:8090), GPT2GIGA_API_KEY (only if the
# proxy requires a key), GPT2GIGA_MODEL (default GigaChat).
set -euo pipefail
URL="${GPT2GIGA_URL:-http://localhost:8090}"
MODEL="${GPT2GIGA_MODEL:-GigaChat}"
auth=()
if [ -n "${GPT2GIGA_API_KEY:-}" ]; then auth=(-H "x-api-key: $GPT2GIGA_API_KEY"); fi

curl -sS --fail-with-body "${URL%/}/v1/messages/count_tokens" "${auth[@]}" \
  -H 'anthropic-version: 2023-06-01' \
  -H 'Content-Type: application/json' \
  -d '{
    "model": "'"$MODEL"'",
    "system": "Answer in one sentence.",
    "messages": [{"role": "user", "content": "How many tokens is this question?"}]
  }'
echo
