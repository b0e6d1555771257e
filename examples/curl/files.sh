#!/usr/bin/env bash
# curl, OpenAI Files API (stored in GigaChat's file storage): upload, list, get, download, delete.
#
# Try it (no account):  gpt2giga --demo            then  bash examples/curl/files.sh
# Real GigaChat:        GIGACHAT_CREDENTIALS=<key> gpt2giga  then the same command.
# Settings: GPT2GIGA_URL (default http://localhost:8090), GPT2GIGA_API_KEY (only if the
# proxy requires a key).
set -euo pipefail
URL="${GPT2GIGA_URL:-http://localhost:8090}"
auth=()
if [ -n "${GPT2GIGA_API_KEY:-}" ]; then auth=(-H "Authorization: Bearer $GPT2GIGA_API_KEY"); fi

dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
printf 'Kazan is the capital of the Republic of Tatarstan.\n' >"$dir/notes.txt"

echo "# upload"
uploaded="$(curl -sS --fail-with-body "${URL%/}/v1/files" "${auth[@]}" \
  -F purpose=user_data -F "file=@$dir/notes.txt;type=text/plain")"
echo "$uploaded"
id="$(printf '%s' "$uploaded" | sed -n 's/.*"id" *: *"\([^"]*\)".*/\1/p')"
if [ -z "$id" ]; then echo "no file id in the answer" >&2; exit 1; fi

echo "# list"
curl -sS --fail-with-body "${URL%/}/v1/files" "${auth[@]}"
echo
echo "# get $id"
curl -sS --fail-with-body "${URL%/}/v1/files/$id" "${auth[@]}"
echo
echo "# content"
curl -sS --fail-with-body "${URL%/}/v1/files/$id/content" "${auth[@]}"
echo "# delete"
curl -sS --fail-with-body -X DELETE "${URL%/}/v1/files/$id" "${auth[@]}"
echo
