#include "planner/kernel_timing.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kernels/kernel_signatures.h"
#include "planner/bitstream_profile.h"
#include "planner/perf_model.h"

namespace fabric::planner {
namespace {

constexpr double kF32Bytes = 4;
constexpr double kQ8Bytes = 34.0 / 32;  // Q8_0: 32 int8 values and an fp16 scale

// A launch's int arguments, looked up by name.
class Args {
 public:
  explicit Args(const KernelLaunch& launch) : launch_(launch) {}

  absl::StatusOr<double> Get(std::string_view name) const {
    for (const auto& [arg, value] : launch_.ints) {
      if (arg == name) return static_cast<double>(value);
    }
    return absl::InvalidArgumentError(absl::StrCat(std::string(launch_.kernel),
                                                   ": no int argument '", std::string(name), "'"));
  }
  // end - begin: the launch's work items.
  absl::StatusOr<double> Items() const {
    ASSIGN_OR_RETURN(const double begin, Get("begin"));
    ASSIGN_OR_RETURN(const double end, Get("end"));
    return std::max(0.0, end - begin);
  }

 private:
  const KernelLaunch& launch_;
};

// What a launch does, on which engine.
struct Work {
  std::vector<OperatorWork> operators;
  const MatrixEngine* engine = nullptr;
};

bool Quantized(std::string_view kernel) { return kernel.ends_with("_q8_0"); }

// The precision a kernel computes in, as a shape for the profile and the layer builders.
ModelShape PrecisionOf(std::string_view kernel) {
  ModelShape shape;
  ApplyPrecision(Quantized(kernel) ? "q8_0" : "f32", &shape).IgnoreError();
  return shape;
}

OperatorWork Elementwise(std::string_view name, double elements, double bytes) {
  return {.name = name, .other_bytes = bytes, .vector_elements = elements};
}

absl::StatusOr<Work> MatrixProduct(const KernelLaunch& launch, const Args& args,
                                   const BitstreamProfile& profile) {
  const bool gemm = launch.kernel.starts_with("matmul");
  const MatrixEngine& engine = gemm ? profile.gemm : profile.gemv;
  ASSIGN_OR_RETURN(const double tokens, args.Get("n_tokens"));
  ASSIGN_OR_RETURN(const double n_in, args.Get("n_in"));
  ASSIGN_OR_RETURN(const double rows, args.Items());
  const bool q8 = Quantized(launch.kernel);
  const double in_bytes = q8 ? kQ8Bytes : kF32Bytes;
  const double tile = engine.TileTokens(n_in * (q8 ? 1 : kF32Bytes));
  return Work{{{.name = "product",
                .macs = tokens * n_in * rows,
                .weight_bytes = rows * n_in * in_bytes,
                .weight_passes = std::ceil(tokens / tile),
                .other_bytes = tokens * (n_in * in_bytes + rows * kF32Bytes)}},
              &engine};
}

absl::StatusOr<Work> Attention(const KernelLaunch& launch, const Args& args,
                               const BitstreamProfile& profile) {
  ASSIGN_OR_RETURN(const double head_dim, args.Get("head_dim"));
  ASSIGN_OR_RETURN(const double items, args.Items());
  const double keys = static_cast<double>(launch.attended_keys);
  const MatrixEngine& engine = profile.gemv.present ? profile.gemv : profile.gemm;
  return Work{{{.name = "attention",
                .op = OperatorClass::kAttention,
                .macs = 2 * keys * head_dim,
                .other_bytes = keys * head_dim * 2 * kF32Bytes + items * head_dim * 2 * kF32Bytes}},
              &engine};
}

// decode_attention_* and decode_ffn_*: one half of the phase model's fused layer, for a card
// slice rebuilt from the arguments.
absl::StatusOr<Work> FusedHalf(const KernelLaunch& launch, const Args& args,
                               const BitstreamProfile& profile) {
  const bool attention = launch.kernel.starts_with("decode_attention");
  ModelShape shape = PrecisionOf(launch.kernel);
  ASSIGN_OR_RETURN(const double dim, args.Get("dim"));
  ASSIGN_OR_RETURN(const double tokens, args.Items());
  shape.dim = static_cast<int>(dim);
  int tp = 1;
  shape.n_heads = shape.n_kv_heads = 1;
  shape.ffn_dim = shape.dim;
  if (attention) {
    ASSIGN_OR_RETURN(const double heads, args.Get("n_heads"));
    ASSIGN_OR_RETURN(const double kv_heads, args.Get("n_kv_heads"));
    ASSIGN_OR_RETURN(const double head_dim, args.Get("head_dim"));
    // The card's heads are a 1/tp share of the model's dim / head_dim heads.
    shape.n_heads = static_cast<int>(dim / head_dim);
    tp = std::max(1, static_cast<int>(shape.n_heads / heads));
    shape.n_kv_heads = std::min(shape.n_heads, static_cast<int>(kv_heads) * tp);
  } else {
    ASSIGN_OR_RETURN(const double hidden, args.Get("hidden_dim"));
    shape.ffn_dim = static_cast<int>(hidden);
  }
  const int context = tokens > 0 ? static_cast<int>(launch.attended_keys / tokens) - 1 : 0;
  const StepShape step{.phase = Phase::kDecode, .sequences = static_cast<int>(tokens),
                       .context = std::max(context, 0)};
  const auto launches =
      LayerLaunches(shape, {.layers = 1, .tensor_parallel = tp}, profile.fused, step);
  return Work{launches[attention ? 0 : launches.size() / 2], &profile.fused};
}

absl::StatusOr<Work> ElementwiseWork(const KernelLaunch& launch, const Args& args,
                                     const BitstreamProfile& profile) {
  const std::string_view k = launch.kernel;
  ASSIGN_OR_RETURN(const double items, args.Items());
  Work work{{}, profile.gemv.present ? &profile.gemv : &profile.gemm};
  if (k.starts_with("gather")) {
    ASSIGN_OR_RETURN(const double row, args.Get("row_len"));
    const double table = Quantized(k) ? kQ8Bytes : kF32Bytes;
    work.operators = {Elementwise("embedding", 0, items * row * (table + kF32Bytes))};
  } else if (k == "rmsnorm") {
    ASSIGN_OR_RETURN(const double dim, args.Get("dim"));
    work.operators = {Elementwise("norm", 2 * items * dim, 2 * items * dim * kF32Bytes)};
  } else if (k == "quantize_q8_0") {
    ASSIGN_OR_RETURN(const double row, args.Get("row_len"));
    work.operators = {Elementwise("quantize", items * row, items * row * (kF32Bytes + kQ8Bytes))};
  } else if (k == "rope") {
    ASSIGN_OR_RETURN(const double q_dim, args.Get("q_dim"));
    ASSIGN_OR_RETURN(const double kv_dim, args.Get("kv_dim"));
    const double values = items * (q_dim + kv_dim);
    work.operators = {Elementwise("rope", values, 2 * values * kF32Bytes)};
  } else if (k == "kv_store") {
    ASSIGN_OR_RETURN(const double kv_dim, args.Get("kv_dim"));
    work.operators = {Elementwise("kv_store", 0, items * 2 * kv_dim * 2 * kF32Bytes)};
  } else {  // swiglu, residual_add: two inputs, one output per element
    work.operators = {Elementwise(k, items, 3 * items * kF32Bytes)};
  }
  return work;
}

absl::StatusOr<Work> WorkOf(const KernelLaunch& launch, const BitstreamProfile& profile) {
  const Args args(launch);
  const std::string_view k = launch.kernel;
  if (k.starts_with("matvec") || k.starts_with("matmul")) {
    return MatrixProduct(launch, args, profile);
  }
  const bool attention = k == "attention" || k.starts_with("decode_attention");
  if (attention && launch.attended_keys <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(k), ": attended_keys is needed to price attention"));
  }
  if (k == "attention") return Attention(launch, args, profile);
  if (k.starts_with("decode_")) return FusedHalf(launch, args, profile);
  return ElementwiseWork(launch, args, profile);
}

bool Offers(KernelProfile kind, std::string_view kernel) {
  const auto kernels = ProfileKernels(kind);
  return std::find(kernels.begin(), kernels.end(), kernel) != kernels.end();
}

}  // namespace

absl::StatusOr<Cost> PredictLaunch(const KernelLaunch& launch, const CardSpec& card,
                                   KernelProfile kind) {
  if (FindKernelSpec(launch.kernel) == nullptr) {
    return absl::NotFoundError(absl::StrCat("no kernel '", std::string(launch.kernel), "'"));
  }
  if (!Offers(kind, launch.kernel)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the ", std::string(ProfileName(kind)), " bitstream has no ", std::string(launch.kernel)));
  }
  const BitstreamProfile profile = DeriveProfile(card, kind, PrecisionOf(launch.kernel));
  ASSIGN_OR_RETURN(const Work work, WorkOf(launch, profile));
  return LaunchCost(work.operators, *work.engine, profile, card);
}

}  // namespace fabric::planner
