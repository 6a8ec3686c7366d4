#!/usr/bin/env bash
# Installs the Debian packages Fabric needs to build and test, and only those that are missing.
# Idempotent and non-interactive: safe to call from `make run`, `make test` and CI.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libabsl-dev libgtest-dev libgmock-dev
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  prometheus-cpp-dev libyaml-cpp-dev nlohmann-json3-dev libevent-dev
  libcurl4-openssl-dev
  # XRT for device/xrt: headers and libxrt_coreutil (libxrt-dev), the shims including the
  # no-op one the tests run on (libxrt1), and libuuid.
  libxrt-dev libxrt1 uuid-dev
  # End-to-end tests (tests/e2e): a real Prometheus and promtool, Debian's grpcio for Python,
  # and curl; nodejs and npm are added below only when `node` / `npm` are missing, since they
  # may come from elsewhere.
  prometheus python3-grpcio python3-protobuf curl
  # Deployment checks (tests/deploy): yamllint, the Kubernetes API models of Debian's Python
  # client to validate the rendered manifests offline, and pgrep (procps) for the container test.
  yamllint python3-yaml python3-kubernetes procps
)
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} > 0)); then
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    sudo="sudo"
  fi
  echo "install_deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The OpenAI Node client the end-to-end tests use, at the version package-lock.json pins;
# taken from npm's cache when it is there.
e2e="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/e2e"
if [[ ! -d "$e2e/node_modules" || "$e2e/package-lock.json" -nt "$e2e/node_modules" ]]; then
  echo "install_deps: npm ci in tests/e2e"
  npm ci --prefix "$e2e" --no-audit --no-fund --prefer-offline
  touch "$e2e/node_modules"
fi
