#include "bench/load_generator/report.h"

#include <algorithm>
#include <cmath>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace fabric::bench {
namespace {

using nlohmann::json;

constexpr size_t kErrorSamples = 5;

struct LatencyMetric {
  const char* key;     // in JSON keys: mean_<key>_ms
  const char* label;   // in the table
  const char* header;
  const Summary BenchmarkMetrics::*summary;
};

constexpr LatencyMetric kLatencyMetrics[] = {
    {"ttft", "TTFT", "Time to First Token", &BenchmarkMetrics::ttft_ms},
    {"tpot", "TPOT", "Time per Output Token (excl. 1st token)", &BenchmarkMetrics::tpot_ms},
    {"itl", "ITL", "Inter-token Latency", &BenchmarkMetrics::itl_ms},
    {"e2el", "E2EL", "End-to-end Latency", &BenchmarkMetrics::e2el_ms},
};

std::string Line(absl::string_view label, const std::string& value) {
  return absl::StrFormat("%-40s %-10s\n", label, value);
}
std::string Line(absl::string_view label, double value) {
  return Line(label, absl::StrFormat("%.2f", value));
}
std::string Line(absl::string_view label, long long value) {
  return Line(label, absl::StrCat(value));
}

// A header centred in a 50-character rule, as vLLM prints them.
std::string Rule(absl::string_view title, char fill) {
  const size_t width = 50;
  if (title.size() >= width) return absl::StrCat(title, "\n");
  const size_t left = (width - title.size()) / 2;
  return absl::StrCat(std::string(left, fill), title,
                      std::string(width - title.size() - left, fill), "\n");
}

std::string RateText(double rate) {
  return std::isinf(rate) ? "inf" : absl::StrFormat("%.2f", rate);
}

std::string Date() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char text[32];
  std::strftime(text, sizeof(text), "%Y%m%d-%H%M%S", &local);
  return text;
}

}  // namespace

std::vector<std::pair<std::string, int>> ErrorSamples(const std::vector<RequestRecord>& records,
                                                      size_t limit) {
  std::vector<std::pair<std::string, int>> samples;
  for (const RequestRecord& record : records) {
    if (record.success) continue;
    auto it = std::find_if(samples.begin(), samples.end(),
                           [&](const auto& sample) { return sample.first == record.error; });
    if (it != samples.end()) {
      ++it->second;
    } else if (samples.size() < limit) {
      samples.emplace_back(record.error, 1);
    }
  }
  return samples;
}

std::string FormatReport(const BenchmarkRun& run) {
  const BenchmarkMetrics& m = run.metrics;
  std::string out = Rule(" Serving Benchmark Result ", '=');
  out += Line("Successful requests:", static_cast<long long>(m.completed));
  out += Line("Failed requests:", static_cast<long long>(m.failed));
  out += Line("Maximum request concurrency:",
              run.load.max_concurrency > 0 ? absl::StrCat(run.load.max_concurrency) : "none");
  out += Line("Request rate configured (RPS):", RateText(run.workload.request_rate));
  out += Line("Benchmark duration (s):", run.result.duration_s);
  out += Line("Total input tokens:", m.total_input);
  out += Line("Total generated tokens:", m.total_output);
  out += Line("Request throughput (req/s):", m.request_throughput);
  if (m.request_goodput) out += Line("Request goodput (req/s):", *m.request_goodput);
  out += Line("Output token throughput (tok/s):", m.output_throughput);
  out += Line("Total Token throughput (tok/s):", m.total_token_throughput);
  out += Line("Max concurrent requests:",
              static_cast<long long>(run.result.max_concurrent_requests));
  out += Line("Max concurrent streams:", static_cast<long long>(run.result.max_concurrent_streams));
  if (!run.emulated_cards.empty()) {
    out += Line("Timing emulated (cards):", absl::StrJoin(run.emulated_cards, ", "));
  }
  for (const LatencyMetric& metric : kLatencyMetrics) {
    const Summary& s = m.*metric.summary;
    out += Rule(metric.header, '-');
    out += Line(absl::StrCat("Mean ", metric.label, " (ms):"), s.mean);
    out += Line(absl::StrCat("Median ", metric.label, " (ms):"), s.median);
    out += Line(absl::StrCat("Std ", metric.label, " (ms):"), s.std);
    out += Line(absl::StrCat("P99 ", metric.label, " (ms):"), s.p99);
  }
  out += Rule("", '=');
  const auto errors = ErrorSamples(run.result.records, kErrorSamples);
  if (!errors.empty()) {
    out += "Errors (distinct, first seen first):\n";
    for (const auto& [message, count] : errors) out += absl::StrCat("  ", count, "x ", message, "\n");
  }
  return out;
}

