// Cluster configs for serving tests, written as YAML in the test.
#ifndef FABRIC_TESTS_SERVER_YAML_CONFIG_H_
#define FABRIC_TESTS_SERVER_YAML_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "server/config/config_loader.h"
#include "server/config/config_validation.h"

namespace fabric::testing_util {

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
