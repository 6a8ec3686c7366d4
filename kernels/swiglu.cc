// swiglu: out[i] = silu(gate[i]) * up[i] for elements i in [begin, end), where
// silu(g) = g * sigmoid(g), rounded exactly as llama2.c does it: g * (1 / (1 + expf(-g))),
// then times up.
// A load / compute / store dataflow over hls::stream: on chip the three stages run
// concurrently; under g++ they run one after another (kernels/hls_compat.h). Stream words are
// packets of kPacketLanes floats (one 512-bit AXI beat), so the g++ build pays one FIFO
// operation per 16 elements, not per element. The load and store stages are
// kernels/packet_stream.h's.
#include <cmath>

#include "kernels/hls_compat.h"
#include "kernels/kernels.h"
#include "kernels/packet_stream.h"

namespace {

using fabric::kPacketLanes;
using fabric::LoadPackets;
using fabric::Packet;
using fabric::StorePackets;

void ComputeSwiglu(hls::stream<Packet>& gate, hls::stream<Packet>& up, int begin, int end,
                   hls::stream<Packet>& out) {
  for (int i = begin; i < end; i += kPacketLanes) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=4 max=2048
    const Packet g = gate.read();
    const Packet u = up.read();
    Packet result;
    for (int l = 0; l < kPacketLanes; ++l) {
#pragma HLS UNROLL
      const float silu = g.v[l] * (1.0f / (1.0f + expf(-g.v[l])));
      result.v[l] = silu * u.v[l];
    }
    out.write(result);
  }
}

}  // namespace

extern "C" void swiglu(const float* gate, const float* up, float* out, int begin, int end) {
#pragma HLS INTERFACE m_axi port=gate offset=slave bundle=gmem_in
#pragma HLS INTERFACE m_axi port=up offset=slave bundle=gmem_in
#pragma HLS INTERFACE m_axi port=out offset=slave bundle=gmem_out
#pragma HLS INTERFACE s_axilite port=begin
#pragma HLS INTERFACE s_axilite port=end
#pragma HLS INTERFACE s_axilite port=return
  // gate, up, out: [elements]
#pragma HLS DATAFLOW
  hls::stream<Packet> gate_packets("gate_packets");
  hls::stream<Packet> up_packets("up_packets");
  hls::stream<Packet> out_packets("out_packets");
#pragma HLS STREAM variable=gate_packets depth=32
#pragma HLS STREAM variable=up_packets depth=32
#pragma HLS STREAM variable=out_packets depth=32
  LoadPackets(gate, begin, end, gate_packets);
  LoadPackets(up, begin, end, up_packets);
  ComputeSwiglu(gate_packets, up_packets, begin, end, out_packets);
  StorePackets(out_packets, begin, end, out);
}
