// gather_f32: embedding lookup, out[i, :] = table[rows[i], :] for i in [begin, end).
// A burst copy of one table row per work item.
#include <cstdint>

#include "kernels/kernels.h"

extern "C" void gather_f32(const float* table, const int* rows, float* out, int row_len,
                           int begin, int end) {
#pragma HLS INTERFACE m_axi port=table offset=slave bundle=gmem_w
#pragma HLS INTERFACE m_axi port=rows offset=slave bundle=gmem_idx
#pragma HLS INTERFACE m_axi port=out offset=slave bundle=gmem_out
#pragma HLS INTERFACE s_axilite port=row_len
#pragma HLS INTERFACE s_axilite port=begin
#pragma HLS INTERFACE s_axilite port=end
#pragma HLS INTERFACE s_axilite port=return
  // table: [n_rows, row_len], rows: [items], out: [items, row_len]
  for (int i = begin; i < end; ++i) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=512
    const float* src = table + static_cast<int64_t>(rows[i]) * row_len;
    float* dst = out + static_cast<int64_t>(i) * row_len;
    for (int j = 0; j < row_len; ++j) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=64 max=8192
      dst[j] = src[j];
    }
  }
}
