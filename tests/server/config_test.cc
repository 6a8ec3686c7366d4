// The cluster config: YAML onto fabric.v1.ClusterConfig (and onto any message), strict values,
// errors that name file, line and key path, the shipped examples, defaults and validation.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fabric/v1/config.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "server/config/config_loader.h"
#include "server/config/config_validation.h"
#include "server/config/yaml_to_proto.h"
#include "tests/server/config_test_util.h"

namespace fabric {
namespace {

using ::google::protobuf::Message;
using ::fabric::testing_util::ExpectProtoEq;
using ::fabric::testing_util::kSource;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The error message parsing `yaml` gives; fails the test if it parses.
std::string ParseError(const std::string& yaml) {
  absl::StatusOr<v1::ClusterConfig> config = ParseClusterConfig(yaml, kSource);
  EXPECT_FALSE(config.ok()) << "parsed:\n" << yaml;
  if (config.ok()) return "";
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(config.status().message());
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::FILE* file = std::fopen(path.c_str(), "wb");
  EXPECT_NE(file, nullptr) << path;
  if (file == nullptr) return path;
  EXPECT_EQ(std::fwrite(text.data(), 1, text.size(), file), text.size());
  std::fclose(file);
  return path;
}

// ---- YAML onto ClusterConfig -------------------------------------------------------------

TEST(ConfigLoaderTest, FullYamlSetsEveryField) {
  const absl::StatusOr<v1::ClusterConfig> config = ParseClusterConfig(R"yaml(
cards:
  - id: card0
    kind: mock
    memory_bytes: 17179869184
    compute_units: 3
  - id: alveo0
    kind: xrt
    memory_bytes: 8GiB
    bitstream: /opt/fabric/decode.xclbin
model:
  path: models/stories260K/stories260K.bin
  tokenizer: "models/stories260K/tok512.bin"
  name: stories
  max_batch_tokens: 512
  max_sequences: 4
  kv_block_size: 32
  kv_blocks: 100
server:
  host: 0.0.0.0
  http_port: 9000
  grpc_port: '9001'
  max_waiting_requests: 10
  request_timeout_seconds: 12.5
  drain_timeout_seconds: 3
)yaml",
                                                                      kSource);
  ASSERT_TRUE(config.ok()) << config.status();
  ExpectProtoEq(*config, R"pb(
    cards { id: "card0" kind: "mock" memory_bytes: 17179869184 compute_units: 3 }
    cards {
      id: "alveo0"
      kind: "xrt"
      memory_bytes: 8589934592
      bitstream: "/opt/fabric/decode.xclbin"
    }
    model {
      path: "models/stories260K/stories260K.bin"
      tokenizer: "models/stories260K/tok512.bin"
      name: "stories"
      max_batch_tokens: 512
      max_sequences: 4
      kv_block_size: 32
      kv_blocks: 100
    }
    server {
      host: "0.0.0.0"
      http_port: 9000
      grpc_port: 9001
      max_waiting_requests: 10
      request_timeout_seconds: 12.5
      drain_timeout_seconds: 3
    }
  )pb");
}

TEST(ConfigLoaderTest, EmptyTextAndEmptySectionsAreEmptyConfigs) {
  for (const std::string yaml : {"", "# only a comment\n", "cards:\nmodel:\nserver:\n"}) {
    const absl::StatusOr<v1::ClusterConfig> config = ParseClusterConfig(yaml, kSource);
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_EQ(config->cards_size(), 0) << yaml;
    EXPECT_EQ(config->model().path(), "") << yaml;
  }
}

// Each file in deploy/configs loads, takes defaults, validates, and names bundled files.
struct ShippedConfig {
  std::string file;
  int cards;
  std::string kind;
};

class ShippedConfigTest : public ::testing::TestWithParam<ShippedConfig> {};

TEST_P(ShippedConfigTest, LoadsAndValidates) {
  const std::string root = FABRIC_SOURCE_DIR;
  absl::StatusOr<v1::ClusterConfig> config =
      LoadClusterConfig(root + "/deploy/configs/" + GetParam().file);
  ASSERT_TRUE(config.ok()) << config.status();
  ApplyDefaults(&*config);
  EXPECT_TRUE(ValidateClusterConfig(*config).ok()) << ValidateClusterConfig(*config);
  EXPECT_EQ(config->cards_size(), GetParam().cards);
  for (const v1::CardConfig& card : config->cards()) EXPECT_EQ(card.kind(), GetParam().kind);
  EXPECT_EQ(config->model().name(), "stories260K");
  // Paths are relative to the repository root, where `make run` runs.
  EXPECT_TRUE(std::filesystem::is_regular_file(root + "/" + config->model().path()));
  EXPECT_TRUE(std::filesystem::is_regular_file(root + "/" + config->model().tokenizer()));
}

INSTANTIATE_TEST_SUITE_P(
    Examples, ShippedConfigTest,
    ::testing::Values(ShippedConfig{"one-mock-card.yaml", 1, "mock"},
                      ShippedConfig{"two-mock-cards.yaml", 2, "mock"},
                      ShippedConfig{"four-mock-cards.yaml", 4, "mock"},
                      ShippedConfig{"eight-mock-cards.yaml", 8, "mock"},
                      ShippedConfig{"prefill-decode.yaml", 2, "mock"},
                      ShippedConfig{"two-prefill-two-decode.yaml", 4, "mock"},
                      ShippedConfig{"two-emulated-u280-cards.yaml", 2, "mock"},
                      ShippedConfig{"two-u280-cards.yaml", 2, "xrt"},
                      ShippedConfig{"four-u280-cards.yaml", 4, "xrt"}),
    [](const ::testing::TestParamInfo<ShippedConfig>& info) {
      std::string name = info.param.file.substr(0, info.param.file.find('.'));
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

// ---- Unknown keys and misplaced shapes ---------------------------------------------------

TEST(ConfigLoaderTest, UnknownTopLevelKeyNamesTheKnownOnes) {
  EXPECT_EQ(ParseError("modle:\n  path: x.bin\n"),
            "cluster.yaml:1: unknown key \"modle\" (known: cards, model, server, groups); "
            "did you mean \"model\"?");
}

TEST(ConfigLoaderTest, UnknownNestedKeyNamesThePath) {
  EXPECT_EQ(ParseError("model:\n  path: x.bin\n  colour: blue\n"),
            "cluster.yaml:3: model: unknown key \"colour\" (known: path, tokenizer, name, "
            "max_batch_tokens, max_sequences, kv_block_size, kv_blocks, tensor_parallel, "
            "pipeline_parallel)");
}

TEST(ConfigLoaderTest, UnknownKeyInListItemNamesTheItem) {
  EXPECT_EQ(ParseError("cards:\n  - id: a\n  - id: b\n    memroy_bytes: 1\n"),
            "cluster.yaml:4: cards[1]: unknown key \"memroy_bytes\" (known: id, kind, "
            "memory_bytes, compute_units, bitstream, device, emulate, custom); did you mean "
            "\"memory_bytes\"?");
}

TEST(ConfigLoaderTest, DuplicateKeyIsAnError) {
  EXPECT_EQ(ParseError("server:\n  http_port: 1\n  http_port: 2\n"),
            "cluster.yaml:3: server: duplicate key \"http_port\"");
}

TEST(ConfigLoaderTest, SeveralDocumentsAreAnError) {
  EXPECT_THAT(ParseError("model: {path: a}\n---\nmodel: {path: b}\n"),
              StartsWith("cluster.yaml: holds 2 YAML documents"));
}

// ---- Every scalar type's bad values, through ClusterConfig -------------------------------

struct BadValue {
  std::string yaml;
  std::string error;
};

class BadValueTest : public ::testing::TestWithParam<BadValue> {};

TEST_P(BadValueTest, NamesFileLineKeyAndValue) {
  EXPECT_EQ(ParseError(GetParam().yaml), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    ClusterConfig, BadValueTest,
    ::testing::Values(
        // int32
        BadValue{"model:\n  max_batch_tokens: lots\n",
                 "cluster.yaml:2: model.max_batch_tokens: expected an integer, got \"lots\""},
        BadValue{"model:\n  max_batch_tokens: 12abc\n",
                 "cluster.yaml:2: model.max_batch_tokens: expected an integer, got \"12abc\""},
        BadValue{"model:\n  max_sequences: 3.5\n",
                 "cluster.yaml:2: model.max_sequences: expected an integer, got \"3.5\""},
        BadValue{"model:\n  max_sequences: 1e3\n",
                 "cluster.yaml:2: model.max_sequences: expected an integer, got \"1e3\""},
        BadValue{"model:\n  kv_blocks: 2147483648\n",
                 "cluster.yaml:2: model.kv_blocks: 2147483648 is out of range "
                 "(-2147483648 to 2147483647)"},
        BadValue{"server:\n  http_port: -99999999999\n",
                 "cluster.yaml:2: server.http_port: -99999999999 is out of range "
                 "(-2147483648 to 2147483647)"},
        BadValue{"model:\n  max_batch_tokens: 1K\n",  // units only for *_bytes fields
                 "cluster.yaml:2: model.max_batch_tokens: expected an integer, got \"1K\""},
        BadValue{"model:\n  max_batch_tokens: [1, 2]\n",
                 "cluster.yaml:2: model.max_batch_tokens: expected a single value, got a list"},
        BadValue{"model:\n  max_batch_tokens: {a: 1}\n",
                 "cluster.yaml:2: model.max_batch_tokens: expected a single value, "
                 "got a mapping"},
        BadValue{"model:\n  max_batch_tokens: ~\n",
                 "cluster.yaml:2: model.max_batch_tokens: has no value; give one or remove "
                 "the key"},
        // uint64 (memory_bytes is also a size)
        BadValue{"cards:\n  - id: a\n    memory_bytes: -1\n",
                 "cluster.yaml:3: cards[0].memory_bytes: expected a byte count such as "
                 "17179869184, \"16GiB\" or \"512MiB\", got \"-1\""},
        BadValue{"cards:\n  - memory_bytes: 18446744073709551616\n",
                 "cluster.yaml:2: cards[0].memory_bytes: \"18446744073709551616\" is out of "
                 "range (at most 18446744073709551615 bytes)"},
        // double
        BadValue{"server:\n  request_timeout_seconds: fast\n",
                 "cluster.yaml:2: server.request_timeout_seconds: expected a number, "
                 "got \"fast\""},
        BadValue{"server:\n  request_timeout_seconds: .inf\n",
                 "cluster.yaml:2: server.request_timeout_seconds: expected a number, "
                 "got \".inf\""},
        BadValue{"server:\n  drain_timeout_seconds: inf\n",
                 "cluster.yaml:2: server.drain_timeout_seconds: expected a number, got \"inf\""},
        BadValue{"server:\n  drain_timeout_seconds: 1e400\n",
                 "cluster.yaml:2: server.drain_timeout_seconds: 1e400 is out of range "
                 "(largest magnitude 1.79769e+308)"},
        BadValue{"server:\n  drain_timeout_seconds: 1.5.2\n",
                 "cluster.yaml:2: server.drain_timeout_seconds: expected a number, "
                 "got \"1.5.2\""},
        // string
        BadValue{"server:\n  host: [a, b]\n",
                 "cluster.yaml:2: server.host: expected a single value, got a list"},
        // message and repeated fields given the wrong shape
        BadValue{"model: stories.bin\n",
                 "cluster.yaml:1: model: expected a mapping (keys: path, tokenizer, name, "
                 "max_batch_tokens, max_sequences, kv_block_size, kv_blocks, tensor_parallel, pipeline_parallel), "
                 "got \"stories.bin\""},
        BadValue{"cards:\n  id: card0\n",
                 "cluster.yaml:2: cards: expected a list (items starting with \"- \"), "
                 "got a mapping"},
        BadValue{"cards:\n  - card0\n",
                 "cluster.yaml:2: cards[0]: expected a mapping (keys: id, kind, memory_bytes, "
                 "compute_units, bitstream, device, emulate, custom), got \"card0\""},
        BadValue{"- a\n- b\n",
                 "cluster.yaml:1: expected a mapping (keys: cards, model, server, groups), got a list"}));

// ---- Human sizes in *_bytes fields -------------------------------------------------------

struct Size {
  std::string text;
  uint64_t bytes;
};

class HumanSizeTest : public ::testing::TestWithParam<Size> {};

TEST_P(HumanSizeTest, MemoryBytesTakesUnits) {
  const absl::StatusOr<v1::ClusterConfig> config =
      ParseClusterConfig("cards:\n  - id: a\n    memory_bytes: " + GetParam().text + "\n", kSource);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->cards(0).memory_bytes(), GetParam().bytes) << GetParam().text;
}

constexpr uint64_t kKiB = 1024, kMiB = kKiB << 10, kGiB = kMiB << 10, kTiB = kGiB << 10;

INSTANTIATE_TEST_SUITE_P(Units, HumanSizeTest,
                         ::testing::Values(Size{"17179869184", 16 * kGiB}, Size{"0", 0},
                                           Size{"16GiB", 16 * kGiB}, Size{"512MiB", 512 * kMiB},
                                           Size{"8G", 8 * kGiB}, Size{"8g", 8 * kGiB},
                                           Size{"8Gi", 8 * kGiB}, Size{"16 GiB", 16 * kGiB},
                                           Size{"4KiB", 4 * kKiB}, Size{"2T", 2 * kTiB},
                                           Size{"100B", 100}, Size{"1.5GiB", 3 * kGiB / 2},
                                           Size{"2GB", 2'000'000'000}, Size{"3MB", 3'000'000},
                                           Size{"1KB", 1000}, Size{"'1GiB'", kGiB}));

TEST(HumanSizeTest, BadSizesAreErrors) {
  const std::string prefix = "cluster.yaml:2: cards[0].memory_bytes: ";
  auto error = [](const std::string& text) {
    return ParseError("cards:\n  - memory_bytes: " + text + "\n");
  };
  EXPECT_EQ(error("16GiBs"), prefix +
                                 "unknown size unit \"GiBs\" in \"16GiBs\"; use B, K/KiB, M/MiB, "
                                 "G/GiB, T/TiB (powers of 1024) or KB, MB, GB, TB (powers of "
                                 "1000)");
  EXPECT_EQ(error("0.3KiB"), prefix + "\"0.3KiB\" is not a whole number of bytes");
  EXPECT_EQ(error("20000000TiB"),
            prefix + "\"20000000TiB\" is out of range (at most 18446744073709551615 bytes)");
  EXPECT_EQ(error("lots"), prefix +
                               "expected a byte count such as 17179869184, \"16GiB\" or "
                               "\"512MiB\", got \"lots\"");
  EXPECT_THAT(error(".5GiB"), HasSubstr("expected a byte count"));
  EXPECT_THAT(error("1.GiB"), HasSubstr("expected a byte count"));
  EXPECT_THAT(error("GiB"), HasSubstr("expected a byte count"));
}

// ---- Any message: the scalar types ClusterConfig does not use yet ------------------------

// A schema with every scalar type, an enum, a map and a oneof, built at run time.
constexpr char kScalarsProto[] = R"pb(
  name: "scalars.proto"
  package: "fabric.test"
  syntax: "proto3"
  message_type {
    name: "Scalars"
    field { name: "i32" number: 1 label: LABEL_OPTIONAL type: TYPE_INT32 }
    field { name: "i64" number: 2 label: LABEL_OPTIONAL type: TYPE_INT64 }
    field { name: "u32" number: 3 label: LABEL_OPTIONAL type: TYPE_UINT32 }
    field { name: "u64" number: 4 label: LABEL_OPTIONAL type: TYPE_UINT64 }
    field { name: "f" number: 5 label: LABEL_OPTIONAL type: TYPE_FLOAT }
    field { name: "d" number: 6 label: LABEL_OPTIONAL type: TYPE_DOUBLE }
    field { name: "b" number: 7 label: LABEL_OPTIONAL type: TYPE_BOOL }
    field { name: "s" number: 8 label: LABEL_OPTIONAL type: TYPE_STRING }
    field { name: "raw" number: 9 label: LABEL_OPTIONAL type: TYPE_BYTES }
    field {
      name: "color"
      number: 10
      label: LABEL_OPTIONAL
      type: TYPE_ENUM
      type_name: ".fabric.test.Color"
    }
    field { name: "buffer_bytes" number: 11 label: LABEL_OPTIONAL type: TYPE_UINT32 }
    field { name: "offset_bytes" number: 12 label: LABEL_OPTIONAL type: TYPE_INT64 }
    field { name: "list" number: 13 label: LABEL_REPEATED type: TYPE_INT32 }
    field {
      name: "labels"
      number: 14
      label: LABEL_REPEATED
      type: TYPE_MESSAGE
      type_name: ".fabric.test.Scalars.LabelsEntry"
    }
    field { name: "by_name" number: 15 label: LABEL_OPTIONAL type: TYPE_STRING oneof_index: 0 }
    field { name: "by_index" number: 16 label: LABEL_OPTIONAL type: TYPE_INT32 oneof_index: 0 }
    nested_type {
      name: "LabelsEntry"
      field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
      field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_INT32 }
      options { map_entry: true }
    }
    oneof_decl { name: "target" }
  }
  enum_type {
    name: "Color"
    value { name: "COLOR_UNSPECIFIED" number: 0 }
    value { name: "RED" number: 1 }
    value { name: "GREEN" number: 2 }
  }
)pb";

class AnyMessageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    google::protobuf::FileDescriptorProto file;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(kScalarsProto, &file));
    ASSERT_NE(pool_.BuildFile(file), nullptr);
    prototype_ = factory_.GetPrototype(pool_.FindMessageTypeByName("fabric.test.Scalars"));
  }

  // Parses `yaml` into a new Scalars message.
  absl::StatusOr<std::unique_ptr<Message>> Parse(const std::string& yaml) {
    std::unique_ptr<Message> message(prototype_->New());
    absl::Status status = ParseYamlIntoMessage(yaml, "s.yaml", message.get());
    if (!status.ok()) return status;
    return message;
  }

  // The error for `key: value`, without the "s.yaml:1: key: " prefix.
  std::string ValueError(const std::string& key, const std::string& value) {
    absl::StatusOr<std::unique_ptr<Message>> message = Parse(key + ": " + value + "\n");
    EXPECT_FALSE(message.ok()) << key << ": " << value << " parsed";
    if (message.ok()) return "";
    const std::string prefix = "s.yaml:1: " + key + ": ";
    const std::string error(message.status().message());
    EXPECT_THAT(error, StartsWith(prefix));
    return error.substr(std::min(prefix.size(), error.size()));
  }

  google::protobuf::DescriptorPool pool_;
  google::protobuf::DynamicMessageFactory factory_;
  const Message* prototype_ = nullptr;
};

