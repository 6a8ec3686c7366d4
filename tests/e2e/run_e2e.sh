#!/usr/bin/env bash
# Runs one end-to-end client against a real `fabric serve` daemon.
#
#   tests/e2e/run_e2e.sh NAME [FABRIC_BINARY]
#
# NAME is openai, grpc or prometheus. The binary comes from the argument, else $FABRIC_BINARY,
# else build/fabric; nothing is built here. The daemon serves the bundled stories260K model on
# ports it picks itself (port 0) on 127.0.0.1; this script reads them from its stdout and hands
# them to the client as FABRIC_HTTP_URL, FABRIC_HTTP_PORT and FABRIC_GRPC_TARGET. Afterwards the
# daemon gets SIGTERM and must drain and exit 0: that exit code is part of the test. Every wait
# is bounded, and the daemon and the temporary directory are cleaned up on any exit.
set -euo pipefail

readonly STARTUP_SECONDS=30     # until the daemon prints its ports
readonly CLIENT_SECONDS=150     # the client's whole run
readonly SHUTDOWN_SECONDS=45    # SIGTERM to exit; the daemon drains for up to 30 s

name=${1:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
fabric=${2:-${FABRIC_BINARY:-$repo/build/fabric}}

log() { echo "run_e2e[$name]: $*" >&2; }

case "$name" in
  openai | grpc | prometheus) ;;
  *)
    echo "usage: $0 openai|grpc|prometheus [FABRIC_BINARY]" >&2
    exit 2
    ;;
esac
if [[ ! -x "$fabric" ]]; then
  log "no fabric binary at '$fabric'; build it first (cmake --build build --target fabric)"
  exit 2
fi

export CI=true
exec </dev/null

workdir=$(mktemp -d "${TMPDIR:-/tmp}/fabric-e2e-$name.XXXXXX")
daemon_pid=""
client_pid=""

# Waits up to $2 seconds for process $1 to end; returns 0 if it did.
wait_gone() {
  local pid=$1 deadline=$((SECONDS + $2))
  while kill -0 "$pid" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

show_daemon_log() {
  log "daemon stdout:"
  sed 's/^/  | /' "$workdir/daemon.out" >&2 || true
  log "daemon stderr:"
  sed 's/^/  | /' "$workdir/daemon.err" >&2 || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$client_pid" ]] && kill -0 "$client_pid" 2>/dev/null; then
    log "stopping the client (pid $client_pid) on the way out"
    kill -TERM "$client_pid" 2>/dev/null || true
    wait_gone "$client_pid" 15 || kill -KILL "$client_pid" 2>/dev/null || true
    wait "$client_pid" 2>/dev/null || true
    ((rc != 0)) || rc=1
  fi
  if [[ -n "$daemon_pid" ]] && kill -0 "$daemon_pid" 2>/dev/null; then
    log "stopping the daemon (pid $daemon_pid) on the way out"
    kill -TERM "$daemon_pid" 2>/dev/null || true
    if ! wait_gone "$daemon_pid" "$SHUTDOWN_SECONDS"; then
      kill -KILL "$daemon_pid" 2>/dev/null || true
    fi
    wait "$daemon_pid" 2>/dev/null || true
    ((rc != 0)) || rc=1
  fi
  rm -rf "$workdir"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The client's preconditions, checked before the daemon starts.
client=()
case "$name" in
  openai)
    if [[ ! -f "$here/node_modules/openai/package.json" ]]; then
      log "tests/e2e/node_modules is missing: run deploy/install_deps.sh (npm ci) first"
      exit 1
    fi
    client=(node --test --test-reporter=spec "$here/openai_client.test.mjs")
    ;;
  grpc)
    # Debian's python3-grpcio and python3-protobuf live in the system interpreter, which may not
    # be the first python3 on PATH.
    python=""
    for candidate in /usr/bin/python3 python3; do
      if "$candidate" -c 'import grpc, google.protobuf' 2>/dev/null; then
        python=$candidate
        break
      fi
    done
    if [[ -z "$python" ]]; then
      log "no python3 can import grpc and google.protobuf: install python3-grpcio python3-protobuf"
      exit 1
    fi
    client=("$python" "$here/grpc_client_test.py")
    ;;
  prometheus)
    client=("$here/prometheus_test.sh")
    ;;
esac

log "starting $fabric serve"
"$fabric" serve --model "$repo/models/stories260K/stories260K.bin" \
  --tokenizer "$repo/models/stories260K/tok512.bin" --host 127.0.0.1 \
  --http-port 0 --grpc-port 0 >"$workdir/daemon.out" 2>"$workdir/daemon.err" &
daemon_pid=$!

# fabric: REST http://127.0.0.1:PORT  gRPC 127.0.0.1:PORT
deadline=$((SECONDS + STARTUP_SECONDS))
ports_line=""
while [[ -z "$ports_line" ]]; do
  ports_line=$(grep -E '^fabric: REST http://[^ ]+:[0-9]+ +gRPC [^ ]+:[0-9]+$' \
    "$workdir/daemon.out" 2>/dev/null || true)
  [[ -n "$ports_line" ]] && break
  if ! kill -0 "$daemon_pid" 2>/dev/null; then
    wait "$daemon_pid" && rc=0 || rc=$?
    daemon_pid=""
    log "the daemon exited with $rc before printing its ports"
    show_daemon_log
    exit 1
  fi
  if ((SECONDS >= deadline)); then
    log "the daemon printed no ports within ${STARTUP_SECONDS}s"
    show_daemon_log
    exit 1
  fi
  sleep 0.1
done
[[ $ports_line =~ REST\ (http://[^ ]+:([0-9]+))\ +gRPC\ ([^ ]+:[0-9]+)$ ]]
export FABRIC_HTTP_URL=${BASH_REMATCH[1]}
export FABRIC_HTTP_PORT=${BASH_REMATCH[2]}
export FABRIC_GRPC_TARGET=${BASH_REMATCH[3]}
export FABRIC_MODEL=stories260K
export FABRIC_REPO_ROOT=$repo
export FABRIC_E2E_TMPDIR=$workdir
log "daemon up: REST $FABRIC_HTTP_URL, gRPC $FABRIC_GRPC_TARGET"

log "running ${client[*]}"
# In the background, so that a signal to this script is handled at once, not after the client.
timeout --kill-after=10 "$CLIENT_SECONDS" "${client[@]}" &
client_pid=$!
wait "$client_pid" && client_rc=0 || client_rc=$?
client_pid=""
if ((client_rc == 124)); then
  log "the client did not finish within ${CLIENT_SECONDS}s"
fi

log "sending SIGTERM to the daemon"
kill -TERM "$daemon_pid"
if ! wait_gone "$daemon_pid" "$SHUTDOWN_SECONDS"; then
  log "FAILED: the daemon did not exit within ${SHUTDOWN_SECONDS}s of SIGTERM; killing it"
  kill -KILL "$daemon_pid" 2>/dev/null || true
  wait "$daemon_pid" 2>/dev/null || true
  daemon_pid=""
  show_daemon_log
  exit 1
fi
wait "$daemon_pid" && daemon_rc=0 || daemon_rc=$?
daemon_pid=""

status=0
if ((client_rc != 0)); then
  log "FAILED: the client exited with $client_rc"
  status=1
fi
if ((daemon_rc != 0)); then
  log "FAILED: the daemon exited with $daemon_rc after SIGTERM (want 0)"
  status=1
fi
if ((status != 0)); then
  show_daemon_log
else
  log "passed: client and daemon both exited 0"
fi
exit "$status"
