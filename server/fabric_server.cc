#include "server/fabric_server.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/metrics.h"
#include "common/status_macros.h"
#include "device/device_worker.h"
#include "device/mock/mock_device.h"
#include "device/xrt/xrt_device.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "kernels/kernel_profiles.h"
#include "grpcpp/server_builder.h"
#include "model/llama_program.h"
#include "model/model_file.h"
#include "model/tokenizer.h"
#include "scheduler/engine.h"
#include "scheduler/serving_metrics.h"
#include "server/grpc_service.h"
#include "server/http/http_server.h"
#include "server/inference_service.h"
#include "server/placement.h"
#include "server/plan_command.h"
#include "server/card_metrics.h"
#include "server/config/config_validation.h"
#include "server/rest_api.h"
#include "server/vllm_metrics.h"

namespace fabric {

// Members are declared in start-up order, so they are destroyed in reverse: endpoints first,
// then the scheduler, then the programs and the cards they use.
class ServerParts {
 public:
  v1::ClusterConfig config;
  MetricsRegistry metrics;
  std::unique_ptr<ModelFile> model;
  std::unique_ptr<Tokenizer> tokenizer;
  std::vector<std::unique_ptr<DeviceWorker>> cards;
  std::vector<std::unique_ptr<LlamaProgram>> programs;
  std::vector<CardPlacement> placement;
  std::unique_ptr<ServingMetrics> serving_metrics;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<InferenceService> service;
  std::unique_ptr<RestApi> rest;
  std::unique_ptr<GrpcInferenceService> grpc_service;
  std::unique_ptr<HttpServer> http;
  std::unique_ptr<grpc::Server> grpc;
  int grpc_port = 0;
  absl::Mutex shutdown_mu;
  bool shut_down ABSL_GUARDED_BY(shutdown_mu) = false;

  ~ServerParts() {
    if (grpc) grpc->Shutdown(std::chrono::system_clock::now());
    if (http) http->Shutdown();
  }
};

namespace {

// Opens an Alveo card and checks its bitstream holds every kernel of the role's profile.
// Under XRT's no-op shim (XCL_EMULATION_MODE=noop, no card needed) the kernels run on the
// host after each completed run, so the whole server works as on the card.
absl::StatusOr<std::unique_ptr<Device>> OpenXrtCard(const v1::CardConfig& card,
                                                    KernelProfile profile) {
  XrtDeviceOptions options;
  options.card = card.device();
  options.xclbin_path = card.bitstream();
  options.name = card.id();
  options.emulate_kernels_on_host = XrtNoopMode();
  // Its errors name the card by device and id, with XRT's message and what to check.
  ASSIGN_OR_RETURN(std::unique_ptr<XrtDevice> device, XrtDevice::Open(options));
  const std::vector<std::string>& offered = device->info().kernels;
  std::vector<std::string> missing;
  for (std::string_view kernel : ProfileKernels(profile)) {
    if (std::find(offered.begin(), offered.end(), kernel) == offered.end()) {
      missing.emplace_back(kernel);
    }
  }
  if (!missing.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "card ", card.id(), ": bitstream ", card.bitstream(), " lacks kernels a ",
        std::string(ProfileName(profile)), " card runs: ", absl::StrJoin(missing, ", "),
        "; build it with `make -C kernels/hw PROFILE=", std::string(ProfileName(profile)),
        "`"));
  }
  return std::unique_ptr<Device>(std::move(device));
}

// Opens a card with the bitstream its group's role calls for.
absl::StatusOr<std::unique_ptr<DeviceWorker>> OpenCard(const v1::CardConfig& card,
                                                       const std::string& role) {
  KernelProfile profile = KernelProfile::kUnified;
  ParseProfile(role, &profile);  // roles and profiles share their names
  if (card.kind() == "xrt") {
    ASSIGN_OR_RETURN(std::unique_ptr<Device> device, OpenXrtCard(card, profile));
    return std::make_unique<DeviceWorker>(std::move(device));
  }
  MockDeviceOptions options;
  options.name = card.id();
  options.memory_bytes = card.memory_bytes();
  options.compute_units = std::max(card.compute_units(), 1);
  for (std::string_view kernel : ProfileKernels(profile)) options.kernels.emplace_back(kernel);
  if (!card.emulate().empty() || card.has_custom()) {
    // Timed like the card it names, running its role's bitstream (planner/README.md).
    v1::ClusterConfig alone;
    *alone.add_cards() = card;
    ASSIGN_OR_RETURN(const std::vector<planner::CardSpec> spec, CardsFromConfig(alone));
    ASSIGN_OR_RETURN(options.timing, PlannerTiming(spec.front(), profile));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<MockDevice> device, MockDevice::Create(options));
  return std::make_unique<DeviceWorker>(std::move(device));
}

