#include "server/serve_command.h"

#include <pthread.h>
#include <signal.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/cli_args.h"
#include "common/status_macros.h"
#include "server/auto_placement.h"
#include "server/config/config_loader.h"
#include "server/config/config_validation.h"
#include "model/model_file.h"
#include "server/fabric_server.h"
#include "server/placement.h"

namespace fabric {
namespace {

constexpr char kUsage[] =
    "usage: fabric serve [--config FILE] [--model FILE] [--tokenizer FILE] [--host HOST]\n"
    "                    [--http-port N] [--grpc-port N] [--goal throughput|latency] [--dry-run]\n"
    "Without --config, serves --model on one mock card. Flags override the config file.\n"
    "Port 0 picks a free port. --dry-run prints where each shard of the model goes and exits.\n"
    "When the config sets no card groups and no model.tensor_parallel or pipeline_parallel,\n"
    "and each card names what it is (emulate or custom), the planner places the model for\n"
    "--goal (default throughput), as `fabric plan` would.";

// The config file (or an empty config), with flags on top.
absl::StatusOr<v1::ClusterConfig> BuildConfig(const CliArgs& flags) {
  v1::ClusterConfig config;
  if (flags.Has("config")) {
    ASSIGN_OR_RETURN(config, LoadClusterConfig(flags.GetString("config")));
  } else if (!flags.Has("model")) {
    return absl::InvalidArgumentError(absl::StrCat("--model or --config is required\n", kUsage));
  }
  if (flags.Has("model")) {
    config.mutable_model()->set_path(flags.GetString("model"));
    config.mutable_model()->clear_name();  // named after the file given
  }
  if (flags.Has("tokenizer")) config.mutable_model()->set_tokenizer(flags.GetString("tokenizer"));
  if (flags.Has("host")) config.mutable_server()->set_host(flags.GetString("host"));
  if (flags.Has("http-port")) {
    ASSIGN_OR_RETURN(const int port, flags.GetInt("http-port", 0));
    config.mutable_server()->set_http_port(port);
  }
  if (flags.Has("grpc-port")) {
    ASSIGN_OR_RETURN(const int port, flags.GetInt("grpc-port", 0));
    config.mutable_server()->set_grpc_port(port);
  }
  const bool placement_unset = PlacementUnset(config);
  if (flags.Has("goal") && !placement_unset) {
    return absl::InvalidArgumentError(
        "--goal applies only when the config leaves the placement to the planner (no groups, "
        "no model.tensor_parallel or pipeline_parallel, several cards)");
  }
  ApplyDefaults(&config);
  if (placement_unset) {
    ASSIGN_OR_RETURN(const planner::Goal goal,
                     planner::ParseGoal(flags.GetString("goal", "throughput")));
    ASSIGN_OR_RETURN(const std::string why, ChoosePlacement(goal, &config));
    std::printf("fabric: %s\n", why.c_str());
    ApplyDefaults(&config);  // for the groups it may have added
  }
  if (absl::Status valid = ValidateClusterConfig(config); !valid.ok()) {
    const std::string source = flags.Has("config") ? flags.GetString("config") : "flags";
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", valid.message()));
  }
  return config;
}

// The mock cards timed like the card they name ("card0 as u280, card1 as u280"), or empty.
std::string EmulatedCards(const v1::ClusterConfig& config) {
  std::string cards;
  for (const v1::CardConfig& card : config.cards()) {
    if (card.kind() != "mock" || (card.emulate().empty() && !card.has_custom())) continue;
    const std::string& as = card.has_custom() ? card.custom().name() : card.emulate();
    absl::StrAppend(&cards, cards.empty() ? "" : ", ", card.id(), " as ",
                    as.empty() ? "a custom card" : as);
  }
  return cards;
}

}  // namespace

absl::Status RunServeCommand(const std::vector<std::string>& args) {
  auto parsed = CliArgs::Parse(
      args, {"config", "model", "tokenizer", "host", "http-port", "grpc-port", "goal"},
      {"dry-run"});
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(parsed.status().message(), "\n", kUsage));
  }
  if (parsed->Has("help")) {
    std::printf("%s\n", kUsage);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(v1::ClusterConfig config, BuildConfig(*parsed));
  if (parsed->Has("dry-run")) {
    ASSIGN_OR_RETURN(std::unique_ptr<ModelFile> model,
                     ModelFile::Open(config.model().path(), config.model().tokenizer()));
    ASSIGN_OR_RETURN(std::vector<CardPlacement> placement, PlaceModel(config, *model));
    std::printf("model '%s': %zu instance(s)\n%s", config.model().name().c_str(),
                placement.empty() ? size_t{0} : size_t(placement.back().instance + 1),
                DescribePlacement(placement).c_str());
    return absl::OkStatus();
  }

  // Every thread the server starts inherits this mask, so SIGTERM and SIGINT reach only the
  // sigwait below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  ASSIGN_OR_RETURN(std::unique_ptr<FabricServer> server, FabricServer::Start(config));
  std::printf("fabric: serving model '%s' on %d card(s)\n%s", server->model_id().c_str(),
              config.cards_size(), DescribePlacement(server->placement()).c_str());
  if (const std::string emulated = EmulatedCards(config); !emulated.empty()) {
    std::printf("fabric: timing emulated: %s (kernel launches and host transfers take the "
                "planner's time for those cards; the CPU computes the results)\n",
                emulated.c_str());
  }
  std::printf("fabric: REST http://%s:%d  gRPC %s:%d\n", config.server().host().c_str(),
              server->http_port(), config.server().host().c_str(), server->grpc_port());
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  std::printf("fabric: %s received, draining (up to %.0f s)\n",
              signal_number == SIGTERM ? "SIGTERM" : "SIGINT",
              config.server().drain_timeout_seconds());
  std::fflush(stdout);
  server->Shutdown();
  std::printf("fabric: stopped\n");
  return absl::OkStatus();
}

}  // namespace fabric
