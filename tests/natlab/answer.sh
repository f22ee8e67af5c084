#!/usr/bin/env bash
# tests/natlab/answer.sh FILE [LINES_PER_CHUNK] [DELAY_S] - the lab's deterministic "LLM" for
# `tokencast host --exec`: reads (and ignores) the prompt, then prints FILE in chunks of
# LINES_PER_CHUNK lines with DELAY_S seconds between chunks, so an answer streams for a while.
file=$1 chunk=${2:-20} delay=${3:-0.05}
cat >/dev/null
n=0
while IFS= read -r line; do
  printf '%s\n' "$line"
  n=$((n + 1))
  if (( n % chunk == 0 )); then sleep "$delay"; fi
done <"$file"