TEST_F(AnyMessageTest, EveryScalarTypeParses) {
  absl::StatusOr<std::unique_ptr<Message>> message = Parse(R"yaml(
i32: -2147483648
i64: -9223372036854775808
u32: 4294967295
u64: 18446744073709551615
f: 0.5
d: -1e-3
b: true
s: 1234
raw: "a\tb"
color: GREEN
buffer_bytes: 2KiB
offset_bytes: 1G
list: [3, -4]
labels: {x: 1, y: 2}
by_index: 7
)yaml");
  ASSERT_TRUE(message.ok()) << message.status();
  ExpectProtoEq(**message, R"pb(
    i32: -2147483648
    i64: -9223372036854775808
    u32: 4294967295
    u64: 18446744073709551615
    f: 0.5
    d: -0.001
    b: true
    s: "1234"
    raw: "a\tb"
    color: GREEN
    buffer_bytes: 2048
    offset_bytes: 1073741824
    list: [ 3, -4 ]
    labels { key: "x" value: 1 }
    labels { key: "y" value: 2 }
    by_index: 7
  )pb");
}

TEST_F(AnyMessageTest, BadValuesOfEveryType) {
  EXPECT_EQ(ValueError("i32", "2147483648"),
            "2147483648 is out of range (-2147483648 to 2147483647)");
  EXPECT_EQ(ValueError("i64", "9223372036854775808"),
            "9223372036854775808 is out of range (-9223372036854775808 to 9223372036854775807)");
  EXPECT_EQ(ValueError("i64", "0x10"), "expected an integer, got \"0x10\"");
  EXPECT_EQ(ValueError("u32", "-1"), "expected a non-negative integer, got \"-1\"");
  EXPECT_EQ(ValueError("u32", "4294967296"), "4294967296 is out of range (0 to 4294967295)");
  EXPECT_EQ(ValueError("u64", "1.0"), "expected a non-negative integer, got \"1.0\"");
  EXPECT_EQ(ValueError("u64", "18446744073709551616"),
            "18446744073709551616 is out of range (0 to 18446744073709551615)");
  EXPECT_EQ(ValueError("f", "1e39"), "1e39 is out of range (largest magnitude 3.40282e+38)");
  EXPECT_EQ(ValueError("f", "nan"), "expected a number, got \"nan\"");
  EXPECT_EQ(ValueError("d", "12abc"), "expected a number, got \"12abc\"");
  EXPECT_EQ(ValueError("b", "yes"), "expected true or false, got \"yes\"");
  EXPECT_EQ(ValueError("b", "1"), "expected true or false, got \"1\"");
  EXPECT_EQ(ValueError("color", "PURPLE"),
            "expected one of COLOR_UNSPECIFIED, RED, GREEN, got \"PURPLE\"");
  EXPECT_EQ(ValueError("color", "1"), "expected one of COLOR_UNSPECIFIED, RED, GREEN, got \"1\"");
  EXPECT_EQ(ValueError("buffer_bytes", "4GiB"),
            "\"4GiB\" is out of range (at most 4294967295 bytes)");
  EXPECT_EQ(ValueError("s", "{a: 1}"), "expected a single value, got a mapping");
  EXPECT_EQ(ValueError("labels", "[1]"), "expected a mapping, got a list");
}

