// quantize_q8_0: quantizes activation rows [begin, end) of x: [rows, row_len] to Q8_0, one
// 32-element block at a time, exactly as llama.cpp's reference quantizer (QuantizeBlockQ8_0),
// so matvec_q8_0 / matmul_q8_0 can take int8 activations.
#include <cstdint>

#include "kernels/formats.h"
#include "kernels/kernels.h"

extern "C" void quantize_q8_0(const float* x, fabric::BlockQ8_0* out, int row_len, int begin,
                              int end) {
#pragma HLS INTERFACE m_axi port=x offset=slave bundle=gmem_in
#pragma HLS INTERFACE m_axi port=out offset=slave bundle=gmem_out
#pragma HLS INTERFACE s_axilite port=row_len
#pragma HLS INTERFACE s_axilite port=begin
#pragma HLS INTERFACE s_axilite port=end
#pragma HLS INTERFACE s_axilite port=return
  // x: [rows, row_len], out: [rows, row_len / 32] blocks
  const int n_blocks = row_len / fabric::kQ8BlockSize;
  for (int r = begin; r < end; ++r) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=512
    for (int b = 0; b < n_blocks; ++b) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=2 max=256
      const int64_t block = static_cast<int64_t>(r) * n_blocks + b;
      fabric::QuantizeBlockQ8_0(x + block * fabric::kQ8BlockSize, out + block);
    }
  }
}
