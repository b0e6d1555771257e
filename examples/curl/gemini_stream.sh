#!/usr/bin/env bash
# curl, Gemini API streaming: POST /v1beta/models/<model>:streamGenerateContent?alt=sse (server-sent events).
#
# Try it (no account):  gpt2giga --demo            then  bash examples/curl/gemini_stream.sh
# Real GigaChat:        GIGACHAT_CREDENTIALS=<key> gpt2giga  then the same command.
# Settings: GPT2GIGA_URL (default http://localhost:8090), GPT2GIGA_API_KEY (only if the
# proxy requires a key), GPT2GIGA_MODEL (default GigaChat). Without ?alt=sse the answer is
# one JSON array, written element by element.
set -euo pipefail
URL="${GPT2GIGA_URL:-http://localhost:8090}"
MODEL="${GPT2GIGA_MODEL:-GigaChat}"
auth=()
if [ -n "${GPT2GIGA_API_KEY:-}" ]; then auth=(-H "x-goog-api-key: $GPT2GIGA_API_KEY"); fi

curl -sS -N --fail-with-body "${URL%/}/v1beta/models/$MODEL:streamGenerateContent?alt=sse" "${auth[@]}" \
  -H 'Content-Type: application/json' \
  -d '{"contents": [{"role": "user", "parts": [{"text": "Write a two-line poem about the Volga."}]}]}'
