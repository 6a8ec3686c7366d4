#include "server/config/config_validation.h"

#include <algorithm>
#include <set>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "planner/card_catalog.h"

namespace fabric {
namespace {

// The defaults documented in config.proto.
constexpr char kDefaultCardId[] = "card0";
constexpr char kMockKind[] = "mock";
constexpr char kXrtKind[] = "xrt";
constexpr uint64_t kDefaultMockMemoryBytes = uint64_t{8} << 30;
constexpr int kDefaultMaxBatchTokens = 256;
constexpr int kDefaultMaxSequences = 8;
constexpr int kDefaultKvBlockSize = 16;
constexpr char kDefaultHost[] = "127.0.0.1";
constexpr int kDefaultHttpPort = 8080;
constexpr int kDefaultGrpcPort = 50051;
constexpr int kDefaultMaxWaitingRequests = 64;
constexpr double kDefaultRequestTimeoutSeconds = 600;
constexpr double kDefaultDrainTimeoutSeconds = 30;
constexpr int kMaxPort = 65535;

// `value` unless it is 0 (unset), then `fallback`.
template <typename T>
T OrDefault(T value, T fallback) {
  return value == T{0} ? fallback : value;
}

bool IsMock(const v1::CardConfig& card) { return card.kind().empty() || card.kind() == kMockKind; }

void ApplyCardDefaults(int mock_cards, v1::CardConfig* card) {
  if (card->kind().empty()) card->set_kind(kMockKind);
  if (card->kind() != kMockKind) return;
  if (card->memory_bytes() == 0) card->set_memory_bytes(kDefaultMockMemoryBytes);
  if (card->compute_units() == 0) {
    const int cores = static_cast<int>(std::thread::hardware_concurrency());
    card->set_compute_units(std::max(1, cores / std::max(1, mock_cards)));
  }
}

// Problems found so far, each "<path>: <what is wrong>; <what would work>".
using Problems = std::vector<std::string>;

void CheckNotNegative(const std::string& path, double value, const std::string& fallback,
                      Problems* problems) {
  if (std::isnan(value)) {
    problems->push_back(absl::StrCat(path, ": is not a number; use 0 or more"));
  } else if (value < 0) {
    problems->push_back(absl::StrCat(path, ": ", value, " is negative; use a positive value, or ",
                                     "0 (or leave it out) for the default ", fallback));
  }
}

void CheckCards(const v1::ClusterConfig& config, Problems* problems) {
  std::map<std::string, int> first_index;  // card id -> index of its first card
  std::map<std::string, int> first_device;  // xrt device -> index of its first card
  for (int i = 0; i < config.cards_size(); ++i) {
    const v1::CardConfig& card = config.cards(i);
    const std::string path = absl::StrCat("cards[", i, "]");
    if (card.id().empty()) {
      problems->push_back(absl::StrCat(path, ".id: is empty; give every card a unique name, e.g. ",
                                       "\"card", i, "\""));
    } else if (auto [it, added] = first_index.emplace(card.id(), i); !added) {
      problems->push_back(absl::StrCat(path, ".id: \"", card.id(), "\" is already the id of cards[",
                                       it->second, "]; card ids must be unique"));
    }
    if (!IsMock(card) && card.kind() != kXrtKind) {
      problems->push_back(absl::StrCat(
          path, ".kind: \"", card.kind(), "\" is not a card kind; use \"mock\" (kernels run ",
          "on the CPU) or \"xrt\" (an Alveo card driven through XRT)"));
    }
    if (card.kind() == kXrtKind && card.bitstream().empty()) {
      problems->push_back(absl::StrCat(path, ".bitstream: an \"xrt\" card needs the bitstream ",
                                       "to load; set it to an .xclbin file"));
    }
    if (card.kind() == kXrtKind && !card.device().empty()) {
      if (auto [it, added] = first_device.emplace(card.device(), i); !added) {
        problems->push_back(absl::StrCat(path, ".device: \"", card.device(),
                                         "\" is already the device of cards[", it->second,
                                         "]; each xrt card is a different Alveo card"));
      }
    }
    if (!card.emulate().empty()) {
      // The planner models the card, and a mock card is timed like it: only catalogue cards.
      if (absl::StatusOr<planner::CardSpec> known = planner::FindCard(card.emulate());
          !known.ok()) {
        problems->push_back(absl::StrCat(path, ".emulate: ", known.status().message()));
      }
    }
    if (!card.emulate().empty() && card.has_custom()) {
      problems->push_back(absl::StrCat(path, ": sets both emulate and custom; name a catalogue ",
                                       "card in emulate or describe the card in custom"));
    }
    if (card.has_custom() && card.custom().hbm_bytes() == 0 && card.custom().ddr_bytes() == 0) {
      problems->push_back(absl::StrCat(path, ".custom: has no memory; set hbm_bytes or ddr_bytes ",
                                       "(and its gigabytes_per_second)"));
    }
    if (card.compute_units() < 0) {
      problems->push_back(absl::StrCat(
          path, ".compute_units: ", card.compute_units(), " is negative; use a positive thread ",
          "count, or 0 (or leave it out) for the host's cores shared among the cards"));
    }
  }
}

std::string PowerOfTwoNeighbours(int value) {
  int lower = 1;
  while (lower <= value / 2) lower *= 2;
  return absl::StrCat(lower, " or ", int64_t{lower} * 2);
}

void CheckModel(const v1::ServedModelConfig& model, Problems* problems) {
  if (model.path().empty()) {
    problems->push_back(
        "model.path: is required; give a GGUF file or a llama2.c checkpoint, "
        "e.g. models/stories260K/stories260K.bin");
  }
  CheckNotNegative("model.max_batch_tokens", model.max_batch_tokens(),
                   absl::StrCat(kDefaultMaxBatchTokens), problems);
  CheckNotNegative("model.max_sequences", model.max_sequences(), absl::StrCat(kDefaultMaxSequences),
                   problems);
  CheckNotNegative("model.kv_block_size", model.kv_block_size(), absl::StrCat(kDefaultKvBlockSize),
                   problems);
  CheckNotNegative("model.kv_blocks", model.kv_blocks(), "(max_sequences full contexts)", problems);
  const int block = model.kv_block_size();
  if (block > 0 && (block & (block - 1)) != 0) {
    problems->push_back(absl::StrCat("model.kv_block_size: ", block, " is not a power of two; use ",
                                     PowerOfTwoNeighbours(block)));
  }
  const int tokens = OrDefault(model.max_batch_tokens(), kDefaultMaxBatchTokens);
  const int sequences = OrDefault(model.max_sequences(), kDefaultMaxSequences);
  if (tokens > 0 && sequences > 0 && tokens < sequences) {
    problems->push_back(absl::StrCat(
        "model.max_batch_tokens: ", tokens, " is less than model.max_sequences (", sequences,
        "); a step carries at least one token per sequence, so use at least ", sequences,
        " or lower max_sequences"));
  }
}

// Cards per model instance against each group's cards, and the groups against the cards.
void CheckGroups(const v1::ClusterConfig& config, Problems* problems) {
  CheckNotNegative("model.tensor_parallel", config.model().tensor_parallel(), "1", problems);
  CheckNotNegative("model.pipeline_parallel", config.model().pipeline_parallel(), "1", problems);
  const bool implicit = config.groups().empty();
  std::set<std::string> known, grouped;
  for (const v1::CardConfig& card : config.cards()) known.insert(card.id());
  bool prefill = false, decode = false;
  const std::vector<v1::CardGroupConfig> groups = EffectiveGroups(config);
  for (size_t g = 0; g < groups.size(); ++g) {
    const v1::CardGroupConfig& group = groups[g];
    const std::string path = implicit ? "model" : absl::StrCat("groups[", g, "]");
    if (group.role() != "unified" && group.role() != "prefill" && group.role() != "decode") {
      problems->push_back(absl::StrCat(path, ".role: \"", group.role(),
                                       "\" is not a role; use unified, prefill or decode"));
    }
    prefill |= group.role() == "prefill";
    decode |= group.role() == "decode";
    for (const std::string& id : group.cards()) {
      if (!implicit && known.count(id) == 0) {
        problems->push_back(absl::StrCat(path, ".cards: no card \"", id, "\" is listed"));
      } else if (!grouped.insert(id).second && !implicit) {
        problems->push_back(absl::StrCat(path, ".cards: card \"", id, "\" is in two groups"));
      }
    }
    if (!implicit) {
      CheckNotNegative(path + ".tensor_parallel", config.groups(g).tensor_parallel(),
                       "model.tensor_parallel", problems);
      CheckNotNegative(path + ".pipeline_parallel", config.groups(g).pipeline_parallel(),
                       "model.pipeline_parallel", problems);
    }
    const int tp = std::max(group.tensor_parallel(), 1), pp = std::max(group.pipeline_parallel(), 1);
    const int per_instance = tp * pp;
    const int cards = group.cards_size();
    if (per_instance > cards) {
      problems->push_back(absl::StrCat(
          path, ": tensor_parallel ", tp, " x pipeline_parallel ", pp, " needs ", per_instance,
          " cards but the ", implicit ? "config lists " : "group lists ", cards,
          "; add cards or lower the product to at most ", cards));
    } else if (cards % per_instance != 0) {
      problems->push_back(absl::StrCat(
          path, ": ", cards, " cards do not divide into instances of tensor_parallel ", tp,
          " x pipeline_parallel ", pp, " = ", per_instance, " cards; list a multiple of ",
          per_instance, " cards or choose a product that divides ", cards));
    }
  }
  if (!implicit) {
    for (const std::string& id : known) {
      if (grouped.count(id) == 0) {
        problems->push_back(absl::StrCat("groups: card \"", id,
                                         "\" is in no group; add it to one or remove it"));
      }
    }
  }
  if (prefill != decode) {
    problems->push_back(absl::StrCat("groups: a ", prefill ? "prefill" : "decode",
                                     " group needs a ", prefill ? "decode" : "prefill",
                                     " group to hand sequences to; add one, or make it unified"));
  }
}

void CheckPort(const std::string& path, int port, Problems* problems) {
  if (port < 0 || port > kMaxPort) {
    problems->push_back(absl::StrCat(path, ": ", port, " is not a port; use 1 to ", kMaxPort,
                                     ", or 0 to pick a free port"));
  }
}

void CheckServer(const v1::ServerConfig& server, Problems* problems) {
  CheckPort("server.http_port", server.http_port(), problems);
  CheckPort("server.grpc_port", server.grpc_port(), problems);
  // Unset ports take their defaults; two ports of 0 each pick a different free port.
  const int http = server.has_http_port() ? server.http_port() : kDefaultHttpPort;
  const int grpc = server.has_grpc_port() ? server.grpc_port() : kDefaultGrpcPort;
  if (http != 0 && http == grpc) {
    problems->push_back(absl::StrCat("server.grpc_port: ", http, " is also server.http_port; ",
                                     "give the HTTP and gRPC servers different ports"));
  }
  CheckNotNegative("server.max_waiting_requests", server.max_waiting_requests(),
                   absl::StrCat(kDefaultMaxWaitingRequests), problems);
  CheckNotNegative("server.request_timeout_seconds", server.request_timeout_seconds(),
                   absl::StrCat(kDefaultRequestTimeoutSeconds), problems);
  CheckNotNegative("server.drain_timeout_seconds", server.drain_timeout_seconds(),
                   absl::StrCat(kDefaultDrainTimeoutSeconds), problems);
}

}  // namespace

std::vector<v1::CardGroupConfig> EffectiveGroups(const v1::ClusterConfig& config) {
  std::vector<v1::CardGroupConfig> groups(config.groups().begin(), config.groups().end());
  if (groups.empty()) {
    v1::CardGroupConfig& all = groups.emplace_back();
    for (const v1::CardConfig& card : config.cards()) all.add_cards(card.id());
    if (config.cards_size() == 0) all.add_cards(kDefaultCardId);
  }
  for (v1::CardGroupConfig& group : groups) {
    if (group.role().empty()) group.set_role("unified");
    if (group.tensor_parallel() == 0) group.set_tensor_parallel(config.model().tensor_parallel());
    if (group.pipeline_parallel() == 0) {
      group.set_pipeline_parallel(config.model().pipeline_parallel());
    }
  }
  return groups;
}

void ApplyDefaults(v1::ClusterConfig* config) {
  if (config->cards_size() == 0) config->add_cards()->set_id(kDefaultCardId);
  const int mock_cards =
      static_cast<int>(std::count_if(config->cards().begin(), config->cards().end(), IsMock));
  std::set<std::string> devices;  // the xrt devices named in the config
  for (v1::CardConfig& card : *config->mutable_cards()) {
    ApplyCardDefaults(mock_cards, &card);
    if (card.kind() == kXrtKind && !card.device().empty()) devices.insert(card.device());
  }
  // An xrt card without a device takes the lowest card index no other card names.
  int next_index = 0;
  for (v1::CardConfig& card : *config->mutable_cards()) {
    if (card.kind() != kXrtKind || !card.device().empty()) continue;
    while (devices.count(absl::StrCat(next_index)) > 0) ++next_index;
    card.set_device(absl::StrCat(next_index++));
  }

  v1::ServedModelConfig* model = config->mutable_model();
  if (model->name().empty() && !model->path().empty()) {
    model->set_name(std::filesystem::path(model->path()).stem().string());
  }
  model->set_max_batch_tokens(OrDefault(model->max_batch_tokens(), kDefaultMaxBatchTokens));
  model->set_max_sequences(OrDefault(model->max_sequences(), kDefaultMaxSequences));
  model->set_kv_block_size(OrDefault(model->kv_block_size(), kDefaultKvBlockSize));
  model->set_tensor_parallel(OrDefault(model->tensor_parallel(), 1));
  model->set_pipeline_parallel(OrDefault(model->pipeline_parallel(), 1));


  v1::ServerConfig* server = config->mutable_server();
  if (server->host().empty()) server->set_host(kDefaultHost);
  if (!server->has_http_port()) server->set_http_port(kDefaultHttpPort);
  if (!server->has_grpc_port()) server->set_grpc_port(kDefaultGrpcPort);
  server->set_max_waiting_requests(
      OrDefault(server->max_waiting_requests(), kDefaultMaxWaitingRequests));
  server->set_request_timeout_seconds(
      OrDefault(server->request_timeout_seconds(), kDefaultRequestTimeoutSeconds));
  server->set_drain_timeout_seconds(
      OrDefault(server->drain_timeout_seconds(), kDefaultDrainTimeoutSeconds));
}

absl::Status ValidateClusterConfig(const v1::ClusterConfig& config) {
  Problems problems;
  CheckCards(config, &problems);
  CheckModel(config.model(), &problems);
  CheckGroups(config, &problems);
  CheckServer(config.server(), &problems);
  if (problems.empty()) return absl::OkStatus();
  if (problems.size() == 1) return absl::InvalidArgumentError(problems[0]);
  return absl::InvalidArgumentError(absl::StrCat(problems.size(), " problems in the cluster ",
                                                 "config:\n  ", absl::StrJoin(problems, "\n  ")));
}

}  // namespace fabric
