#include "server/config/config_loader.h"

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/mapped_file.h"
#include "common/status_macros.h"
#include "server/config/yaml_to_proto.h"

namespace fabric {

absl::StatusOr<v1::ClusterConfig> LoadClusterConfig(const std::string& path) {
  absl::StatusOr<std::unique_ptr<MappedFile>> file = MappedFile::Open(path);
  if (!file.ok()) {
    // MappedFile's message already names the path and the reason.
    return absl::Status(file.status().code(),
                        absl::StrCat("cannot read the cluster config ", file.status().message()));
  }
  const auto bytes = (*file)->bytes();
  return ParseClusterConfig(std::string(bytes.begin(), bytes.end()), path);
}

absl::StatusOr<v1::ClusterConfig> ParseClusterConfig(const std::string& yaml_text,
                                                     const std::string& source_name) {
  v1::ClusterConfig config;
  RETURN_IF_ERROR(ParseYamlIntoMessage(yaml_text, source_name, &config));
  return config;
}

}  // namespace fabric
