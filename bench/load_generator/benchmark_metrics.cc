#include "bench/load_generator/benchmark_metrics.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace fabric::bench {
namespace {

constexpr double kMs = 1000.0;

// vLLM's TPOT of one request, in seconds; 0 when it has at most one output token.
double Tpot(const RequestRecord& record) {
  if (record.output_tokens <= 1) return 0;
  return (record.latency - record.ttft) / (record.output_tokens - 1);
}

bool MeetsSlo(const RequestRecord& record, const GoodputSlo& slo) {
  if (slo.ttft_ms && *slo.ttft_ms < record.ttft * kMs) return false;
  if (slo.tpot_ms && *slo.tpot_ms < Tpot(record) * kMs) return false;
  if (slo.e2el_ms && *slo.e2el_ms < record.latency * kMs) return false;
  return true;
}

std::vector<double> InMs(std::vector<double> seconds) {
  for (double& value : seconds) value *= kMs;
  return seconds;
}

}  // namespace

absl::StatusOr<GoodputSlo> ParseGoodput(absl::string_view spec) {
  GoodputSlo slo;
  bool any = false;
  for (absl::string_view item : absl::StrSplit(spec, absl::ByAnyChar(" ,"), absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(item, ':');
    double ms = 0;
    if (!absl::SimpleAtod(kv.second, &ms) || !(ms >= 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--goodput: '", item, "' needs a number of ms >= 0 after the colon"));
    }
    if (kv.first == "ttft") {
      slo.ttft_ms = ms;
    } else if (kv.first == "tpot") {
      slo.tpot_ms = ms;
    } else if (kv.first == "e2el") {
      slo.e2el_ms = ms;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--goodput: unknown metric '", kv.first, "' (ttft, tpot or e2el)"));
    }
    any = true;
  }
  if (!any) return absl::InvalidArgumentError("--goodput needs e.g. ttft:500 tpot:50");
  return slo;
}

BenchmarkMetrics ComputeMetrics(const std::vector<RequestRecord>& records, double duration_s,
                                const std::optional<GoodputSlo>& slo) {
  BenchmarkMetrics metrics;
  std::vector<double> ttfts, tpots, itls, e2els;
  int good = 0;
  for (const RequestRecord& record : records) {
    if (!record.success) {
      ++metrics.failed;
      continue;
    }
    ++metrics.completed;
    metrics.total_input += record.input_tokens;
    metrics.total_output += record.output_tokens;
    ttfts.push_back(record.ttft);
    e2els.push_back(record.latency);
    if (record.output_tokens > 1) tpots.push_back(Tpot(record));
    itls.insert(itls.end(), record.itl.begin(), record.itl.end());
    if (slo && MeetsSlo(record, *slo)) ++good;
  }
  const double duration = duration_s > 0 ? duration_s : 1e-9;
  metrics.request_throughput = metrics.completed / duration;
  if (slo) metrics.request_goodput = good / duration;
  metrics.output_throughput = static_cast<double>(metrics.total_output) / duration;
  metrics.total_token_throughput =
      static_cast<double>(metrics.total_input + metrics.total_output) / duration;
  metrics.ttft_ms = Summarize(InMs(std::move(ttfts)));
  metrics.tpot_ms = Summarize(InMs(std::move(tpots)));
  metrics.itl_ms = Summarize(InMs(std::move(itls)));
  metrics.e2el_ms = Summarize(InMs(std::move(e2els)));
  return metrics;
}

}  // namespace fabric::bench
