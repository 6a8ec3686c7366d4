// residual_add: x[i] += delta[i] for elements i in [begin, end), in place on the residual
// stream. A load / compute / store dataflow over hls::stream, like swiglu: packets of
// kPacketLanes floats (one 512-bit AXI beat) so the g++ build pays one FIFO operation per 16
// elements.
#include "kernels/hls_compat.h"
#include "kernels/kernels.h"

namespace {

constexpr int kPacketLanes = 16;
struct Packet {
  float v[kPacketLanes];
};

// Reads src[begin, end) into packets; the last packet is zero-padded.
void LoadPackets(const float* src, int begin, int end, hls::stream<Packet>& packets) {
  for (int i = begin; i < end; i += kPacketLanes) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=4 max=512
    Packet packet;
    for (int l = 0; l < kPacketLanes; ++l) {
#pragma HLS UNROLL
      packet.v[l] = i + l < end ? src[i + l] : 0.0f;
    }
    packets.write(packet);
  }
}

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

// Writes packets back to dst[begin, end), dropping the padding of the last one.
void StorePackets(hls::stream<Packet>& packets, int begin, int end, float* dst) {
  for (int i = begin; i < end; i += kPacketLanes) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=4 max=512
    const Packet packet = packets.read();
    for (int l = 0; l < kPacketLanes; ++l) {
#pragma HLS UNROLL
      if (i + l < end) dst[i + l] = packet.v[l];
    }
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
