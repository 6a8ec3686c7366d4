// Cluster configs for serving tests, written as YAML in the test.
#ifndef FABRIC_TESTS_SERVER_YAML_CONFIG_H_
#define FABRIC_TESTS_SERVER_YAML_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "server/config/config_loader.h"
#include "server/config/config_validation.h"

namespace fabric::testing_util {

// A YAML card entry: a mock card `id` emulating a custom card whose memory streams only
// `gigabytes_per_second`, so its steps take as long as a test needs; one compute unit.
inline std::string SlowCardYaml(const std::string& id, const std::string& gigabytes_per_second) {
  return "  - id: " + id +
         "\n"
         "    memory_bytes: 1GiB\n"
         "    compute_units: 1\n"
         "    custom: {name: slow, dsp_slices: 100, hbm_bytes: 1GiB,\n"
         "             hbm_gigabytes_per_second: " +
         gigabytes_per_second + ", pcie_gen: 4, pcie_lanes: 8}\n";
}

// The YAML `model:` line serving the bundled stories260K, with `extra` keys ("k: v, ...").
inline std::string Stories260KModelYaml(const std::string& extra) {
  const std::string dir = std::string(FABRIC_SOURCE_DIR) + "/models/stories260K/";
  return "model: {path: " + dir + "stories260K.bin, tokenizer: " + dir + "tok512.bin, " + extra +
         "}\n";
}

// `yaml` parsed, with defaults applied and both ports 0 (picked free); fails the test unless
// it parses and validates.
inline v1::ClusterConfig ServingConfigFromYaml(const std::string& yaml) {
  absl::StatusOr<v1::ClusterConfig> config = ParseClusterConfig(yaml, "test.yaml");
  EXPECT_TRUE(config.ok()) << config.status();
  if (!config.ok()) return {};
  ApplyDefaults(&*config);
  config->mutable_server()->set_http_port(0);
  config->mutable_server()->set_grpc_port(0);
  EXPECT_TRUE(ValidateClusterConfig(*config).ok()) << ValidateClusterConfig(*config);
  return *config;
}

}  // namespace fabric::testing_util

#endif  // FABRIC_TESTS_SERVER_YAML_CONFIG_H_
