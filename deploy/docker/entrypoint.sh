#!/bin/sh
# The container's entrypoint: sets up XRT when the host's is mounted, then becomes `fabric`.
#
#   fabric-entrypoint serve --config deploy/configs/two-mock-cards.yaml --host 0.0.0.0
#
# Mock cards need nothing. Cards of kind "xrt" need XRT's user-space libraries and the cards'
# device nodes: mount the host's XRT read-only at /opt/xilinx/xrt (or set FABRIC_XRT_DIR) and
# hand the container the cards (the FPGA device plugin's resource in Kubernetes, --device with
# Docker). The host's XRT matches the host's xocl driver, which is why it is not baked in. It
# must be ABI compatible with the XRT fabric is built against, Debian 12's 2.13 (202210): fabric
# links libxrt_coreutil.so.2, and this refuses to start without it in the host's XRT.
set -eu

xrt=${FABRIC_XRT_DIR:-/opt/xilinx/xrt}
xrt_library=libxrt_coreutil.so.2
if [ -d "$xrt/lib" ]; then
  if [ ! -e "$xrt/lib/$xrt_library" ]; then
    found=""
    for library in "$xrt"/lib/libxrt_coreutil.so*; do
      if [ -e "$library" ]; then found="$found ${library##*/}"; fi
    done
    echo "fabric-entrypoint: the XRT at $xrt has no lib/$xrt_library (found:${found:- none})." \
      "fabric is built against XRT 2.13 (202210) and needs a host XRT that provides" \
      "$xrt_library and is ABI compatible with 2.13; see deploy/README.md (XRT mode)." >&2
    exit 1
  fi
  # XRT loads its shims (libxrt_core for cards) from $XILINX_XRT/lib.
  export XILINX_XRT="$xrt"
  export LD_LIBRARY_PATH="$xrt/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  nodes=0
  for node in /dev/dri/renderD*; do
    if [ -e "$node" ]; then nodes=$((nodes + 1)); fi
  done
  echo "fabric-entrypoint: XRT mode: XRT at $xrt, $nodes card device node(s)" >&2
  if [ "$nodes" -eq 0 ]; then
    echo "fabric-entrypoint: no card device nodes (/dev/dri/renderD*): request the cards" \
      "(the amd.com/<shell> resource in Kubernetes) or pass --device to docker run" >&2
  fi
else
  echo "fabric-entrypoint: mock mode: no XRT at $xrt (cards of kind xrt cannot open)" >&2
fi

exec fabric "$@"
