// The kernel-signature table: the one description of every kernel's interface.
// The HLS sources implement it (their INTERFACE pragmas name the same ports and bundles), the
// mock device binds it to the g++-compiled functions (checked at compile time), and the XRT
// device and the xclbin writer check bitstreams against it.
//
// Convention: every kernel's last two arguments are `begin` and `end`, a half-open range of
// independent work items (rows, tokens or elements, as each kernel's comment says). A device
// splits a launch's range across its compute units.
#ifndef FABRIC_KERNELS_KERNEL_SIGNATURES_H_
#define FABRIC_KERNELS_KERNEL_SIGNATURES_H_

#include <array>
#include <span>
#include <string_view>

namespace fabric {

// Longest sequence the attention kernel handles (its on-chip score buffer).
inline constexpr int kMaxAttentionContext = 8192;
// Widest attention head the attention kernel handles (its on-chip accumulator).
inline constexpr int kMaxHeadDim = 256;
// Tokens the matvec_* (decode) kernels hold on chip at once. A larger batch is computed in
// groups of this many, each streaming the weights again: launch matmul_* for those.
inline constexpr int kMaxDecodeTokens = 64;

// The fused decode kernels (decode_attention_*, decode_ffn_*) hold the activations of up to
// kFusedDecodeTokens tokens on chip at once, each of the model's widths on one card (model
// dimension, query and key/value widths) up to kMaxFusedWidth and its FFN columns up to
// kMaxFusedHidden (Llama 2 7B and 3 8B unsplit fit).
inline constexpr int kFusedDecodeTokens = 16;
inline constexpr int kMaxFusedWidth = 4096;
inline constexpr int kMaxFusedHidden = 14336;

// Whether a card's slice of a layer fits the fused decode kernels' on-chip buffers. The
// widths must also be whole Q8_0 blocks for quantized weights, as for every matrix product.
constexpr bool FitsFusedDecode(int dim, int q_dim, int kv_dim, int hidden_dim) {
  return dim <= kMaxFusedWidth && q_dim <= kMaxFusedWidth && kv_dim <= kMaxFusedWidth &&
         hidden_dim <= kMaxFusedHidden;
}

enum class ArgKind { kBuffer, kInt, kFloat };

// The name of `kind` in messages: "buffer", "int" or "float".
constexpr std::string_view ArgKindName(ArgKind kind) {
  switch (kind) {
    case ArgKind::kBuffer:
      return "buffer";
    case ArgKind::kInt:
      return "int";
    case ArgKind::kFloat:
      return "float";
  }
  return "?";
}

struct ArgSpec {
  std::string_view name;
  ArgKind kind;
  // AXI master bundle of a buffer argument (its memory port); empty for scalars.
  std::string_view bundle;
};

struct KernelSpec {
  std::string_view name;
  std::span<const ArgSpec> args;
};

namespace kernel_args {
// Bundles: weights stream on their own ports, activations in, activations out.
inline constexpr std::string_view kWeights = "gmem_w";
inline constexpr std::string_view kInput = "gmem_in";
inline constexpr std::string_view kOutput = "gmem_out";
inline constexpr std::string_view kCache = "gmem_kv";
inline constexpr std::string_view kIndex = "gmem_idx";

constexpr ArgSpec Buffer(std::string_view name, std::string_view bundle) {
  return {name, ArgKind::kBuffer, bundle};
}
constexpr ArgSpec Int(std::string_view name) { return {name, ArgKind::kInt, ""}; }
constexpr ArgSpec Float(std::string_view name) { return {name, ArgKind::kFloat, ""}; }

inline constexpr ArgSpec kGatherF32[] = {
    Buffer("table", kWeights), Buffer("rows", kIndex), Buffer("out", kOutput),
    Int("row_len"), Int("begin"), Int("end")};
inline constexpr ArgSpec kGatherQ8_0[] = {
    Buffer("table", kWeights), Buffer("rows", kIndex), Buffer("out", kOutput),
    Int("row_len"), Int("begin"), Int("end")};
inline constexpr ArgSpec kRmsnorm[] = {
    Buffer("x", kInput), Buffer("weight", kWeights), Buffer("out", kOutput),
    Int("dim"), Float("eps"), Int("begin"), Int("end")};
inline constexpr ArgSpec kQuantizeQ8_0[] = {
    Buffer("x", kInput), Buffer("out", kOutput), Int("row_len"), Int("begin"), Int("end")};
// matvec_* (decode) and matmul_* (prefill), f32 and q8_0: one interface, so a program launches
// whichever its card's profile offers with the same arguments.
inline constexpr ArgSpec kMatrixProduct[] = {
    Buffer("w", kWeights), Buffer("x", kInput), Buffer("out", kOutput),
    Int("n_tokens"), Int("n_in"), Int("n_out"), Int("begin"), Int("end")};
inline constexpr ArgSpec kRope[] = {
    Buffer("q", kInput), Buffer("k", kOutput), Buffer("positions", kIndex),
    Int("q_dim"), Int("kv_dim"), Int("head_dim"), Float("theta"), Int("begin"), Int("end")};
inline constexpr ArgSpec kKvStore[] = {
    Buffer("k", kInput), Buffer("v", kInput), Buffer("k_cache", kCache),
    Buffer("v_cache", kCache), Buffer("slots", kIndex), Int("kv_dim"), Int("begin"),
    Int("end")};
inline constexpr ArgSpec kAttention[] = {
    Buffer("q", kInput), Buffer("k_cache", kCache), Buffer("v_cache", kCache),
    Buffer("block_tables", kIndex), Buffer("token_seqs", kIndex), Buffer("positions", kIndex),
    Buffer("out", kOutput), Int("n_heads"), Int("n_kv_heads"), Int("head_dim"),
    Int("block_size"), Int("max_blocks"), Int("begin"), Int("end")};
inline constexpr ArgSpec kSwiglu[] = {
    Buffer("gate", kInput), Buffer("up", kInput), Buffer("out", kOutput), Int("begin"),
    Int("end")};
inline constexpr ArgSpec kResidualAdd[] = {
    Buffer("x", kOutput), Buffer("delta", kInput), Int("begin"), Int("end")};
// The fused decode layer, in two halves that end where tensor parallelism all-reduces.
inline constexpr ArgSpec kDecodeAttention[] = {
    Buffer("x", kOutput), Buffer("norm", kWeights), Buffer("wq", kWeights),
    Buffer("wk", kWeights), Buffer("wv", kWeights), Buffer("wo", kWeights),
    Buffer("k_cache", kCache), Buffer("v_cache", kCache), Buffer("block_tables", kIndex),
    Buffer("token_seqs", kIndex), Buffer("positions", kIndex), Buffer("slots", kIndex),
    Buffer("out", kOutput), Int("dim"), Int("n_heads"), Int("n_kv_heads"), Int("head_dim"),
    Float("eps"), Float("theta"), Int("block_size"), Int("max_blocks"), Int("residual"),
    Int("begin"), Int("end")};
inline constexpr ArgSpec kDecodeFfn[] = {
    Buffer("x", kOutput), Buffer("norm", kWeights), Buffer("w_gate", kWeights),
    Buffer("w_up", kWeights), Buffer("w_down", kWeights), Buffer("out", kOutput), Int("dim"),
    Int("hidden_dim"), Float("eps"), Int("residual"), Int("begin"), Int("end")};
}  // namespace kernel_args

// Every kernel Fabric's programs launch, by the name of its extern "C" top function.
inline constexpr std::array<KernelSpec, 17> kKernelSpecs = {{
    {"gather_f32", kernel_args::kGatherF32},
    {"gather_q8_0", kernel_args::kGatherQ8_0},
    {"rmsnorm", kernel_args::kRmsnorm},
    {"quantize_q8_0", kernel_args::kQuantizeQ8_0},
    {"matvec_f32", kernel_args::kMatrixProduct},
    {"matmul_f32", kernel_args::kMatrixProduct},
    {"matvec_q8_0", kernel_args::kMatrixProduct},
    {"matmul_q8_0", kernel_args::kMatrixProduct},
    {"rope", kernel_args::kRope},
    {"kv_store", kernel_args::kKvStore},
    {"attention", kernel_args::kAttention},
    {"swiglu", kernel_args::kSwiglu},
    {"residual_add", kernel_args::kResidualAdd},
    {"decode_attention_f32", kernel_args::kDecodeAttention},
    {"decode_attention_q8_0", kernel_args::kDecodeAttention},
    {"decode_ffn_f32", kernel_args::kDecodeFfn},
    {"decode_ffn_q8_0", kernel_args::kDecodeFfn},
}};

// The spec named `name`, or nullptr.
constexpr const KernelSpec* FindKernelSpec(std::string_view name) {
  for (const KernelSpec& spec : kKernelSpecs) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

}  // namespace fabric

#endif  // FABRIC_KERNELS_KERNEL_SIGNATURES_H_
