#include "server/plan_command.h"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/cli_args.h"
#include "common/status_macros.h"
#include "model/model_file.h"
#include "model/tensor.h"
#include "planner/plan_search.h"
#include "server/config/config_loader.h"

namespace fabric {
namespace {

using planner::CardSpec;
using planner::ModelShape;
using planner::PlanEstimate;

constexpr char kUsage[] =
    "usage: fabric plan --model FILE|SHAPE [--tokenizer FILE] (--config FILE | --cards CARD:N,...)\n"
    "                   [--goal latency|throughput] [--link pcie|qsfp] [--precision P]\n"
    "                   [--prompt-tokens N] [--output-tokens N] [--max-batch N] [--sparsity N:M]\n"
    "                   [--host-step-us US] [--top N]\n"
    "Predicts every tensor x pipeline parallel plan and prefill/decode split of the model on\n"
    "the cards with the analytical model (planner/README.md), marks the best for the goal\n"
    "(default latency) and says why the others do not fit. SHAPE is a named shape (llama2-7b,\n"
    "tinyllama-1.1b, gpt2-medium, ...; weights q8_0 unless --precision fp16|f32|q8_0|int4).\n"
    "Config cards name the card they are with `emulate: u280` or `custom: {...}`; --cards\n"
    "takes catalogue cards (u50, u55c, u280, v80, vck5000). Defaults: link pcie, 512-token\n"
    "prompts, 256 output tokens, 32 sequences per decode instance, 10 plans shown.\n"
    "--host-step-us adds the serving host's own time per step, which is not modeled:\n"
    "bench/run_emulation_bench.sh measures it on untimed cards (TPOT less kernel time per\n"
    "step); fabric_engine_host_seconds_total / fabric_engine_steps_total is the engine's share.";

constexpr double kGiB = double{1 << 30};
constexpr char kDefaultPrecision[] = "q8_0";

struct Options {
  ModelShape shape;
  planner::Cluster cluster;
  planner::Workload workload;
  planner::Goal goal = planner::Goal::kLatency;
  int top = 10;
};

absl::StatusOr<planner::Sparsity> ParseSparsity(const std::string& text) {
  std::vector<std::string> parts = absl::StrSplit(text, ':');
  planner::Sparsity sparsity;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &sparsity.n) ||
      !absl::SimpleAtoi(parts[1], &sparsity.m) || sparsity.n < 1 || sparsity.n > sparsity.m) {
    return absl::InvalidArgumentError(
        absl::StrCat("--sparsity must be N:M with 1 <= N <= M, e.g. 2:4, not '", text, "'"));
  }
  return sparsity;
}

absl::StatusOr<ModelShape> LoadShape(const CliArgs& flags) {
  const std::string model = flags.GetString("model");
  ModelShape shape;
  std::string precision = flags.GetString("precision", kDefaultPrecision);
  if (absl::StatusOr<ModelShape> named = planner::NamedShape(model); named.ok()) {
    shape = *named;
  } else if (std::filesystem::exists(model)) {
    ASSIGN_OR_RETURN(std::unique_ptr<ModelFile> file,
                     ModelFile::Open(model, flags.GetString("tokenizer")));
    if (!flags.Has("precision")) precision = PrecisionOfFile(*file);
    ASSIGN_OR_RETURN(shape, ShapeFromModelConfig(file->config(), precision));
  } else {
    return absl::NotFoundError(absl::StrCat("--model: no file '", model, "' and no named shape (",
                                            absl::StrJoin(planner::ShapeNames(), ", "), ")"));
  }
  RETURN_IF_ERROR(planner::ApplyPrecision(precision, &shape));
  if (flags.Has("sparsity")) {
    ASSIGN_OR_RETURN(shape.sparsity, ParseSparsity(flags.GetString("sparsity")));
  }
  RETURN_IF_ERROR(planner::ValidateShape(shape));
  return shape;
}

// "u280:4,v80:2": catalogue cards and how many of each, in order.
absl::StatusOr<std::vector<CardSpec>> ParseCards(const std::string& text) {
  std::vector<CardSpec> cards;
  const std::vector<std::string> items = absl::StrSplit(text, ',');
  for (const std::string& item : items) {
    std::vector<std::string> parts = absl::StrSplit(item, ':');
    int count = 1;
    if (parts.size() > 2 || (parts.size() == 2 && !absl::SimpleAtoi(parts[1], &count)) ||
        count < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("--cards: '", item, "' is not CARD or CARD:COUNT, e.g. u280:4"));
    }
    ASSIGN_OR_RETURN(const CardSpec card, planner::FindCard(parts[0]));
    cards.insert(cards.end(), count, card);
  }
  return cards;
}

