// Declarations of the HLS kernels' top functions, as the mock device binds them.
// Each is defined in the file of the same name; kernel_signatures.h describes its ports.
// Shapes are row-major; "tokens" are the rows of a step's activations.
#ifndef FABRIC_KERNELS_KERNELS_H_
#define FABRIC_KERNELS_KERNELS_H_

#include "kernels/formats.h"

extern "C" {

// out[i, :] = table[rows[i], :] for i in [begin, end). table: [n_rows, row_len].
void gather_f32(const float* table, const int* rows, float* out, int row_len, int begin, int end);
// As gather_f32 from a Q8_0 table, dequantized. row_len is a multiple of 32.
void gather_q8_0(const fabric::BlockQ8_0* table, const int* rows, float* out, int row_len,
                 int begin, int end);
// out[t, :] = x[t, :] / sqrt(mean(x[t, :]^2) + eps) * weight for tokens t in [begin, end).
void rmsnorm(const float* x, const float* weight, float* out, int dim, float eps, int begin,
             int end);
// Quantizes rows [begin, end) of x: [rows, row_len] to Q8_0 blocks (row_len / 32 per row).
void quantize_q8_0(const float* x, fabric::BlockQ8_0* out, int row_len, int begin, int end);
// out[t, r] = dot(w[r, :], x[t, :]) for weight rows r in [begin, end) and every token t.
// w: [n_out, n_in], x: [n_tokens, n_in], out: [n_tokens, n_out]. The decode kernel: tuned for
// a few tokens (at most kMaxDecodeTokens held on chip), each weight row streamed once.
void matvec_f32(const float* w, const float* x, float* out, int n_tokens, int n_in, int n_out,
                int begin, int end);
// As matvec_f32, tuned for many tokens (prefill): tiles of weight rows reused by every token.
// Same arithmetic as matvec_f32, so every output is bit-identical for any n_tokens.
void matmul_f32(const float* w, const float* x, float* out, int n_tokens, int n_in, int n_out,
                int begin, int end);
// As matvec_f32 with Q8_0 weights and Q8_0-quantized activations: int8 products summed in
// int32 per block, scaled by both block scales and summed in float.
void matvec_q8_0(const fabric::BlockQ8_0* w, const fabric::BlockQ8_0* x, float* out,
                 int n_tokens, int n_in, int n_out, int begin, int end);
// As matmul_f32 with Q8_0 weights and activations; bit-identical to matvec_q8_0.
void matmul_q8_0(const fabric::BlockQ8_0* w, const fabric::BlockQ8_0* x, float* out,
                 int n_tokens, int n_in, int n_out, int begin, int end);
// Rotates adjacent pairs (2i, 2i+1) of every head of q: [tokens, q_dim] and k: [tokens, kv_dim]
// in place by angle positions[t] * theta^(-2i / head_dim), for tokens t in [begin, end).
void rope(float* q, float* k, const int* positions, int q_dim, int kv_dim, int head_dim,
          float theta, int begin, int end);
// Copies k[t, :] and v[t, :] (each kv_dim wide) into row slots[t] of the caches.
void kv_store(const float* k, const float* v, float* k_cache, float* v_cache, const int* slots,
              int kv_dim, int begin, int end);
// Causal grouped-query attention for work items i = t * n_heads + h in [begin, end): token t of
// sequence token_seqs[t] at position positions[t] attends to that sequence's positions
// 0..positions[t], whose keys and values sit in cache rows
// block_tables[seq * max_blocks + p / block_size] * block_size + p % block_size.
// q, out: [tokens, n_heads * head_dim]; caches: [rows, n_kv_heads * head_dim].
void attention(const float* q, const float* k_cache, const float* v_cache,
               const int* block_tables, const int* token_seqs, const int* positions, float* out,
               int n_heads, int n_kv_heads, int head_dim, int block_size, int max_blocks,
               int begin, int end);
// out[i] = silu(gate[i]) * up[i] for elements i in [begin, end).
void swiglu(const float* gate, const float* up, float* out, int begin, int end);
// x[i] += delta[i] for elements i in [begin, end).
void residual_add(float* x, const float* delta, int begin, int end);

// The fused decode layer's attention half (kernels/decode_attention_block.h): for decode
// tokens t in [begin, end), x[t] += (or out[t] =, when residual is 0) the card's attention
// output projection of x[t], storing t's key and value in the cache.
void decode_attention_f32(float* x, const float* norm, const float* wq, const float* wk,
                          const float* wv, const float* wo, float* k_cache, float* v_cache,
                          const int* block_tables, const int* token_seqs, const int* positions,
                          const int* slots, float* out, int dim, int n_heads, int n_kv_heads,
                          int head_dim, float eps, float theta, int block_size, int max_blocks,
                          int residual, int begin, int end);
void decode_attention_q8_0(float* x, const float* norm, const fabric::BlockQ8_0* wq,
                           const fabric::BlockQ8_0* wk, const fabric::BlockQ8_0* wv,
                           const fabric::BlockQ8_0* wo, float* k_cache, float* v_cache,
                           const int* block_tables, const int* token_seqs, const int* positions,
                           const int* slots, float* out, int dim, int n_heads, int n_kv_heads,
                           int head_dim, float eps, float theta, int block_size, int max_blocks,
                           int residual, int begin, int end);
// The fused decode layer's feed-forward half (kernels/decode_ffn_block.h): for decode tokens
// t in [begin, end), x[t] += (or out[t] =, when residual is 0) the card's SwiGLU FFN of x[t].
void decode_ffn_f32(float* x, const float* norm, const float* w_gate, const float* w_up,
                    const float* w_down, float* out, int dim, int hidden_dim, float eps,
                    int residual, int begin, int end);
void decode_ffn_q8_0(float* x, const float* norm, const fabric::BlockQ8_0* w_gate,
                     const fabric::BlockQ8_0* w_up, const fabric::BlockQ8_0* w_down, float* out,
                     int dim, int hidden_dim, float eps, int residual, int begin, int end);

}  // extern "C"

#endif  // FABRIC_KERNELS_KERNELS_H_
