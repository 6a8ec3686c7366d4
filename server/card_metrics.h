// The per-card series of /metrics: memory in use, kernel time (per card and per role), kernel
// launches, interconnect traffic, and temperature and power where the card reports them.
// Polled from the cards when /metrics is scraped.
#ifndef FABRIC_SERVER_CARD_METRICS_H_
#define FABRIC_SERVER_CARD_METRICS_H_

#include <memory>
#include <vector>

#include "common/metrics.h"
#include "device/device_worker.h"
#include "model/llama_program.h"
#include "server/placement.h"

namespace fabric {

// Registers the series of every card in `cards` (placed as `placement` says, card i in
// instance placement[i].instance of `programs`). The registry's collect hook keeps pointers to
// the cards and programs: they must outlive the registry's scrapes.
void ExportCardMetrics(MetricsRegistry& metrics,
                       const std::vector<std::unique_ptr<DeviceWorker>>& cards,
                       const std::vector<CardPlacement>& placement,
                       const std::vector<std::unique_ptr<LlamaProgram>>& programs);

}  // namespace fabric

#endif  // FABRIC_SERVER_CARD_METRICS_H_
