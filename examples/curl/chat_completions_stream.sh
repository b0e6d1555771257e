#!/usr/bin/env bash
# curl, OpenAI Chat Completions streaming: "stream": true gives server-sent events ending in data: [DONE].
#
# Try it (no account):  gpt2giga --demo            then  bash examples/curl/chat_completions_stream.sh
# Real GigaChat:        GIGACHAT_CREDENTIALS=<key> gpt2giga  then the same command.
# Settings: GPT2GIGA_URL (default http://localhost:8090), GPT2GIGA_API_KEY (only if the
# proxy requires a key), GPT2GIGA_MODEL (default GigaChat).
set -euo pipefail
URL="${GPT2GIGA_URL:-http://localhost:8090}"
MODEL="${GPT2GIGA_MODEL:-GigaChat}"
auth=()
if [ -n "${GPT2GIGA_API_KEY:-}" ]; then auth=(-H "Authorization: Bearer $GPT2GIGA_API_KEY"); fi

# -N: print each event as it arrives.
curl -sS -N --fail-with-body "${URL%/}/v1/chat/completions" "${auth[@]}" \
  -H 'Content-Type: application/json' \
  -d '{
    "model": "'"$MODEL"'",
    "messages": [{"role": "user", "content": "Name three rivers of Russia."}],
    "stream": true,
    "stream_options": {"include_usage": true}
  }'
