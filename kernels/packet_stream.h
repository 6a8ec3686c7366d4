// The load and store stages of the elementwise dataflow kernels (swiglu, residual_add): arrays
// to and from hls::stream of packets of kPacketLanes floats (one 512-bit AXI beat), so the g++
// build pays one FIFO operation per 16 elements, not per element. Each kernel file keeps its own
// compute stage between them. Trip counts (HLS reports only) are those of the longest stream,
// swiglu's hidden_dim.
//
// Plain C++ with no library dependencies, so Vitis HLS can synthesize the kernels including it.
#ifndef FABRIC_KERNELS_PACKET_STREAM_H_
#define FABRIC_KERNELS_PACKET_STREAM_H_

#include "kernels/hls_compat.h"

namespace fabric {

inline constexpr int kPacketLanes = 16;
struct Packet {
  float v[kPacketLanes];
};

// Reads src[begin, end) into packets; the last packet is zero-padded.
inline void LoadPackets(const float* src, int begin, int end, hls::stream<Packet>& packets) {
  for (int i = begin; i < end; i += kPacketLanes) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=4 max=2048
    Packet packet;
    for (int l = 0; l < kPacketLanes; ++l) {
#pragma HLS UNROLL
      packet.v[l] = i + l < end ? src[i + l] : 0.0f;
    }
    packets.write(packet);
  }
}

// Writes packets back to dst[begin, end), dropping the padding of the last one.
inline void StorePackets(hls::stream<Packet>& packets, int begin, int end, float* dst) {
  for (int i = begin; i < end; i += kPacketLanes) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=4 max=2048
    const Packet packet = packets.read();
    for (int l = 0; l < kPacketLanes; ++l) {
#pragma HLS UNROLL
      if (i + l < end) dst[i + l] = packet.v[l];
    }
  }
}

}  // namespace fabric

#endif  // FABRIC_KERNELS_PACKET_STREAM_H_