absl::Status StartEndpoints(ServerParts& parts) {
  const v1::ServerConfig& server = parts.config.server();
  const absl::Duration timeout = absl::Seconds(server.request_timeout_seconds());
  parts.rest = std::make_unique<RestApi>(*parts.service, parts.metrics, timeout);
  RestApi* rest = parts.rest.get();
  ASSIGN_OR_RETURN(parts.http,
                   HttpServer::Start(server.host(), server.http_port(),
                                     [rest](HttpRequest request,
                                            std::shared_ptr<HttpResponder> responder) {
                                       rest->Handle(std::move(request), std::move(responder));
                                     }));
  parts.grpc_service = std::make_unique<GrpcInferenceService>(*parts.service, timeout);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  const std::string address = absl::StrCat(server.host(), ":", server.grpc_port());
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &parts.grpc_port);
  builder.RegisterService(parts.grpc_service.get());
  parts.grpc = builder.BuildAndStart();
  if (parts.grpc == nullptr || parts.grpc_port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot serve gRPC on ", address,
                                               " (is the port in use?)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<FabricServer>> FabricServer::Start(
    const v1::ClusterConfig& config) {
  auto parts = std::make_unique<ServerParts>();
  parts->config = config;
  const v1::ServedModelConfig& m = config.model();
  ASSIGN_OR_RETURN(parts->model, ModelFile::Open(m.path(), m.tokenizer()));
  parts->tokenizer = std::make_unique<Tokenizer>(parts->model->vocabulary());
  // Fails fast, naming the card, when a shard cannot fit.
  ASSIGN_OR_RETURN(parts->placement, PlaceModel(config, *parts->model));
  std::map<std::string, const v1::CardConfig*> card_configs;
  for (const v1::CardConfig& card : config.cards()) card_configs[card.id()] = &card;
  // Cards open in placement order: group by group, instance by instance.
  for (const CardPlacement& placed : parts->placement) {
    ASSIGN_OR_RETURN(std::unique_ptr<DeviceWorker> worker,
                     OpenCard(*card_configs.at(placed.card), placed.role));
    parts->cards.push_back(std::move(worker));
  }
  const std::vector<v1::CardGroupConfig> groups = EffectiveGroups(config);
  std::vector<EngineInstance> instances;
  for (size_t first = 0; first < parts->placement.size();) {
    const CardPlacement& head = parts->placement[first];
    const v1::CardGroupConfig& group = groups[head.group];
    const ProgramOptions options = ProgramOptionsFrom(m, group);
    const size_t count = size_t(options.tensor_parallel) * options.pipeline_parallel;
    std::vector<DeviceWorker*> cards;
    for (size_t i = first; i < first + count; ++i) cards.push_back(parts->cards[i].get());
    absl::StatusOr<std::unique_ptr<LlamaProgram>> program =
        LlamaProgram::Create(*parts->model, cards, options);
    if (!program.ok()) {
      return absl::Status(program.status().code(),
                          absl::StrCat("instance ", head.instance, " (", head.role, ", cards ",
                                       head.card, "..", parts->placement[first + count - 1].card,
                                       "): ", program.status().message()));
    }
    const InstanceRole role = head.role == "prefill"  ? InstanceRole::kPrefill
                              : head.role == "decode" ? InstanceRole::kDecode
                                                      : InstanceRole::kUnified;
    instances.push_back({program->get(), role});
    parts->programs.push_back(*std::move(program));
    first += count;
  }
  parts->serving_metrics = std::make_unique<ServingMetrics>(parts->metrics);
  EngineOptions engine_options;
  engine_options.max_waiting_requests = config.server().max_waiting_requests();
  parts->engine = std::make_unique<Engine>(instances, *parts->tokenizer, engine_options,
                                           parts->serving_metrics.get());
  ServedModelInfo info;
  info.id = m.name();
  info.created = absl::ToUnixSeconds(absl::Now());
  info.context_length = parts->model->config().context_length;
  info.chat_format = DetectChatFormat(parts->model->chat_template());
  ServerParts* raw = parts.get();
  parts->service = std::make_unique<InferenceService>(info, *parts->engine, *parts->tokenizer,
                                                      [raw] {
                                                        absl::MutexLock lock(&raw->shutdown_mu);
                                                        return !raw->shut_down;
                                                      });
  ExportCardMetrics(parts->metrics, parts->cards, parts->placement, parts->programs);
  ExportVllmMetrics(parts->metrics, *parts->serving_metrics, m, parts->programs);
  RETURN_IF_ERROR(StartEndpoints(*parts));
  return std::unique_ptr<FabricServer>(new FabricServer(std::move(parts)));
}

FabricServer::FabricServer(std::unique_ptr<ServerParts> parts) : parts_(std::move(parts)) {}

FabricServer::~FabricServer() { Shutdown(); }

int FabricServer::http_port() const { return parts_->http->port(); }
int FabricServer::grpc_port() const { return parts_->grpc_port; }
const std::string& FabricServer::model_id() const { return parts_->service->model().id; }
const std::vector<CardPlacement>& FabricServer::placement() const { return parts_->placement; }

void FabricServer::Shutdown() {
  {
    absl::MutexLock lock(&parts_->shutdown_mu);
    if (parts_->shut_down) return;
    parts_->shut_down = true;  // /ready turns 503 while draining
  }
  const absl::Duration drain = absl::Seconds(parts_->config.server().drain_timeout_seconds());
  parts_->http->StopAccepting();
  // gRPC stops taking calls at once and cancels what is still running at the deadline.
  std::thread grpc_shutdown([this, drain] {
    parts_->grpc->Shutdown(absl::ToChronoTime(absl::Now() + drain));
  });
  parts_->engine->Drain(drain);
  grpc_shutdown.join();
  // Let the last responses leave the event loop before connections are closed.
  const absl::Time flush_deadline = absl::Now() + absl::Seconds(1);
  while (parts_->http->open_connections() > 0 && absl::Now() < flush_deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  parts_->http->Shutdown();
}

}  // namespace fabric