absl::StatusOr<planner::Cluster> LoadCluster(const CliArgs& flags, v1::ClusterConfig* config) {
  if (flags.Has("config") == flags.Has("cards")) {
    return absl::InvalidArgumentError("give the cluster as --config FILE or as --cards u280:4");
  }
  planner::Cluster cluster;
  if (flags.Has("config")) {
    ASSIGN_OR_RETURN(*config, LoadClusterConfig(flags.GetString("config")));
    ASSIGN_OR_RETURN(cluster.cards, CardsFromConfig(*config));
  } else {
    ASSIGN_OR_RETURN(cluster.cards, ParseCards(flags.GetString("cards")));
  }
  ASSIGN_OR_RETURN(const planner::LinkKind link,
                   planner::ParseLinkKind(flags.GetString("link", "pcie")));
  ASSIGN_OR_RETURN(cluster.link, planner::DefaultLink(link, cluster.cards));
  return cluster;
}

absl::StatusOr<Options> ParseOptions(const CliArgs& flags) {
  RETURN_IF_ERROR(flags.Require({"model"}));
  Options options;
  v1::ClusterConfig config;
  ASSIGN_OR_RETURN(options.cluster, LoadCluster(flags, &config));
  ASSIGN_OR_RETURN(options.shape, LoadShape(flags));
  ASSIGN_OR_RETURN(options.goal, planner::ParseGoal(flags.GetString("goal", "latency")));
  planner::Workload& w = options.workload;
  const int batch = config.model().max_sequences() > 0 ? config.model().max_sequences() : 32;
  ASSIGN_OR_RETURN(w.prompt_tokens, flags.GetInt("prompt-tokens", w.prompt_tokens));
  ASSIGN_OR_RETURN(w.output_tokens, flags.GetInt("output-tokens", w.output_tokens));
  ASSIGN_OR_RETURN(w.max_batch, flags.GetInt("max-batch", batch));
  ASSIGN_OR_RETURN(const float host_step_us, flags.GetFloat("host-step-us", 0));
  w.host_step_seconds = host_step_us * 1e-6;
  ASSIGN_OR_RETURN(options.top, flags.GetInt("top", options.top));
  if (w.prompt_tokens < 1 || w.output_tokens < 1 || w.max_batch < 1 || options.top < 1) {
    return absl::InvalidArgumentError(
        "--prompt-tokens, --output-tokens, --max-batch and --top must be at least 1");
  }
  if (!(host_step_us >= 0)) {
    return absl::InvalidArgumentError("--host-step-us must be 0 or more");
  }
  return options;
}

std::string DescribeShape(const ModelShape& s) {
  const bool swiglu = s.ffn_kind == planner::FfnKind::kSwiGlu;
  std::string text = absl::StrFormat(
      "model %s: %d layers, width %d, %d heads (%d key/value), FFN %d %s, vocabulary %d; "
      "%.3g-bit weights, %d-bit activations and %d-bit KV cache, %d-bit arithmetic; %.2f B "
      "parameters",
      s.name, s.n_layers, s.dim, s.n_heads, s.n_kv_heads, s.ffn_dim, swiglu ? "SwiGLU" : "GELU",
      s.vocab_size, s.weight_bits, s.activation_bits, s.kv_bits, s.compute_bits,
      s.Parameters(/*tied=*/false) / 1e9);
  if (!s.sparsity.dense()) absl::StrAppend(&text, ", ", s.sparsity.n, ":", s.sparsity.m, " sparse");
  return text;
}

std::string DescribeCluster(const planner::Cluster& cluster) {
  std::vector<std::string> runs;
  for (size_t i = 0; i < cluster.cards.size();) {
    size_t j = i;
    while (j < cluster.cards.size() && cluster.cards[j].name == cluster.cards[i].name) ++j;
    const CardSpec& c = cluster.cards[i];
    runs.push_back(absl::StrFormat(
        "%d x %s (%.1f GiB %s at %.0f GB/s, %d DSP%s, %.0f MHz)", j - i, c.name,
        c.model_memory_bytes() / kGiB, c.model_memory_kind(), c.model_memory_bytes_per_second() / 1e9,
        c.dsp_slices, c.ai_engines > 0 ? absl::StrCat(" + ", c.ai_engines, " AIE") : "",
        c.kernel_clock_hz / 1e6));
    i = j;
  }
  const planner::Link& link = cluster.link;
  return absl::StrFormat("cluster: %s; link %s (%.1f GB/s, %.0f us per transfer)",
                         absl::StrJoin(runs, ", "),
                         link.kind == planner::LinkKind::kPcie ? "pcie" : "qsfp",
                         link.bytes_per_second / 1e9, link.latency_seconds * 1e6);
}

