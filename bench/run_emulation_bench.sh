#!/usr/bin/env bash
# Timing emulation against the planner (issue 7, planner/README.md "Timing emulation on mock
# cards"). First, unless UNTIMED=0, serves CONFIG's cards without timing and measures the
# host's own overhead per step at each concurrency, with one-token prompts so that every step
# is a decode step: median TPOT less the CPU's kernel time per step (the engine, sampling,
# streaming and thread hand-offs, which no card changes). Then
# serves CONFIG (mock cards emulating U280s), runs `fabric bench` streaming RUNS times at each
# fixed concurrency, and sets the median of the runs' median TPOT beside the planner's TPOT for
# the same model, cards, TP x PP and batch (fabric-emulation-predict): for the cards alone, with
# the engine's own time per step measured in the same runs, and with the host overhead measured
# untimed. It also prints what the emulation counted: launches the CPU finished after their
# emulated end (overruns) and the emulated host <-> card transfer time per step.
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

# Runs the benchmark RUNS times at concurrency $1 with $2-token prompts; prints one line per
# run and leaves the runs' median TPOT (ms) in $work/tpot and the metric deltas in $work/deltas.
bench_runs() {
  local c=$1 prompt_len=$2
  : >"$work/tpot"
  curl -s "http://127.0.0.1:$port/metrics" >"$work/first"
  for run in $(seq "$runs"); do
    curl -s "http://127.0.0.1:$port/metrics" >"$work/before"
    "$build/fabric" bench --base-url "http://127.0.0.1:$port" --num-prompts "$prompts" \
      --input-len "$prompt_len" --output-len "$output" --max-concurrency "$c" --seed "$run" \
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

# The planner's TPOT (seconds) at concurrency $1, adding $2 us of host time to every step.
predict() {
  "$build/fabric-emulation-predict" --config "$config" --prompt-tokens "$input" \
    --output-tokens "$output" --concurrency "$1" --host-step-us "$2"
}

tpot_of() { sed -n 's/.*"batch_tpot_seconds": *\([0-9.eE+-]*\).*/\1/p'; }

echo "config $config: $input-token prompts, $output output tokens," \
  "$prompts prompts per run, $runs runs"

if [[ ${UNTIMED:-1} == 1 ]]; then
  # The same cards untimed: emulate lines dropped (flow or block style).
  sed -E 's/,? *emulate: *[A-Za-z0-9_.-]+//' "$config" >"$work/untimed.yaml"
  start_server "$work/untimed.yaml"
  for c in $concurrencies; do
    # One-token prompts: every step then costs the CPU what a decode step does, so the kernel
    # time per step is a decode step's.
    bench_runs "$c" 1 >/dev/null
    read -r steps busy _ _ _ engine_steps host_s <"$work/deltas"
    # Busy time adds up over the cards; tensor-parallel ranks work at the same time.
    tp=$(predict "$c" 0 | sed -n 's/.*"plan": *"TP\([0-9]*\)x.*/\1/p')
    busy=$(awk -v b="$busy" -v tp="${tp:-1}" 'BEGIN { printf "%.9g", b / tp }')
    awk -v m="$(median <"$work/tpot")" -v steps="$steps" -v busy="$busy" \
      'BEGIN { printf "%.3f", m * 1e3 - busy * 1e6 / steps }' >"$work/overhead-$c"
    awk -v c="$c" -v m="$(median <"$work/tpot")" -v steps="$steps" -v busy="$busy" \
      -v n="$engine_steps" -v host="$host_s" -v o="$(cat "$work/overhead-$c")" 'BEGIN {
      printf "untimed c=%s: median TPOT %.4f ms; per instance step: CPU kernels %.1f us " \
        "(1-token prompts), engine %.1f us; host overhead %.1f us a step\n",
        c, m, busy * 1e6 / steps, host * 1e6 / n, o
    }'
  done
  stop_server
fi

start_server "$config"
grep '^fabric: timing emulated' "$work/serve.log" || echo "(no card of $config is timed)"
for c in $concurrencies; do
  prediction=$(predict "$c" 0)
  predicted=$(tpot_of <<<"$prediction")
  batch=$(sed -n 's/.*"batch": *\([0-9]*\).*/\1/p' <<<"$prediction")
  plan=$(sed -n 's/.*"plan": *"\([^"]*\)".*/\1/p' <<<"$prediction")
  bench_runs "$c" "$input"
  measured=$(median <"$work/tpot")
  read -r steps busy transfer overruns overrun_s engine_steps host_s <"$work/deltas"
  # The model leaves the host's own time per step out. The engine measures its share in these
  # runs; the untimed runs measured all of it.
  host_us=$(awk -v h="$host_s" -v n="$engine_steps" 'BEGIN { printf "%.3f", n ? h * 1e6 / n : 0 }')
  with_engine=$(predict "$c" "$host_us" | tpot_of)
  awk -v c="$c" -v m="$measured" -v p="$predicted" -v plan="$plan" -v batch="$batch" \
    -v steps="$steps" -v busy="$busy" -v t="$transfer" -v o="$overruns" -v os="$overrun_s" \
    -v host="$host_us" -v pe="$with_engine" '
    BEGIN {
      per = steps ? 1e6 / steps : 0
      printf "c=%s (%s, batch %s per instance): measured median TPOT %.4f ms; predicted " \
        "%.4f ms for the cards (ratio %.3f), %.4f ms with the engine'"'"'s measured %.1f us a " \
        "step (ratio %.3f)\n", c, plan, batch, m, p * 1e3, m / (p * 1e3), pe * 1e3, host,
        m / (pe * 1e3)
      printf "  per instance step (%d steps, prompt steps included; all its cards): " \
        "emulated kernels %.1f us, transfers %.1f us; %d overruns, %.1f us\n",
        steps, busy * per, t * per, o, os * per
    }'
  if [[ -f $work/overhead-$c ]]; then
    overhead=$(cat "$work/overhead-$c")
    with_overhead=$(predict "$c" "$overhead" | tpot_of)
    awk -v m="$measured" -v p="$with_overhead" -v o="$overhead" 'BEGIN {
      printf "  predicted %.4f ms with the host overhead measured untimed (%.1f us a step): " \
        "ratio %.3f\n", p * 1e3, o, m / (p * 1e3)
    }'
  fi
done
