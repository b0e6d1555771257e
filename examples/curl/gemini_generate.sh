#!/usr/bin/env bash
# curl, Gemini API generateContent: POST /v1beta/models/<model>:generateContent.
#
# Try it (no account):  gpt2giga --demo            then  bash examples/curl/gemini_generate.sh
# Real GigaChat:        GIGACHAT_CREDENTIALS=<key> gpt2giga  then the same command.
# Settings: GPT2GIGA_URL (default http://localhost:8090), GPT2GIGA_API_KEY (only if the
# proxy requires a key), GPT2GIGA_MODEL (default GigaChat).
set -euo pipefail
URL="${GPT2GIGA_URL:-http://localhost:8090}"
MODEL="${GPT2GIGA_MODEL:-GigaChat}"
auth=()
if [ -n "${GPT2GIGA_API_KEY:-}" ]; then auth=(-H "x-goog-api-key: $GPT2GIGA_API_KEY"); fi

curl -sS --fail-with-body "${URL%/}/v1beta/models/$MODEL:generateContent" "${auth[@]}" \
  -H 'Content-Type: application/json' \
  -d '{
    "systemInstruction": {"parts": [{"text": "Answer in one sentence."}]},
    "contents": [{"role": "user", "parts": [{"text": "What is the longest river in Europe?"}]}],
    "generationConfig": {"maxOutputTokens": 200}
  }'
echo
