#!/usr/bin/env bash
# A real Prometheus scrapes a running fabric daemon, and promtool lints its /metrics.
#
# Run by run_e2e.sh, which starts the daemon and sets FABRIC_HTTP_URL and FABRIC_MODEL.
# Sends a few greedy completions, starts Debian's prometheus on a free loopback port with a
# generated config (scrape_interval 1s, TSDB in a temporary directory), waits (bounded) until
# its query API reports up{job="fabric"} == 1 and fabric_generation_tokens_total equal to the
# tokens the completions reported, and pipes /metrics into `promtool check metrics`.
set -euo pipefail

readonly READY_SECONDS=30   # Prometheus up and ready
readonly SCRAPE_SECONDS=30  # the first scrapes show up in queries

: "${FABRIC_HTTP_URL:?run this through tests/e2e/run_e2e.sh}"
model=${FABRIC_MODEL:-stories260K}
target=${FABRIC_HTTP_URL#http://}

for tool in prometheus promtool curl python3; do
  command -v "$tool" >/dev/null || { echo "prometheus_test: $tool is not installed" >&2; exit 1; }
done

workdir=$(mktemp -d "${TMPDIR:-/tmp}/fabric-e2e-prometheus.XXXXXX")
prometheus_pid=""

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$prometheus_pid" ]]; then
    kill -TERM "$prometheus_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$prometheus_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$prometheus_pid" 2>/dev/null || true
    wait "$prometheus_pid" 2>/dev/null || true
  fi
  if ((rc != 0)) && [[ -f "$workdir/prometheus.log" ]]; then
    echo "prometheus_test: prometheus log:" >&2
    tail -n 40 "$workdir/prometheus.log" | sed 's/^/  | /' >&2
  fi
  rm -rf "$workdir"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
  echo "prometheus_test: FAILED: $*" >&2
  exit 1
}

json_get() {  # json_get EXPRESSION: evaluates a Python expression over the JSON `d` on stdin
  python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"
}

# 1. Traffic, so that the counters have something to count.
prompt_total=0
generated_total=0
for prompt in "Once upon a time" "Lily and Tom" "The cat sat"; do
  body=$(printf '{"model": "%s", "prompt": "%s", "temperature": 0, "max_tokens": 12}' \
    "$model" "$prompt")
  response=$(curl -sS --fail-with-body --max-time 60 -H 'Content-Type: application/json' \
    -d "$body" "$FABRIC_HTTP_URL/v1/completions") || fail "completion failed: $response"
  prompt_total=$((prompt_total + $(json_get 'd["usage"]["prompt_tokens"]' <<<"$response")))
  generated_total=$((generated_total + $(json_get 'd["usage"]["completion_tokens"]' <<<"$response")))
done
echo "prometheus_test: sent 3 completions: $prompt_total prompt tokens, $generated_total generated"
((generated_total > 0)) || fail "the completions generated no tokens"

# 2. promtool accepts the exposition format. Its lint keeps colons for recording rules, but the
# vllm: gauges carry the names the Gateway API Inference Extension reads (server/vllm_metrics.h):
# that complaint about them (exit 3, lint only) is expected, and no other.
curl -sS --fail --max-time 10 "$FABRIC_HTTP_URL/metrics" >"$workdir/metrics.txt" ||
  fail "GET /metrics failed"
promtool check metrics <"$workdir/metrics.txt" >"$workdir/promtool.out" 2>&1 && lint=0 || lint=$?
if ((lint != 0 && lint != 3)) ||
  grep -qv "^vllm:[a-z_]* metric names should not contain ':'$" "$workdir/promtool.out"; then
  echo "prometheus_test: promtool check metrics says:" >&2
  sed 's/^/  | /' "$workdir/promtool.out" >&2
  fail "promtool check metrics rejected /metrics"
fi
echo "prometheus_test: promtool check metrics accepts /metrics ($(wc -l <"$workdir/metrics.txt") lines)"

# 3. A real Prometheus scraping the daemon.
cat >"$workdir/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: fabric
    metrics_path: /metrics
    static_configs:
      - targets: ['$target']
EOF
promtool check config "$workdir/prometheus.yml" >/dev/null || fail "promtool check config"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The port is free when picked but could be taken before Prometheus binds it: try a few.
for _ in 1 2 3; do
  port=$(free_port)
  prometheus --config.file="$workdir/prometheus.yml" \
    --storage.tsdb.path="$workdir/tsdb" \
    --web.listen-address="127.0.0.1:$port" \
    >"$workdir/prometheus.log" 2>&1 &
  prometheus_pid=$!
  deadline=$((SECONDS + READY_SECONDS))
  ready=no
  while ((SECONDS < deadline)) && kill -0 "$prometheus_pid" 2>/dev/null; do
    if curl -sf --max-time 2 "http://127.0.0.1:$port/-/ready" >/dev/null; then
      ready=yes
      break
    fi
    sleep 0.2
  done
  [[ $ready == yes ]] && break
  if kill -0 "$prometheus_pid" 2>/dev/null; then
    fail "prometheus was not ready within ${READY_SECONDS}s"
  fi
  wait "$prometheus_pid" || true
  prometheus_pid=""
  grep -q 'address already in use' "$workdir/prometheus.log" || fail "prometheus exited"
  echo "prometheus_test: port $port was taken, trying another" >&2
done
[[ -n "$prometheus_pid" ]] || fail "prometheus could not bind a port"
api="http://127.0.0.1:$port/api/v1"
echo "prometheus_test: prometheus ready on 127.0.0.1:$port"

# Prints the value of instant query $1's single sample, or nothing if there is none yet.
query() {
  curl -sS --max-time 5 --get --data-urlencode "query=$1" "$api/query" |
    json_get 'd["data"]["result"][0]["value"][1] if d["status"] == "success" and len(d["data"]["result"]) == 1 else ""'
}

up="" generated=""
deadline=$((SECONDS + SCRAPE_SECONDS))
while ((SECONDS < deadline)); do
  up=$(query 'up{job="fabric"}' || true)
  generated=$(query 'fabric_generation_tokens_total{job="fabric"}' || true)
  if [[ $up == 1 && -n $generated ]] && python3 -c "import sys; sys.exit(not float('$generated') > 0)"; then
    break
  fi
  sleep 0.5
done
echo "prometheus_test: up{job=\"fabric\"} = '$up', fabric_generation_tokens_total = '$generated'"
[[ $up == 1 ]] || fail "up{job=\"fabric\"} is '$up', want 1 (target health: $(
  curl -sS --max-time 5 "$api/targets" | json_get '[(t["health"], t["lastError"]) for t in d["data"]["activeTargets"]]' || true))"
[[ -n $generated ]] || fail "fabric_generation_tokens_total has no sample"
python3 -c "import sys; sys.exit(not float('$generated') > 0)" ||
  fail "fabric_generation_tokens_total is $generated, want > 0"

# Nothing else talks to this daemon, so the counters equal what the completions reported.
[[ $generated == "$generated_total" ]] ||
  fail "fabric_generation_tokens_total is $generated; the completions reported $generated_total"
prompt=$(query 'fabric_prompt_tokens_total{job="fabric"}' || true)
[[ $prompt == "$prompt_total" ]] ||
  fail "fabric_prompt_tokens_total is '$prompt'; the completions reported $prompt_total"
requests=$(query 'sum(fabric_request_success_total{job="fabric"})' || true)
[[ $requests == 3 ]] || fail "sum(fabric_request_success_total) is '$requests', want 3"
echo "prometheus_test: passed"
