// gather_q8_0: embedding lookup from a Q8_0 table, dequantized:
// out[i, :] = table[rows[i], :] for i in [begin, end), value = fp16(d) * qs[j].
#include <cstdint>

#include "kernels/formats.h"
#include "kernels/kernels.h"

extern "C" void gather_q8_0(const fabric::BlockQ8_0* table, const int* rows, float* out,
                            int row_len, int begin, int end) {
#pragma HLS INTERFACE m_axi port=table offset=slave bundle=gmem_w
#pragma HLS INTERFACE m_axi port=rows offset=slave bundle=gmem_idx
#pragma HLS INTERFACE m_axi port=out offset=slave bundle=gmem_out
#pragma HLS INTERFACE s_axilite port=row_len
#pragma HLS INTERFACE s_axilite port=begin
#pragma HLS INTERFACE s_axilite port=end
#pragma HLS INTERFACE s_axilite port=return
  // table: [n_rows, row_len / 32] blocks, rows: [items], out: [items, row_len]
  const int n_blocks = row_len / fabric::kQ8BlockSize;
  for (int i = begin; i < end; ++i) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=512
    const fabric::BlockQ8_0* src = table + static_cast<int64_t>(rows[i]) * n_blocks;
    float* dst = out + static_cast<int64_t>(i) * row_len;
    for (int b = 0; b < n_blocks; ++b) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=2 max=256
      const float d = fabric::Fp16ToFp32(src[b].d);
      for (int j = 0; j < fabric::kQ8BlockSize; ++j) {
#pragma HLS UNROLL
        dst[b * fabric::kQ8BlockSize + j] = d * static_cast<float>(src[b].qs[j]);
      }
    }
  }
}
