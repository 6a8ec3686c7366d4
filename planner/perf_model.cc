#include "planner/perf_model.h"

#include <algorithm>
#include <cmath>

#include "kernels/kernel_signatures.h"

namespace fabric::planner {
namespace {

// quantize_q8_0 output: 32 int8 values and an fp16 scale per block.
constexpr double kQ8BytesPerValue = 34.0 / 32;

using Launch = std::vector<OperatorWork>;

// What the launch builders need about one step on one card.
struct StepContext {
  const ModelShape& shape;
  const SliceWidths widths;
  const MatrixEngine& engine;
  const StepShape& step;
  int tensor_parallel;
  double tokens;  // T: new tokens of all sequences
  double keys;    // key positions each query attends
  double act;     // bytes per activation value in card memory
  bool quantizes; // integer kernels quantize wider activations before each product
};

double Ceil(double x) { return std::ceil(x - 1e-9); }

// Bytes per input value a product reads: quantized, or as the activations are stored.
double InputBytes(const StepContext& c) { return c.quantizes ? kQ8BytesPerValue : c.act; }

OperatorWork Matrix(const StepContext& c, std::string_view name, OperatorClass op, double n_in,
                    double n_out) {
  const bool sparse = op != OperatorClass::kHead;  // the classifier is stored dense
  const Sparsity& sp = c.shape.sparsity;
  const double density = sparse ? sp.density() : 1.0;
  const double bits = c.shape.weight_bits + (sparse ? sp.index_bits() : 0);
  const double tile = c.engine.TileTokens(n_in * c.shape.compute_bits / 8.0);
  return OperatorWork{
      .name = name,
      .op = op,
      .macs = c.tokens * n_in * n_out * density,
      .weight_bytes = n_in * n_out * density * bits / 8,
      .weight_passes = Ceil(c.tokens / tile),
      .other_bytes = c.engine.fused ? 0 : c.tokens * (n_in * InputBytes(c) + n_out * c.act)};
}

// Elementwise work over `width` values of every token, touching `arrays` arrays of them.
OperatorWork Vector(const StepContext& c, std::string_view name, double width, double passes,
                    double arrays) {
  const double bytes = c.engine.fused ? 0 : c.tokens * width * arrays * c.act;
  return {.name = name, .other_bytes = bytes, .vector_elements = c.tokens * width * passes};
}

OperatorWork Quantize(const StepContext& c, double width) {
  return {.name = "quantize",
          .other_bytes = c.tokens * width * (c.act + kQ8BytesPerValue),
          .vector_elements = c.tokens * width};
}

OperatorWork Attention(const StepContext& c) {
  const double head_dim = c.shape.head_dim(), kv = c.shape.kv_bits / 8.0;
  const double heads = c.widths.q_dim / head_dim;
  // Keys and values streamed: once per sequence when they stay on chip, else once per query
  // head of every token.
  const double streamed = c.engine.attention_on_chip
                              ? c.step.sequences * c.keys * 2 * c.widths.kv_dim * kv
                              : c.tokens * c.keys * 2 * c.widths.q_dim * kv;
  const double queries = c.engine.fused ? 0 : 2 * c.tokens * c.widths.q_dim * c.act;
  return {.name = "attention",
          .op = OperatorClass::kAttention,
          .macs = 2 * c.tokens * c.keys * head_dim * heads,  // scores and context
          .other_bytes = streamed + queries};
}

OperatorWork KvStore(const StepContext& c) {
  const double values = c.tokens * 2 * c.widths.kv_dim;
  const double read = c.engine.fused ? 0 : values * c.act;
  return {.name = "kv_store", .other_bytes = read + values * c.shape.kv_bits / 8.0};
}

// Q, K, V, rotation, cache write, attention and output projection: the first half layer.
Launch AttentionOperators(const StepContext& c) {
  const double d = c.shape.dim;
  Launch ops = {Matrix(c, "qkv", OperatorClass::kProjection, d, c.widths.q_dim),
                Matrix(c, "qkv", OperatorClass::kProjection, d, c.widths.kv_dim),
                Matrix(c, "qkv", OperatorClass::kProjection, d, c.widths.kv_dim)};
  if (c.shape.rotary) ops.push_back(Vector(c, "rope", c.widths.q_dim + c.widths.kv_dim, 1, 2));
  ops.push_back(KvStore(c));
  ops.push_back(Attention(c));
  ops.push_back(Matrix(c, "output", OperatorClass::kProjection, c.widths.q_dim, d));
  return ops;
}

// The FFN matrices and activation: the second half layer.
Launch FfnOperators(const StepContext& c) {
  const double d = c.shape.dim, f = c.widths.ffn;
  Launch ops;
  if (c.shape.ffn_kind == FfnKind::kSwiGlu) {
    ops.push_back(Matrix(c, "ffn", OperatorClass::kFfn, d, f));  // gate
  }
  ops.push_back(Matrix(c, "ffn", OperatorClass::kFfn, d, f));
  ops.push_back(Vector(c, "activation", f, 1, c.shape.ffn_matrices()));
  ops.push_back(Matrix(c, "ffn", OperatorClass::kFfn, f, d));
  return ops;
}

// One launch per operator, as CardProgram::Layer issues them: each half layer's norm, its
// products (quantize_q8_0 first wherever a product takes a new input) and a residual add.
std::vector<Launch> UnfusedLayer(const StepContext& c) {
  const double d = c.shape.dim;
  std::vector<Launch> launches;
  auto add = [&launches](const OperatorWork& op) { launches.push_back({op}); };
  auto quantize = [&](double width) {
    if (c.quantizes) add(Quantize(c, width));
  };
  const Launch halves[] = {AttentionOperators(c), FfnOperators(c)};
  const double last_inputs[] = {static_cast<double>(c.widths.q_dim),
                                static_cast<double>(c.widths.ffn)};
  for (int half = 0; half < 2; ++half) {
    add(Vector(c, "norm", d, 2, 2));
    quantize(d);
    const Launch& ops = halves[half];
    for (size_t i = 0; i + 1 < ops.size(); ++i) add(ops[i]);
    quantize(last_inputs[half]);  // the output and down projections read a new input
    add(ops.back());
    add(Vector(c, "residual", d, 1, 3));
  }
  return launches;
}

// The fused decode layer: two launches with every intermediate on chip; a tensor-parallel
// slice adds each half's all-reduced output in a residual_add launch.
std::vector<Launch> FusedLayer(const StepContext& c) {
  const double d = c.shape.dim, load_store = 2 * c.tokens * d * c.act;
  std::vector<Launch> launches;
  for (int half = 0; half < 2; ++half) {
    OperatorWork norm = Vector(c, "norm", d, 2, 0);
    norm.other_bytes = load_store;
    Launch launch = {norm};
    for (const OperatorWork& op : half == 0 ? AttentionOperators(c) : FfnOperators(c)) {
      launch.push_back(op);
    }
    launches.push_back(launch);
    if (c.tensor_parallel > 1) {
      OperatorWork residual = Vector(c, "residual", d, 1, 0);
      residual.other_bytes = 3 * c.tokens * d * c.act;
      launches.push_back({residual});
    }
  }
  return launches;
}

void AddLaunches(const std::vector<Launch>& launches, double times, const MatrixEngine& engine,
                 const BitstreamProfile& profile, const CardSpec& card, PhaseCost* cost) {
  auto add = [cost](std::string_view name, const Cost& part) {
    auto it = std::find_if(cost->operators.begin(), cost->operators.end(),
                           [name](const auto& entry) { return entry.first == name; });
    if (it == cost->operators.end()) it = cost->operators.insert(it, {name, Cost{}});
    it->second += part;
  };
  for (const Launch& launch : launches) {
    const Cost whole = LaunchCost(launch, engine, profile, card).Scaled(times);
    cost->total += whole;
    cost->launches += static_cast<int>(times);
    add("launch", {.overhead_seconds = whole.overhead_seconds});
    for (const OperatorWork& op : launch) {
      add(op.name, OperatorCost(op, engine, profile, card).Scaled(times));
    }
  }
}

const MatrixEngine* ProductEngine(const BitstreamProfile& profile, Phase phase) {
  const MatrixEngine& first = phase == Phase::kPrefill ? profile.gemm : profile.gemv;
  const MatrixEngine& second = phase == Phase::kPrefill ? profile.gemv : profile.gemm;
  if (first.present) return &first;
  return second.present ? &second : nullptr;
}

// Embedding gather on the first stage; final norm and classifier rows on the last.
void AddEnds(const StepContext& c, const CardSlice& slice, const BitstreamProfile& profile,
             const CardSpec& card, PhaseCost* cost) {
  const double d = c.shape.dim;
  if (slice.embedding) {
    const double bytes = c.tokens * d * (c.shape.weight_bits / 8 + c.act);
    AddLaunches({{{.name = "embedding", .other_bytes = bytes}}}, 1, c.engine, profile, card, cost);
  }
  const MatrixEngine* engine = ProductEngine(profile, c.step.phase);
  if (!slice.classifier || engine == nullptr) return;
  // Logits only for each sequence's last token.
  const StepShape rows{.phase = c.step.phase, .sequences = c.step.sequences};
  const StepContext h{c.shape, c.widths, *engine, rows, c.tensor_parallel,
                      static_cast<double>(c.step.sequences), 0, c.act, c.quantizes};
  std::vector<Launch> launches = {{Vector(h, "head", d, 0, 2)}, {Vector(h, "norm", d, 2, 2)}};
  if (h.quantizes) launches.push_back({Quantize(h, d)});
  launches.push_back({Matrix(h, "head", OperatorClass::kHead, d, c.widths.vocab)});
  AddLaunches(launches, 1, *engine, profile, card, cost);
}

}  // namespace

SliceWidths WidthsOf(const ModelShape& shape, int tensor_parallel) {
  const int tp = std::max(tensor_parallel, 1);
  auto split = [tp](int n) { return (n + tp - 1) / tp; };
  const int kv_heads = std::max(1, shape.n_kv_heads / tp);
  return {.q_dim = split(shape.n_heads) * shape.head_dim(),
          .kv_dim = kv_heads * shape.head_dim(),
          .ffn = split(shape.ffn_dim),
          .vocab = split(shape.vocab_size)};
}

const MatrixEngine* EngineFor(const ModelShape& shape, const CardSlice& slice,
                              const BitstreamProfile& profile, Phase phase, int tokens) {
  if (phase == Phase::kPrefill) return ProductEngine(profile, phase);
  const SliceWidths w = WidthsOf(shape, slice.tensor_parallel);
  if (profile.fused.present && tokens <= profile.fused.tile_tokens &&
      FitsFusedDecode(shape.dim, w.q_dim, w.kv_dim, w.ffn)) {
    return &profile.fused;
  }
  return ProductEngine(profile, phase);
}

namespace {

StepContext ContextOf(const ModelShape& shape, const CardSlice& slice, const MatrixEngine& engine,
                      const StepShape& step) {
  // As in Chen et al., a prompt's queries each attend all l positions (l^2 d, the causal
  // mask not halving it); a decode token attends the cache and itself.
  const double keys = step.phase == Phase::kPrefill ? step.context + step.new_tokens
                                                    : step.context + 1;
  return StepContext{shape,
                     WidthsOf(shape, slice.tensor_parallel),
                     engine,
                     step,
                     slice.tensor_parallel,
                     static_cast<double>(step.sequences) * step.new_tokens,
                     keys,
                     shape.activation_bits / 8.0,
                     shape.compute_bits <= 8 && shape.activation_bits > 8};
}

}  // namespace

std::vector<std::vector<OperatorWork>> LayerLaunches(const ModelShape& shape,
                                                     const CardSlice& slice,
                                                     const MatrixEngine& engine,
                                                     const StepShape& step) {
  const StepContext c = ContextOf(shape, slice, engine, step);
  return engine.fused ? FusedLayer(c) : UnfusedLayer(c);
}

PhaseCost StepCost(const ModelShape& shape, const CardSlice& slice, const CardSpec& card,
                   const BitstreamProfile& profile, const StepShape& step) {
  PhaseCost cost;
  const int tokens = step.sequences * step.new_tokens;
  const MatrixEngine* engine = EngineFor(shape, slice, profile, step.phase, tokens);
  if (engine == nullptr || tokens <= 0) return cost;
  const StepContext c = ContextOf(shape, slice, *engine, step);
  AddLaunches(LayerLaunches(shape, slice, *engine, step), slice.layers, *engine, profile, card,
              &cost);
  AddEnds(c, slice, profile, card, &cost);
  return cost;
}

PhaseCost PrefillCost(const ModelShape& shape, const CardSlice& slice, const CardSpec& card,
                      const BitstreamProfile& profile, int sequences, int prompt_tokens) {
  return StepCost(shape, slice, card, profile,
                  {.phase = Phase::kPrefill, .sequences = sequences, .new_tokens = prompt_tokens});
}

PhaseCost DecodeCost(const ModelShape& shape, const CardSlice& slice, const CardSpec& card,
                     const BitstreamProfile& profile, int sequences, int context) {
  return StepCost(shape, slice, card, profile,
                  {.phase = Phase::kDecode, .sequences = sequences, .context = context});
}

}  // namespace fabric::planner
