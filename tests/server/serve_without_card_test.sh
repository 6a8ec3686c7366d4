#!/usr/bin/env bash
# `fabric serve` with an xrt card configured on a machine without that card exits non-zero,
# at once, with a message naming the card, XRT's error and what to check.
#
#   serve_without_card_test.sh FABRIC_BINARY REPOSITORY_ROOT
set -euo pipefail

fabric=$1
repo=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/fabric-no-card.XXXXXX")
trap 'rm -rf "$work"' EXIT

fail() {
  echo "serve_without_card_test: FAILED: $*" >&2
  sed 's/^/  | /' "$work/stderr" >&2 || true
  exit 1
}

"$fabric" xclbin --platform u280 --profile unified --output "$work/u280_unified.xclbin"

# XRT set up as on a card host (XILINX_XRT/lib holds its shims, as /opt/xilinx/xrt does), but
# no card and no emulation mode: XRT loads its real shim and finds nothing to open.
coreutil=$(/sbin/ldconfig -p | awk '/libxrt_coreutil\.so / {print $NF; exit}')
[[ -n "$coreutil" ]] || fail "libxrt_coreutil is not installed"
mkdir "$work/xrt"
ln -s "$(dirname "$coreutil")" "$work/xrt/lib"

cat > "$work/config.yaml" <<YAML
cards:
  - {id: alveo0, kind: xrt, device: "0", bitstream: $work/u280_unified.xclbin}
model:
  path: $repo/models/stories260K/stories260K.bin
  tokenizer: $repo/models/stories260K/tok512.bin
server: {http_port: 0, grpc_port: 0}
YAML

rc=0
env -u XCL_EMULATION_MODE XILINX_XRT="$work/xrt" timeout 60 \
  "$fabric" serve --config "$work/config.yaml" > "$work/stdout" 2> "$work/stderr" < /dev/null ||
  rc=$?
((rc != 124)) || fail "fabric serve hung (killed after 60 s)"
((rc != 0)) || fail "fabric serve exited 0 without its card"
((rc < 128)) || fail "fabric serve died of signal $((rc - 128))"
for phrase in "xrt card '0' (alveo0)" "XRT: " "xbutil examine"; do
  grep -qF "$phrase" "$work/stderr" || fail "the message does not say '$phrase'"
done
echo "serve_without_card_test: exit $rc, message:"
sed 's/^/  | /' "$work/stderr"