// The fullest card's memory: used / capacity in GiB.
std::string MemoryText(const PlanEstimate& e) {
  const planner::CardUse* fullest = nullptr;
  double fraction = -1;
  for (const planner::CardUse& use : e.cards) {
    const double used = (use.weight_bytes + use.kv_bytes + use.activation_bytes) / use.capacity_bytes;
    if (used > fraction) fraction = used, fullest = &use;
  }
  if (fullest == nullptr) return "-";
  return absl::StrFormat("%.1f/%.1f", fraction * fullest->capacity_bytes / kGiB,
                         fullest->capacity_bytes / kGiB);
}

std::string Row(const PlanEstimate& e, bool best) {
  return absl::StrFormat(
      "%s %-40s %8.1f %9.1f %9.2f %5d %9.1f %9s  %-9s %s/%s\n", best ? "*" : " ",
      e.plan.Describe(), e.ttft_seconds * 1e3, 1 / e.tpot_seconds, e.request_seconds, e.batch,
      e.aggregate_tokens_per_second, MemoryText(e), planner::BoundName(e.prefill_bound),
      planner::BoundName(e.decode_bound), planner::BoundName(e.batch_decode_bound));
}

std::string Render(const Options& o, const std::vector<PlanEstimate>& ranked) {
  const planner::Workload& w = o.workload;
  std::string text = absl::StrCat(DescribeShape(o.shape), "\n", DescribeCluster(o.cluster), "\n");
  absl::StrAppendFormat(&text,
                        "workload: %d-token prompts, %d output tokens, up to %d sequences per "
                        "decode instance; goal: %s\n\n",
                        w.prompt_tokens, w.output_tokens, w.max_batch, planner::GoalName(o.goal));
  absl::StrAppendFormat(&text, "  %-40s %8s %9s %9s %5s %9s %9s  %-9s %s\n", "plan", "TTFT ms",
                        "tok/s/seq", "request s", "batch", "agg tok/s", "GiB/card", "prefill",
                        "decode 1/batch");
  std::vector<const PlanEstimate*> rejected;
  int shown = 0;
  for (const PlanEstimate& e : ranked) {
    if (!e.fits) {
      rejected.push_back(&e);
    } else if (shown < o.top) {
      absl::StrAppend(&text, Row(e, shown++ == 0));
    }
  }
  if (shown == 0) absl::StrAppend(&text, "  (no plan fits)\n");
  for (planner::Goal goal : {planner::Goal::kLatency, planner::Goal::kThroughput}) {
    const PlanEstimate* best = planner::BestPlan(ranked, goal);
    if (best == nullptr) continue;
    absl::StrAppendFormat(&text, "best for %s: %s (request %.2f s, %.1f tokens/s aggregate)\n",
                          planner::GoalName(goal), best->plan.Describe(), best->request_seconds,
                          best->aggregate_tokens_per_second);
  }
  if (!rejected.empty()) absl::StrAppend(&text, "does not fit (", rejected.size(), "):\n");
  for (size_t i = 0; i < rejected.size() && i < static_cast<size_t>(o.top); ++i) {
    absl::StrAppend(&text, "  ", rejected[i]->reason, "\n");
  }
  if (rejected.size() > static_cast<size_t>(o.top)) {
    absl::StrAppend(&text, "  ... and ", rejected.size() - o.top, " more\n");
  }
  return text;
}

