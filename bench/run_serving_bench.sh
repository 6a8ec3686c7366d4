#!/usr/bin/env bash
# Serving throughput and latency by concurrency, for one or more deployments side by side
# (issue 5's figures): serves each CONFIG in turn, runs `fabric bench` (streaming completions)
# RUNS times at each fixed concurrency, and prints the medians over the runs of output
# tokens/s, median TTFT and median TPOT, with the KV-cache traffic between cards.
#
#   bench/run_serving_bench.sh BUILD_DIR CONFIG [CONFIG ...]
#
# Environment: INPUT_LEN (128), OUTPUT_LEN (64), PROMPTS per run (64), RUNS (3),
# CONCURRENCY ("1 4 16"), PORT (18490). Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
(($# > 1)) || { echo "usage: $0 BUILD_DIR CONFIG [CONFIG ...]" >&2; exit 2; }
build=$1
shift
input=${INPUT_LEN:-128}
output=${OUTPUT_LEN:-64}
prompts=${PROMPTS:-64}
runs=${RUNS:-3}
concurrencies=${CONCURRENCY:-"1 4 16"}
port=${PORT:-18490}
work=$(mktemp -d)
source bench/serve_helpers.sh
trap 'stop_server; rm -rf "$work"' EXIT

echo "$input-token prompts, $output output tokens, $prompts prompts a run, medians of $runs runs"
printf '%-34s %5s %12s %14s %14s\n' config conc "output tok/s" "median TTFT ms" "median TPOT ms"
for config in "$@"; do
  start_server "$config"
  curl -s "http://127.0.0.1:$port/metrics" >"$work/first"
  for c in $concurrencies; do
    : >"$work/throughput"; : >"$work/ttft"; : >"$work/tpot"
    for run in $(seq "$runs"); do
      "$build/fabric" bench --base-url "http://127.0.0.1:$port" --num-prompts "$prompts" \
        --input-len "$input" --output-len "$output" --max-concurrency "$c" --seed "$run" \
        --output-json "$work/run.json" >"$work/bench.log" 2>&1 || { cat "$work/bench.log" >&2; exit 1; }
      [[ $(json_field "$work/run.json" failed) == 0 ]] || { cat "$work/bench.log" >&2; exit 1; }
      json_field "$work/run.json" output_throughput >>"$work/throughput"
      json_field "$work/run.json" median_ttft_ms >>"$work/ttft"
      json_field "$work/run.json" median_tpot_ms >>"$work/tpot"
    done
    printf '%-34s %5s %12.0f %14.2f %14.3f\n' "$(basename "$config")" "$c" \
      "$(median <"$work/throughput")" "$(median <"$work/ttft")" "$(median <"$work/tpot")"
  done
  curl -s "http://127.0.0.1:$port/metrics" >"$work/last"
  bytes=$(delta "$work/first" "$work/last" fabric_kv_transfer_bytes_total)
  seconds=$(delta "$work/first" "$work/last" fabric_kv_transfer_seconds_total)
  if [[ $bytes != 0 ]]; then
    awk -v b="$bytes" -v s="$seconds" 'BEGIN { printf "  KV transfers: %.1f MB in %.3f s\n", b / 1e6, s }'
  fi
  stop_server
done