TEST_F(AnyMessageTest, ListItemsAndMapValuesNameTheirPlace) {
  EXPECT_EQ(Parse("list:\n  - 1\n  - two\n").status().message(),
            "s.yaml:3: list[1]: expected an integer, got \"two\"");
  EXPECT_EQ(Parse("labels:\n  x: 1\n  y: why\n").status().message(),
            "s.yaml:3: labels.y: expected an integer, got \"why\"");
  EXPECT_EQ(Parse("list: 5\n").status().message(),
            "s.yaml:1: list: expected a list (items starting with \"- \"), got \"5\"");
}

TEST_F(AnyMessageTest, OneofAlternativesCannotBothBeSet) {
  EXPECT_EQ(Parse("by_name: a\nby_index: 2\n").status().message(),
            "s.yaml:2: \"by_index\" and \"by_name\" are alternatives; set only one of them");
}

TEST_F(AnyMessageTest, MergesIntoWhatIsThere) {
  std::unique_ptr<Message> message(prototype_->New());
  ASSERT_TRUE(
      google::protobuf::TextFormat::ParseFromString("i32: 5 s: \"kept\" list: 1", message.get()));
  ASSERT_TRUE(ParseYamlIntoMessage("i32: 0\nlist: [2]\n", "s.yaml", message.get()).ok());
  ExpectProtoEq(*message, R"pb(i32: 0
                               s: "kept"
                               list: [ 1, 2 ])pb");
}

