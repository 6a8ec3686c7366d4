#include "server/card_metrics.h"

#include <map>
#include <optional>
#include <string>

namespace fabric {
namespace {

// A mock card's timing emulation: how often and by how much the CPU fell behind the card it
// emulates, and the emulated time of its host transfers.
struct EmulationSeries {
  prometheus::Counter* overruns = nullptr;  // null unless the card emulates one
  prometheus::Counter* overrun_seconds = nullptr;
  prometheus::Counter* transfer_seconds = nullptr;
  EmulationStats reported;
};

struct CardSeries {
  DeviceWorker* card;
  std::vector<prometheus::Gauge*> memory;  // by MemoryKind
  prometheus::Counter* busy;
  prometheus::Counter* role_busy;  // the same time, summed by the card's role
  double busy_reported = 0;
  std::map<std::string, uint64_t> launches_reported;  // by kernel
  EmulationSeries emulation;
};

// fabric_device_info: 1 for every card, saying what it is (its kind and, where the driver
// reports it, its product name) and, for a timed mock card, which card's timing its figures
// emulate (empty otherwise).
EmulationSeries RegisterEmulation(MetricsRegistry& metrics, DeviceWorker& card) {
  const std::string& name = card.info().name;
  const std::string& emulates = card.info().emulates;
  EmulationSeries series;
  metrics
      .Gauge("fabric_device_info",
             "1 for every card: its kind, its product name as its driver reports it, and the "
             "card whose timing a mock card emulates (its latencies and busy time are then the "
             "emulated card's).",
             {{"device", name},
              {"kind", card.info().kind},
              {"product", card.info().product},
              {"emulates", emulates}})
      .Set(1);
  if (emulates.empty()) return series;
  const MetricLabels device = {{"device", name}};
  series.overruns = &metrics.Counter(
      "fabric_device_emulation_overruns_total",
      "Kernel launches the CPU finished after their emulated end (the mock ran slower than the "
      "card it emulates).",
      device);
  series.overrun_seconds = &metrics.Counter(
      "fabric_device_emulation_overrun_seconds_total",
      "Time by which launches finished after their emulated end, summed.", device);
  series.transfer_seconds = &metrics.Counter(
      "fabric_device_emulated_transfer_seconds_total",
      "Emulated time of host <-> card copies (PCIe latency and bandwidth of the planner's link "
      "model).",
      device);
  return series;
}

void UpdateEmulation(EmulationSeries& series, const std::optional<EmulationStats>& now) {
  if (series.overruns == nullptr || !now.has_value()) return;
  series.overruns->Increment(static_cast<double>(now->overruns - series.reported.overruns));
  series.overrun_seconds->Increment(now->overrun_seconds - series.reported.overrun_seconds);
  series.transfer_seconds->Increment(now->transfer_seconds - series.reported.transfer_seconds);
  series.reported = *now;
}

// Traffic between cards, counted by each instance's program per card.
struct TrafficSeries {
  const CardTraffic* traffic;
  prometheus::Counter* all_reduce;
  prometheus::Counter* pipeline;
  uint64_t all_reduce_reported = 0, pipeline_reported = 0;
};

CardSeries RegisterCard(MetricsRegistry& metrics, DeviceWorker* card, const std::string& role) {
  const std::string& name = card->info().name;
  CardSeries series{card, {}, nullptr, nullptr, 0, {}, RegisterEmulation(metrics, *card)};
  series.role_busy = &metrics.Counter("fabric_role_busy_seconds_total",
                                      "Time the kernels of cards in a role were running.",
                                      {{"role", role}});
  for (MemoryKind kind : kAllMemoryKinds) {
    series.memory.push_back(&metrics.Gauge(
        "fabric_device_memory_used_bytes", "Card memory in use, by what it holds.",
        {{"device", name}, {"kind", std::string(MemoryKindName(kind))}}));
  }
  series.busy = &metrics.Counter("fabric_device_busy_seconds_total",
                                 "Time the card's kernels were running.", {{"device", name}});
  return series;
}

void UpdateCard(MetricsRegistry& metrics, CardSeries& series) {
  const DeviceStats stats = series.card->stats();
  const MetricLabels device = {{"device", series.card->info().name}};
  for (const auto& [kernel, count] : stats.launches_by_kernel) {
    metrics
        .Counter("fabric_device_kernel_launches_total", "Kernel launches, by card and kernel.",
                 {{"device", series.card->info().name}, {"kernel", kernel}})
        .Increment(static_cast<double>(count - series.launches_reported[kernel]));
    series.launches_reported[kernel] = count;
  }
  for (MemoryKind kind : kAllMemoryKinds) {
    series.memory[static_cast<int>(kind)]->Set(static_cast<double>(stats.memory_used(kind)));
  }
  series.busy->Increment(stats.busy_seconds - series.busy_reported);
  series.role_busy->Increment(stats.busy_seconds - series.busy_reported);
  series.busy_reported = stats.busy_seconds;
  UpdateEmulation(series.emulation, stats.emulation);
  // Series of sensors appear once the card reports them: a mock card never does.
  if (stats.temperature_celsius.has_value()) {
    metrics.Gauge("fabric_device_temperature_celsius", "The FPGA's temperature.", device)
        .Set(*stats.temperature_celsius);
  }
  if (stats.power_watts.has_value()) {
    metrics.Gauge("fabric_device_power_watts", "The card's power consumption.", device)
        .Set(*stats.power_watts);
  }
}

}  // namespace

void ExportCardMetrics(MetricsRegistry& metrics,
                       const std::vector<std::unique_ptr<DeviceWorker>>& cards,
                       const std::vector<CardPlacement>& placement,
                       const std::vector<std::unique_ptr<LlamaProgram>>& programs) {
  auto card_series = std::make_shared<std::vector<CardSeries>>();
  auto traffic = std::make_shared<std::vector<TrafficSeries>>();
  for (size_t i = 0, in_instance = 0; i < cards.size(); ++i, ++in_instance) {
    card_series->push_back(RegisterCard(metrics, cards[i].get(), placement[i].role));
    const int instance = placement[i].instance;
    if (i > 0 && placement[i - 1].instance != instance) in_instance = 0;
    const MetricLabels device = {{"device", cards[i]->info().name}};
    traffic->push_back(
        {&programs[instance]->traffic(static_cast<int>(in_instance)),
         &metrics.Counter("fabric_device_all_reduce_bytes_total",
                          "Bytes of partial sums the card sent and received in tensor-parallel "
                          "all-reduces.",
                          device),
         &metrics.Counter("fabric_device_pipeline_bytes_total",
                          "Bytes of activations the card sent or received between pipeline "
                          "stages.",
                          device)});
  }
  MetricsRegistry* registry = &metrics;
  metrics.AddCollectHook([card_series, traffic, registry] {
    for (CardSeries& series : *card_series) UpdateCard(*registry, series);
    for (TrafficSeries& t : *traffic) {
      const uint64_t all_reduce = t.traffic->all_reduce_bytes.load();
      const uint64_t pipeline = t.traffic->pipeline_bytes.load();
      t.all_reduce->Increment(static_cast<double>(all_reduce - t.all_reduce_reported));
      t.pipeline->Increment(static_cast<double>(pipeline - t.pipeline_reported));
      t.all_reduce_reported = all_reduce;
      t.pipeline_reported = pipeline;
    }
  });
}

}  // namespace fabric
