#!/usr/bin/env bash
# Timing emulation against the planner (issue 7, planner/README.md "Timing emulation on mock
# cards"): serves CONFIG (mock cards emulating U280s), runs `fabric bench` streaming at each
# fixed concurrency RUNS times, and prints the median of the runs' median TPOT beside the
# planner's TPOT for the same model, cards, TP x PP and batch (fabric-emulation-predict), their
# ratio, and what the emulation counted over the runs: launches the CPU finished after their
# emulated end (overruns) and the emulated host <-> card transfer time per step. The same
# benchmark on the config's cards without timing (UNTIMED=1, the default) shows the host's
# own time per token, which no card changes.
#
#   bench/run_emulation_bench.sh [BUILD_DIR] [CONFIG]
#
# Environment: INPUT_LEN (64), OUTPUT_LEN (128), PROMPTS per run (32), RUNS (5),
# CONCURRENCY ("1 4"), PORT (18480), UNTIMED (1). Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
config=${2:-deploy/configs/two-emulated-u280-cards.yaml}
input=${INPUT_LEN:-64}
output=${OUTPUT_LEN:-128}
prompts=${PROMPTS:-32}
runs=${RUNS:-5}
concurrencies=${CONCURRENCY:-"1 4"}
port=${PORT:-18480}
work=$(mktemp -d)
source bench/serve_helpers.sh
trap 'stop_server; rm -rf "$work"' EXIT

# Runs the benchmark RUNS times at concurrency $1; prints one line per run and leaves the runs'
# median TPOT (ms) in $work/tpot and the metric deltas in $work/deltas.
bench_runs() {
  local c=$1
  : >"$work/tpot"
  curl -s "http://127.0.0.1:$port/metrics" >"$work/first"
  for run in $(seq "$runs"); do
    curl -s "http://127.0.0.1:$port/metrics" >"$work/before"
    "$build/fabric" bench --base-url "http://127.0.0.1:$port" --num-prompts "$prompts" \
      --input-len "$input" --output-len "$output" --max-concurrency "$c" --seed "$run" \
      --output-json "$work/run.json" >/dev/null 2>&1
    curl -s "http://127.0.0.1:$port/metrics" >"$work/after"
    local tpot
    tpot=$(json_field "$work/run.json" median_tpot_ms)
    echo "$tpot" >>"$work/tpot"
    printf '  c=%s run %s: median TPOT %.4f ms, overruns %s\n' "$c" "$run" "$tpot" \
      "$(delta "$work/before" "$work/after" fabric_device_emulation_overruns_total)"
  done
  local name deltas=""
  for name in fabric_iteration_tokens_count fabric_device_busy_seconds_total \
    fabric_device_emulated_transfer_seconds_total fabric_device_emulation_overruns_total \
    fabric_device_emulation_overrun_seconds_total fabric_engine_steps_total \
    fabric_engine_host_seconds_total; do
    deltas+=" $(delta "$work/first" "$work/after" "$name")"
  done
  echo "$deltas" >"$work/deltas"
}

echo "config $config: $input-token prompts, $output output tokens," \
  "$prompts prompts per run, $runs runs"
start_server "$config"
grep '^fabric: timing emulated' "$work/serve.log" || echo "(no card of $config is timed)"
for c in $concurrencies; do
  prediction=$("$build/fabric-emulation-predict" --config "$config" --prompt-tokens "$input" \
    --output-tokens "$output" --concurrency "$c")
  predicted=$(sed -n 's/.*"batch_tpot_seconds": *\([0-9.eE+-]*\).*/\1/p' <<<"$prediction")
  batch=$(sed -n 's/.*"batch": *\([0-9]*\).*/\1/p' <<<"$prediction")
  plan=$(sed -n 's/.*"plan": *"\([^"]*\)".*/\1/p' <<<"$prediction")
  bench_runs "$c"
  measured=$(median <"$work/tpot")
  read -r steps busy transfer overruns overrun_s engine_steps host_s <"$work/deltas"
  # The model leaves the host's own time per step out; the engine measures it. The second
  # prediction adds what it measured in these runs.
  host_us=$(awk -v h="$host_s" -v n="$engine_steps" 'BEGIN { printf "%.3f", n ? h * 1e6 / n : 0 }')
  with_host=$("$build/fabric-emulation-predict" --config "$config" --prompt-tokens "$input" \
    --output-tokens "$output" --concurrency "$c" --host-step-us "$host_us" |
    sed -n 's/.*"batch_tpot_seconds": *\([0-9.eE+-]*\).*/\1/p')
  awk -v c="$c" -v m="$measured" -v p="$predicted" -v plan="$plan" -v batch="$batch" \
    -v steps="$steps" -v busy="$busy" -v t="$transfer" -v o="$overruns" -v os="$overrun_s" \
    -v host="$host_us" -v ph="$with_host" '
    BEGIN {
      per = steps ? 1e6 / steps : 0
      printf "c=%s (%s, batch %s per instance): measured median TPOT %.4f ms; predicted " \
        "%.4f ms for the cards (ratio %.3f), %.4f ms with the host'"'"'s measured %.1f us a " \
        "step (ratio %.3f)\n", c, plan, batch, m, p * 1e3, m / (p * 1e3), ph * 1e3, host,
        m / (ph * 1e3)
      printf "  per instance step (%d steps, prompt steps included; all its cards): " \
        "emulated kernels %.1f us, transfers %.1f us; %d overruns, %.1f us\n",
        steps, busy * per, t * per, o, os * per
    }'
done
stop_server

if [[ ${UNTIMED:-1} == 1 ]]; then
  # The same cards untimed: emulate lines dropped (flow or block style).
  sed -E 's/,? *emulate: *[A-Za-z0-9_.-]+//' "$config" >"$work/untimed.yaml"
  start_server "$work/untimed.yaml"
  for c in $concurrencies; do
    bench_runs "$c" >/dev/null
    printf 'untimed c=%s: median TPOT %.4f ms (the CPU and the host alone)\n' "$c" \
      "$(median <"$work/tpot")"
  done
fi
