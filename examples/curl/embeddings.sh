#!/usr/bin/env bash
# curl, OpenAI Embeddings: POST /v1/embeddings for two texts.
#
# Try it (no account):  gpt2giga --demo            then  bash examples/curl/embeddings.sh
# Real GigaChat:        GIGACHAT_CREDENTIALS=<key> gpt2giga  then the same command.
# Settings: GPT2GIGA_URL (default http://localhost:8090), GPT2GIGA_API_KEY (only if the
# proxy requires a key). The proxy answers with its --proxy.embeddings model (default
# EmbeddingsGigaR) unless a model alias names another one.
set -euo pipefail
URL="${GPT2GIGA_URL:-http://localhost:8090}"
auth=()
if [ -n "${GPT2GIGA_API_KEY:-}" ]; then auth=(-H "Authorization: Bearer $GPT2GIGA_API_KEY"); fi

curl -sS --fail-with-body "${URL%/}/v1/embeddings" "${auth[@]}" \
  -H 'Content-Type: application/json' \
  -d '{"model": "EmbeddingsGigaR", "input": ["Kazan is a city on the Volga.", "The Volga flows through Kazan."]}'
echo