// ---- Syntax errors and files -------------------------------------------------------------

TEST(ConfigLoaderTest, YamlSyntaxErrorNamesFileAndLine) {
  EXPECT_THAT(ParseError("model:\n  path: x.bin\n  name: [unclosed\nserver:\n  http_port: 1\n"),
              StartsWith("cluster.yaml:4:"));
  EXPECT_THAT(ParseError("model:\n  path: x.bin\n name: bad indent\n"),
              StartsWith("cluster.yaml:3:"));
  EXPECT_EQ(ParseError("model:\n  path: a: b\n"),
            "cluster.yaml:2:10: YAML syntax error: illegal map value");
}

TEST(ConfigLoaderTest, LoadsAFileAndNamesItInErrors) {
  const std::string good = WriteTemp("good.yaml", "model:\n  path: m.bin\n");
  absl::StatusOr<v1::ClusterConfig> config = LoadClusterConfig(good);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->model().path(), "m.bin");

  const std::string bad = WriteTemp("bad.yaml", "\nserver:\n  http_port: lots\n");
  config = LoadClusterConfig(bad);
  EXPECT_EQ(config.status().message(),
            bad + ":3: server.http_port: expected an integer, got \"lots\"");
}

TEST(ConfigLoaderTest, MissingFileIsNotFoundNamingIt) {
  const std::string path = ::testing::TempDir() + "/no/such/cluster.yaml";
  const absl::StatusOr<v1::ClusterConfig> config = LoadClusterConfig(path);
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(config.status().message(),
            "cannot read the cluster config " + path + ": No such file or directory");
}

TEST(ConfigLoaderTest, DirectoryIsAnErrorNamingIt) {
  const absl::StatusOr<v1::ClusterConfig> config = LoadClusterConfig(::testing::TempDir());
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr(::testing::TempDir()));
}

TEST(ConfigLoaderTest, UnreadableFileIsAnErrorNamingIt) {
  // A socket can be neither opened nor mapped, even by root (which reads any plain file).
  const std::string path = ::testing::TempDir() + "/config.sock";
  std::remove(path.c_str());
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof(address.sun_path));
  std::copy(path.begin(), path.end(), address.sun_path);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  const absl::StatusOr<v1::ClusterConfig> config = LoadClusterConfig(path);
  close(fd);
  std::remove(path.c_str());
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr(path));
}

}  // namespace
}  // namespace fabric