absl::StatusOr<CardSpec> CustomCard(const v1::CustomCardSpec& c) {
  CardSpec card{.name = c.name().empty() ? "custom" : c.name(), .product = "custom card"};
  if (c.dsp_family() == "dsp58") {
    card.dsp_family = planner::DspFamily::kDsp58;
  } else if (!c.dsp_family().empty() && c.dsp_family() != "dsp48e2") {
    return absl::InvalidArgumentError(absl::StrCat(
        "custom card '", card.name, "': dsp_family must be dsp48e2 or dsp58, not '",
        c.dsp_family(), "'"));
  }
  card.dsp_slices = c.dsp_slices();
  card.ai_engines = c.ai_engines();
  card.ai_engine_clock_hz = c.ai_engine_clock_mhz() * 1e6;
  card.onchip_bytes = c.onchip_memory_bytes();
  card.hbm_bytes = c.hbm_bytes();
  card.hbm_bytes_per_second = c.hbm_gigabytes_per_second() * 1e9;
  card.ddr_bytes = c.ddr_bytes();
  card.ddr_bytes_per_second = c.ddr_gigabytes_per_second() * 1e9;
  card.kernel_clock_hz = (c.kernel_clock_mhz() > 0 ? c.kernel_clock_mhz() : 300) * 1e6;
  card.power_watts = c.power_watts();
  card.qsfp_ports = c.qsfp_ports();
  card.qsfp_bits_per_second = c.qsfp_gigabits_per_second() * 1e9;
  // Unset, an Alveo data-center card's Gen3 x16.
  card.pcie_gen = c.pcie_gen() != 0 ? c.pcie_gen() : 3;
  card.pcie_lanes = c.pcie_lanes() != 0 ? c.pcie_lanes() : 16;
  RETURN_IF_ERROR(planner::ValidateCard(card));
  return card;
}

}  // namespace

std::string PrecisionOfFile(const ModelFile& model) {
  const Tensor* down = model.FindTensor(tensor_names::Layer(0, tensor_names::kFfnDown));
  return down != nullptr && down->type == TensorType::kQ8_0 ? "q8_0" : "f32";
}

absl::StatusOr<ModelShape> ShapeFromModelConfig(const ModelConfig& config,
                                                std::string_view precision) {
  ModelShape shape{.name = config.name,
                   .dim = config.dim,
                   .n_layers = config.n_layers,
                   .n_heads = config.n_heads,
                   .n_kv_heads = config.n_kv_heads,
                   .ffn_dim = config.hidden_dim,
                   .vocab_size = config.vocab_size,
                   .context_length = config.context_length};
  RETURN_IF_ERROR(planner::ApplyPrecision(precision, &shape));
  RETURN_IF_ERROR(planner::ValidateShape(shape));
  return shape;
}

absl::StatusOr<std::vector<CardSpec>> CardsFromConfig(const v1::ClusterConfig& config) {
  std::vector<CardSpec> cards;
  for (const v1::CardConfig& card : config.cards()) {
    if (card.has_custom()) {
      ASSIGN_OR_RETURN(CardSpec spec, CustomCard(card.custom()));
      cards.push_back(std::move(spec));
    } else if (!card.emulate().empty()) {
      absl::StatusOr<CardSpec> spec = planner::FindCard(card.emulate());
      if (!spec.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("card ", card.id(), ": emulate: ", spec.status().message()));
      }
      cards.push_back(*spec);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "card ", card.id(), " says no card to model: set emulate to one of ",
          absl::StrJoin(planner::CardNames(), ", "), ", or describe it in custom"));
    }
  }
  if (cards.empty()) return absl::InvalidArgumentError("the config lists no cards");
  return cards;
}

absl::StatusOr<std::string> PlanCommandOutput(const std::vector<std::string>& args) {
  auto parsed = CliArgs::Parse(args, {"model", "tokenizer", "config", "cards", "link", "goal",
                                      "precision", "prompt-tokens", "output-tokens", "max-batch",
                                      "host-step-us",
                                      "sparsity", "top"});
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(parsed.status().message(), "\n", kUsage));
  }
  if (parsed->Has("help")) return absl::StrCat(kUsage, "\n");
  absl::StatusOr<Options> options = ParseOptions(*parsed);
  if (!options.ok()) {
    return absl::Status(options.status().code(),
                        absl::StrCat(options.status().message(), "\n", kUsage));
  }
  const std::vector<PlanEstimate> ranked = planner::RankPlans(
      options->shape, options->cluster, options->workload, options->goal);
  return Render(*options, ranked);
}

absl::Status RunPlanCommand(const std::vector<std::string>& args) {
  ASSIGN_OR_RETURN(const std::string output, PlanCommandOutput(args));
  std::fputs(output.c_str(), stdout);
  return absl::OkStatus();
}

}  // namespace fabric
