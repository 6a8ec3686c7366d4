# Shell helpers for the serving benchmarks: start and stop `fabric serve`, read /metrics
# scrapes, take medians. Sourced by bench/run_*_bench.sh, which set `build`, `port` and `work`.

server=""

stop_server() {
  if [[ -n $server ]]; then
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    server=""
  fi
}

start_server() {  # config file
  "$build/fabric" serve --config "$1" --http-port "$port" --grpc-port 0 >"$work/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  cat "$work/serve.log" >&2
  return 1
}

# A metric summed over its series (all cards) in a /metrics scrape.
metric() {  # file name
  awk -v name="$2" '$1 == name || index($1, name "{") == 1 { sum += $2 }
    END { printf "%.9g", sum }' "$1"
}

# How much a metric grew from one scrape to a later one.
delta() {  # earlier later name
  awk -v a="$(metric "$2" "$3")" -v b="$(metric "$1" "$3")" 'BEGIN { printf "%.9g", a - b }'
}

# The median of the numbers on standard input, one a line.
median() {
  sort -g | awk '{ v[NR] = $1 }
    END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# A number field of a `fabric bench --output-json` file.
json_field() {  # file name
  sed -n "s/.*\"$2\": *\([0-9.eE+-]*\).*/\1/p" "$1"
}