json ReportJson(const BenchmarkRun& run) {
  const BenchmarkMetrics& m = run.metrics;
  const WorkloadOptions& w = run.workload;
  json result = {
      {"date", Date()},
      {"backend", w.api == Api::kCompletions ? "openai" : "openai-chat"},
      {"base_url", run.load.base_url},
      {"endpoint", ApiPath(w.api)},
      {"model_id", w.model},
      {"num_prompts", w.num_prompts},
      {"request_rate", std::isinf(w.request_rate) ? json("inf") : json(w.request_rate)},
      {"burstiness", 1.0},
      {"max_concurrency", run.load.max_concurrency > 0 ? json(run.load.max_concurrency) : json()},
      {"random_input_len", w.input_len},
      {"random_output_len", w.output_len},
      {"random_range_ratio", w.range_ratio},
      {"seed", w.seed},
      {"duration", run.result.duration_s},
      {"completed", m.completed},
      {"failed", m.failed},
      {"total_input_tokens", m.total_input},
      {"total_output_tokens", m.total_output},
      {"request_throughput", m.request_throughput},
      {"request_goodput", m.request_goodput ? json(*m.request_goodput) : json()},
      {"output_throughput", m.output_throughput},
      {"total_token_throughput", m.total_token_throughput},
      {"max_concurrent_requests", run.result.max_concurrent_requests},
      {"max_concurrent_streams", run.result.max_concurrent_streams},
      {"emulated_cards", run.emulated_cards},
  };
  if (run.goodput) {
    json slo = json::object();
    if (run.goodput->ttft_ms) slo["ttft"] = *run.goodput->ttft_ms;
    if (run.goodput->tpot_ms) slo["tpot"] = *run.goodput->tpot_ms;
    if (run.goodput->e2el_ms) slo["e2el"] = *run.goodput->e2el_ms;
    result["goodput"] = slo;
  }
  for (const LatencyMetric& metric : kLatencyMetrics) {
    const Summary& s = m.*metric.summary;
    result[absl::StrCat("mean_", metric.key, "_ms")] = s.mean;
    result[absl::StrCat("median_", metric.key, "_ms")] = s.median;
    result[absl::StrCat("std_", metric.key, "_ms")] = s.std;
    result[absl::StrCat("p99_", metric.key, "_ms")] = s.p99;
  }
  json input_lens = json::array(), output_lens = json::array(), ttfts = json::array(),
       itls = json::array(), errors = json::array(), texts = json::array();
  for (const RequestRecord& record : run.result.records) {
    input_lens.push_back(record.success ? record.input_tokens : record.prompt_len);
    output_lens.push_back(record.output_tokens);
    ttfts.push_back(record.ttft);
    itls.push_back(record.itl);
    errors.push_back(record.error);
    texts.push_back(record.generated_text);
  }
  result["input_lens"] = std::move(input_lens);
  result["output_lens"] = std::move(output_lens);
  result["ttfts"] = std::move(ttfts);
  result["itls"] = std::move(itls);
  result["errors"] = std::move(errors);
  result["generated_texts"] = std::move(texts);
  json samples = json::array();
  for (const auto& [message, count] : ErrorSamples(run.result.records, kErrorSamples)) {
    samples.push_back({{"message", message}, {"count", count}});
  }
  result["error_samples"] = std::move(samples);
  return result;
}

}  // namespace fabric::bench
