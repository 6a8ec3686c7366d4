#!/usr/bin/env bash
# Decode and prefill figures for the issue's reference shapes: synthesizes the stories110M
# and TinyLlama-1.1B shapes as Q8_0 GGUF files (once, cached) and runs fabric-engine-bench on
# each at 1 and 2 threads. One JSON line per run on stdout.
#
#   bench/run_engine_bench.sh [BUILD_DIR] [MODEL_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
models=${2:-$build/bench-models}
tokenizer=${TOKENIZER:-models/llama2-tokenizer/tokenizer.bin}
mkdir -p "$models"

for shape in stories110m tinyllama-1.1b; do
  model="$models/$shape-q8_0.gguf"
  if [[ ! -f $model ]]; then
    "$build/fabric" synth --shape "$shape" --type q8_0 --tokenizer "$tokenizer" \
      --output "$model" >&2
  fi
  for threads in 1 2; do
    "$build/fabric-engine-bench" --model "$model" --threads "$threads" \
      --prompt-tokens "${PROMPT_TOKENS:-64}" --decode-tokens "${DECODE_TOKENS:-32}" \
      --repeats "${REPEATS:-3}"
  done
done
