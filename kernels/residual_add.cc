// residual_add: x[i] += delta[i] for elements i in [begin, end), in place on the residual
// stream. A load / compute / store dataflow over hls::stream, like swiglu: packets of
// kPacketLanes floats (one 512-bit AXI beat) so the g++ build pays one FIFO operation per 16
// elements. The load and store stages are kernels/packet_stream.h's.
#include "kernels/hls_compat.h"
#include "kernels/kernels.h"
#include "kernels/packet_stream.h"

namespace {

using fabric::kPacketLanes;
using fabric::LoadPackets;
using fabric::Packet;
using fabric::StorePackets;

void AddPackets(hls::stream<Packet>& x, hls::stream<Packet>& delta, int begin, int end,
                hls::stream<Packet>& sum) {
  for (int i = begin; i < end; i += kPacketLanes) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=4 max=512
    const Packet a = x.read();
    const Packet b = delta.read();
    Packet result;
    for (int l = 0; l < kPacketLanes; ++l) {
#pragma HLS UNROLL
      result.v[l] = a.v[l] + b.v[l];
    }
    sum.write(result);
  }
}

}  // namespace

extern "C" void residual_add(float* x, const float* delta, int begin, int end) {
#pragma HLS INTERFACE m_axi port=x offset=slave bundle=gmem_out
#pragma HLS INTERFACE m_axi port=delta offset=slave bundle=gmem_in
#pragma HLS INTERFACE s_axilite port=begin
#pragma HLS INTERFACE s_axilite port=end
#pragma HLS INTERFACE s_axilite port=return
  // x, delta: [elements]
#pragma HLS DATAFLOW
  hls::stream<Packet> x_packets("x_packets");
  hls::stream<Packet> delta_packets("delta_packets");
  hls::stream<Packet> sum_packets("sum_packets");
#pragma HLS STREAM variable=x_packets depth=32
#pragma HLS STREAM variable=delta_packets depth=32
#pragma HLS STREAM variable=sum_packets depth=32
  LoadPackets(x, begin, end, x_packets);
  LoadPackets(delta, begin, end, delta_packets);
  AddPackets(x_packets, delta_packets, begin, end, sum_packets);
  StorePackets(sum_packets, begin, end, x);
}
