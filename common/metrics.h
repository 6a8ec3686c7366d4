// The one metrics registry: a thin wrapper over prometheus-cpp, so every module counts what
// it does in the same place and the server exports it in the Prometheus text format.
#ifndef FABRIC_COMMON_METRICS_H_
#define FABRIC_COMMON_METRICS_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace fabric {

using MetricLabels = std::map<std::string, std::string>;

// Thread-safe. Metrics live as long as the registry; asking twice for the same name and
// labels returns the same metric.
class MetricsRegistry {
 public:
  MetricsRegistry();

  prometheus::Counter& Counter(const std::string& name, const std::string& help,
                               const MetricLabels& labels = {});
  prometheus::Gauge& Gauge(const std::string& name, const std::string& help,
                           const MetricLabels& labels = {});
  prometheus::Histogram& Histogram(const std::string& name, const std::string& help,
                                   const std::vector<double>& buckets,
                                   const MetricLabels& labels = {});

  // Runs before every Serialize, to refresh values that are polled rather than pushed
  // (card memory, busy time).
  void AddCollectHook(std::function<void()> hook);
  // Every metric in the Prometheus text exposition format.
  std::string Serialize();

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  absl::Mutex mu_;
  std::vector<std::function<void()>> hooks_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fabric

#endif  // FABRIC_COMMON_METRICS_H_
