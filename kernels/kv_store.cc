// kv_store: writes this step's keys and values into the paged KV cache:
// k_cache[slots[t], :] = k[t, :] and v_cache[slots[t], :] = v[t, :] for tokens t in
// [begin, end). The slot (cache row) of each token comes from the scheduler's block table.
#include <cstdint>

#include "kernels/kernels.h"

extern "C" void kv_store(const float* k, const float* v, float* k_cache, float* v_cache,
                         const int* slots, int kv_dim, int begin, int end) {
#pragma HLS INTERFACE m_axi port=k offset=slave bundle=gmem_in
#pragma HLS INTERFACE m_axi port=v offset=slave bundle=gmem_in
#pragma HLS INTERFACE m_axi port=k_cache offset=slave bundle=gmem_kv
#pragma HLS INTERFACE m_axi port=v_cache offset=slave bundle=gmem_kv
#pragma HLS INTERFACE m_axi port=slots offset=slave bundle=gmem_idx
#pragma HLS INTERFACE s_axilite port=kv_dim
#pragma HLS INTERFACE s_axilite port=begin
#pragma HLS INTERFACE s_axilite port=end
#pragma HLS INTERFACE s_axilite port=return
  // k, v: [tokens, kv_dim], caches: [rows, kv_dim], slots: [tokens]
  for (int t = begin; t < end; ++t) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=512
    const int64_t src = static_cast<int64_t>(t) * kv_dim;
    const int64_t dst = static_cast<int64_t>(slots[t]) * kv_dim;
    for (int j = 0; j < kv_dim; ++j) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=64 max=4096
      k_cache[dst + j] = k[src + j];
      v_cache[dst + j] = v[src + j];
    }
  }
}
