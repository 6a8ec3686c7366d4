// A Fabric server started in-process on port 0, driven over real HTTP and real gRPC.
#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "device/device_worker.h"
#include "device/mock/mock_device.h"
#include "fabric/v1/inference.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "model/generator.h"
#include "model/model_file.h"
#include "nlohmann/json.hpp"
#include "server/config/config_loader.h"
#include "server/config/config_validation.h"
#include "scheduler/utf8_stream.h"
#include "server/fabric_server.h"
#include "tests/server/http_client.h"
#include "tests/server/metric_samples.h"

namespace fabric {
namespace {

using ::fabric::testing_util::HttpCall;
using ::fabric::testing_util::HttpResult;
using ::fabric::testing_util::MetricSample;
using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

const std::string kModelDir = std::string(FABRIC_SOURCE_DIR) + "/models/stories260K/";

v1::ClusterConfig TestConfig(int cards, int max_sequences = 8, int max_waiting = 64) {
  v1::ClusterConfig config;
  for (int c = 0; c < cards; ++c) {
    v1::CardConfig* card = config.add_cards();
    card->set_id("card" + std::to_string(c));
    card->set_memory_bytes(uint64_t{1} << 30);
  }
  config.mutable_model()->set_path(kModelDir + "stories260K.bin");
  config.mutable_model()->set_tokenizer(kModelDir + "tok512.bin");
  config.mutable_model()->set_max_sequences(max_sequences);
  config.mutable_server()->set_max_waiting_requests(max_waiting);
  config.mutable_server()->set_drain_timeout_seconds(30);
  ApplyDefaults(&config);
  config.mutable_server()->set_http_port(0);
  config.mutable_server()->set_grpc_port(0);
  EXPECT_TRUE(ValidateClusterConfig(config).ok());
  return config;
}

// What `fabric generate` prints for a greedy run: the same model through the generator.
std::string GenerateReference(const std::string& prompt, int max_tokens) {
  auto model = std::move(ModelFile::Open(kModelDir + "stories260K.bin", kModelDir + "tok512.bin"))
                   .value();
  DeviceWorker worker(std::move(MockDevice::Create({})).value());
  auto program = std::move(LlamaProgram::Create(*model, worker, {})).value();
  Tokenizer tokenizer(model->vocabulary());
  Generator generator(*program, tokenizer);
  std::string text;
  EXPECT_TRUE(generator
                  .Generate(prompt, max_tokens, {.temperature = 0},
                            [&](int, std::string_view piece) { text += piece; })
                  .ok());
  return text;
}

class ServingTest : public ::testing::Test {
 protected:
  void Start(v1::ClusterConfig config) {
    auto server = FabricServer::Start(config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    base_ = "http://127.0.0.1:" + std::to_string(server_->http_port());
  }
  void SetUp() override { Start(TestConfig(2)); }

  HttpResult Post(const std::string& path, const json& body) {
    return HttpCall("POST", base_ + path, body.dump());
  }
  json Completion(const std::string& prompt, int max_tokens, json extra = json::object()) {
    json body = {{"model", "stories260K"}, {"prompt", prompt}, {"max_tokens", max_tokens},
                 {"temperature", 0}};
    body.update(extra);
    HttpResult result = Post("/v1/completions", body);
    EXPECT_EQ(result.status, 200) << result.body;
    return json::parse(result.body);
  }
  // The data payloads of a streamed response, in order, without the final [DONE].
  std::vector<json> StreamEvents(const std::string& path, const json& body, bool* done) {
    HttpResult result = Post(path, body);
    EXPECT_EQ(result.status, 200) << result.body;
    std::vector<json> events;
    *done = false;
    for (absl::string_view line : absl::StrSplit(result.body, "\n\n", absl::SkipEmpty())) {
      EXPECT_TRUE(absl::StartsWith(line, "data: ")) << line;
      line.remove_prefix(6);
      if (line == "[DONE]") {
        *done = true;
        continue;
      }
      EXPECT_FALSE(*done) << "data after [DONE]";
      events.push_back(json::parse(line));
    }
    return events;
  }
  void ExpectError(const HttpResult& result, long status, const std::string& fragment) {
    EXPECT_EQ(result.status, status) << result.body;
    json body = json::parse(result.body, nullptr, false);
    ASSERT_TRUE(body.contains("error")) << result.body;
    EXPECT_THAT(body["error"]["message"].get<std::string>(), HasSubstr(fragment));
    EXPECT_TRUE(body["error"].contains("type"));
    // The server keeps serving.
    EXPECT_EQ(Completion("Hello", 2)["choices"][0]["finish_reason"], "length");
  }
  double MetricValue(const std::string& name) {
    return MetricSample(HttpCall("GET", base_ + "/metrics").body, name);
  }

  std::unique_ptr<FabricServer> server_;
  std::string base_;
};

TEST_F(ServingTest, GreedyCompletionEqualsFabricGenerate) {
  json response = Completion("Once upon a time", 40);
  EXPECT_EQ(response["object"], "text_completion");
  EXPECT_EQ(response["model"], "stories260K");
  EXPECT_EQ(response["choices"][0]["text"], GenerateReference("Once upon a time", 40));
  EXPECT_EQ(response["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(response["usage"]["prompt_tokens"], 5);  // BOS + 4 pieces, as llama2.c encodes it
  EXPECT_EQ(response["usage"]["completion_tokens"], 40);
  EXPECT_EQ(response["usage"]["total_tokens"], 45);
}

TEST_F(ServingTest, StreamedChunksConcatenateToTheUnstreamedText) {
  const std::string expected = Completion("Lily and Tom", 30)["choices"][0]["text"];
  bool done = false;
  std::vector<json> events =
      StreamEvents("/v1/completions",
                   {{"model", "stories260K"}, {"prompt", "Lily and Tom"}, {"max_tokens", 30},
                    {"temperature", 0}, {"stream", true},
                    {"stream_options", {{"include_usage", true}}}},
                   &done);
  EXPECT_TRUE(done);
  ASSERT_GE(events.size(), 3u);
  std::string text;
  for (const json& event : events) {
    if (!event["choices"].empty()) text += event["choices"][0]["text"].get<std::string>();
  }
  EXPECT_EQ(text, expected);
  const json& finish = events[events.size() - 2];
  EXPECT_EQ(finish["choices"][0]["finish_reason"], "length");
  const json& usage = events.back();
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["completion_tokens"], 30);
}

TEST_F(ServingTest, ChatCompletionsUnaryAndStreamed) {
  json body = {{"model", "stories260K"},
               {"messages", {{{"role", "user"}, {"content", "Tell me a story."}}}},
               {"max_tokens", 20}, {"temperature", 0}};
  HttpResult result = Post("/v1/chat/completions", body);
  ASSERT_EQ(result.status, 200) << result.body;
  json response = json::parse(result.body);
  EXPECT_EQ(response["object"], "chat.completion");
  EXPECT_EQ(response["choices"][0]["message"]["role"], "assistant");
  const std::string text = response["choices"][0]["message"]["content"];
  body["stream"] = true;
  bool done = false;
  std::vector<json> events = StreamEvents("/v1/chat/completions", body, &done);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0]["object"], "chat.completion.chunk");
  EXPECT_EQ(events[0]["choices"][0]["delta"]["role"], "assistant");
  std::string streamed;
  for (const json& event : events) {
    const json& delta = event["choices"][0]["delta"];
    if (delta.contains("content")) streamed += delta["content"].get<std::string>();
  }
  EXPECT_EQ(streamed, text);
}

TEST_F(ServingTest, StopSequencesAndSeedsAndChoices) {
  json stopped = Completion("Once upon a time", 60, {{"stop", {"Lily", "zebra"}}});
  EXPECT_EQ(stopped["choices"][0]["text"], ", there was a little girl named ");
  EXPECT_EQ(stopped["choices"][0]["finish_reason"], "stop");

  json sampled = {{"temperature", 1.0}, {"seed", 7}, {"n", 3}};
  json a = Completion("Once upon a time", 20, sampled);
  json b = Completion("Once upon a time", 20, sampled);
  ASSERT_EQ(a["choices"].size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(a["choices"][i]["text"], b["choices"][i]["text"]);
  EXPECT_NE(a["choices"][0]["text"], a["choices"][1]["text"]);
  EXPECT_EQ(a["usage"]["completion_tokens"], 60);
}

TEST_F(ServingTest, TextStaysValidUtf8WhenTokensSplitCharacters) {
  // llama2.c's golden run of this prompt emits lone bytes 0xC3 and 0xAF (half characters).
  const std::string prompt = "Zo\xC3\xAB said na\xC3\xAFve things";
  json response = Completion(prompt, 40, {{"logprobs", 1}});
  const std::string text = response["choices"][0]["text"];
  EXPECT_EQ(text, SanitizeUtf8(text));
  EXPECT_EQ(text, SanitizeUtf8(GenerateReference(prompt, 40)));
  bool done = false;
  std::vector<json> events = StreamEvents(
      "/v1/completions",
      {{"model", "stories260K"}, {"prompt", prompt}, {"max_tokens", 40}, {"temperature", 0},
       {"stream", true}},
      &done);
  std::string streamed;
  for (const json& event : events) streamed += event["choices"][0]["text"].get<std::string>();
  EXPECT_EQ(streamed, text);
}

TEST_F(ServingTest, EchoPrependsThePrompt) {
  const std::string plain = Completion("Lily and Tom", 8)["choices"][0]["text"];
  EXPECT_EQ(Completion("Lily and Tom", 8, {{"echo", true}})["choices"][0]["text"],
            "Lily and Tom" + plain);
}

TEST_F(ServingTest, LogprobsAndTokenPrompts) {
  json response = Completion("Once upon a time", 3, {{"logprobs", 2}});
  const json& logprobs = response["choices"][0]["logprobs"];
  ASSERT_EQ(logprobs["tokens"].size(), 3u);
  EXPECT_EQ(logprobs["top_logprobs"][0].size(), 2u);
  EXPECT_LT(logprobs["token_logprobs"][0].get<double>(), 0.0);

  HttpResult tokens = Post("/v1/completions", {{"model", "stories260K"},
                                               {"prompt", {1, 403, 407, 261, 378}},
                                               {"max_tokens", 10},
                                               {"temperature", 0}});
  ASSERT_EQ(tokens.status, 200) << tokens.body;
  EXPECT_EQ(json::parse(tokens.body)["choices"][0]["text"],
            Completion("Once upon a time", 10)["choices"][0]["text"]);
}

TEST_F(ServingTest, BadRequestsGetOpenAIErrorsAndTheServerKeepsServing) {
  ExpectError(HttpCall("POST", base_ + "/v1/completions", "{not json"), 400, "not valid JSON");
  ExpectError(Post("/v1/completions", {{"prompt", "hi"}}), 400, "'model' is required");
  ExpectError(Post("/v1/completions", {{"model", "gpt-9"}, {"prompt", "hi"}}), 404, "gpt-9");
  ExpectError(Post("/v1/completions",
                   {{"model", "stories260K"}, {"prompt", "hi"}, {"temperature", "hot"}}),
              400, "'temperature' must be a number");
  ExpectError(Post("/v1/completions",
                   {{"model", "stories260K"}, {"prompt", "hi"}, {"temperature", 3}}),
              400, "temperature");
  ExpectError(Post("/v1/completions", {{"model", "stories260K"}, {"prompt", "hi"}, {"n", 0}}),
              400, "n must be");
  ExpectError(Post("/v1/completions",
                   {{"model", "stories260K"}, {"prompt", std::vector<int>(600, 400)}}),
              400, "maximum context length is 512");
  ExpectError(Post("/v1/completions", {{"model", "stories260K"}, {"prompt", {1, 9999}}}), 400,
              "outside the 512-token vocabulary");
  ExpectError(Post("/v1/chat/completions", {{"model", "stories260K"}, {"messages", json::array()}}),
              400, "'messages'");
  ExpectError(HttpCall("GET", base_ + "/v1/nothing"), 404, "no route");
  ExpectError(HttpCall("GET", base_ + "/v1/completions"), 405, "not allowed");
}

TEST_F(ServingTest, ModelsHealthReadyAndMetrics) {
  HttpResult models = HttpCall("GET", base_ + "/v1/models");
  ASSERT_EQ(models.status, 200);
  EXPECT_EQ(json::parse(models.body)["data"][0]["id"], "stories260K");
  EXPECT_EQ(HttpCall("GET", base_ + "/health").status, 200);
  EXPECT_EQ(HttpCall("GET", base_ + "/ready").status, 200);
  Completion("Hello", 4);
  HttpResult metrics = HttpCall("GET", base_ + "/metrics");
  ASSERT_EQ(metrics.status, 200);
  for (const char* name :
       {"fabric_time_to_first_token_seconds_bucket", "fabric_inter_token_latency_seconds_count",
        "fabric_e2e_request_latency_seconds_sum", "fabric_request_queue_time_seconds_count",
        "fabric_prompt_tokens_total", "fabric_generation_tokens_total",
        "fabric_request_success_total{finished_reason=\"length\"}", "fabric_num_requests_running",
        "fabric_num_requests_waiting",
        "fabric_device_memory_used_bytes{device=\"card1\",kind=\"weights\"}",
        "fabric_device_busy_seconds_total{device=\"card0\"}"}) {
    EXPECT_THAT(metrics.body, HasSubstr(name));
  }
  EXPECT_GE(MetricValue("fabric_generation_tokens_total"), 4);
  // A prompt step and three decode steps at least, each with some host time of its own. A step
  // is counted after it has delivered its tokens, so the last one may still be on its way.
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (MetricValue("fabric_engine_steps_total") < 4 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_GE(MetricValue("fabric_engine_steps_total"), 4);
  EXPECT_GT(MetricValue("fabric_engine_host_seconds_total"), 0);
}

TEST_F(ServingTest, AClientThatHangsUpFreesItsSlot) {
  std::atomic<int> chunks = 0;
  HttpResult result = HttpCall(
      "POST", base_ + "/v1/completions",
      json({{"model", "stories260K"}, {"prompt", "Once upon a time"}, {"max_tokens", 400},
            {"stream", true}})
          .dump(),
      [&](const std::string&) { return ++chunks < 3; });  // hang up after a few chunks
  EXPECT_EQ(result.status, 0);  // the transfer was aborted
  // Generation stops within a step of the disconnect: the gauge returns to zero.
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (MetricValue("fabric_num_requests_running") != 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(MetricValue("fabric_num_requests_running"), 0);
  EXPECT_GE(MetricValue("fabric_request_success_total{finished_reason=\"cancelled\"}"), 1);
}

TEST(ServingParallelTest, AShardedDeploymentServesTheSameText) {
  v1::ClusterConfig config = TestConfig(4);
  config.mutable_model()->set_tensor_parallel(2);
  config.mutable_model()->set_pipeline_parallel(2);
  ASSERT_TRUE(ValidateClusterConfig(config).ok());
  auto server = std::move(FabricServer::Start(config)).value();
  ASSERT_EQ(server->placement().size(), 4u);
  EXPECT_EQ(server->placement()[3].shard.stage, 1);
  const std::string base = "http://127.0.0.1:" + std::to_string(server->http_port());
  HttpResult result = HttpCall("POST", base + "/v1/completions",
                               json({{"model", "stories260K"}, {"prompt", "Once upon a time"},
                                     {"max_tokens", 30}, {"temperature", 0}})
                                   .dump());
  ASSERT_EQ(result.status, 200) << result.body;
  EXPECT_EQ(json::parse(result.body)["choices"][0]["text"],
            GenerateReference("Once upon a time", 30));
  const std::string metrics = HttpCall("GET", base + "/metrics").body;
  EXPECT_THAT(metrics, HasSubstr("fabric_device_all_reduce_bytes_total{device=\"card3\"}"));
  EXPECT_THAT(metrics, HasSubstr("fabric_device_pipeline_bytes_total{device=\"card2\"}"));
  EXPECT_THAT(metrics, Not(HasSubstr("fabric_device_pipeline_bytes_total{device=\"card2\"} 0\n")));
}

// A shipped prefill/decode deployment and the cards of each role.
struct Disaggregated {
  std::string file;
  std::vector<std::string> prefill_cards;
  std::vector<std::string> decode_cards;
};

class ServingDisaggregatedTest : public ::testing::TestWithParam<Disaggregated> {};

TEST_P(ServingDisaggregatedTest, PrefillKernelsRunOnPrefillCardsAndDecodeKernelsOnDecodeCards) {
  const std::string root = FABRIC_SOURCE_DIR;
  absl::StatusOr<v1::ClusterConfig> loaded =
      LoadClusterConfig(root + "/deploy/configs/" + GetParam().file);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  v1::ClusterConfig config = *std::move(loaded);
  ApplyDefaults(&config);
  config.mutable_model()->set_path(root + "/" + config.model().path());
  config.mutable_model()->set_tokenizer(root + "/" + config.model().tokenizer());
  config.mutable_server()->set_http_port(0);
  config.mutable_server()->set_grpc_port(0);
  ASSERT_TRUE(ValidateClusterConfig(config).ok()) << ValidateClusterConfig(config);
  auto server = std::move(FabricServer::Start(config)).value();
  const std::string base = "http://127.0.0.1:" + std::to_string(server->http_port());
  for (const char* prompt : {"Once upon a time", "Lily and Tom", ""}) {
    HttpResult result = HttpCall("POST", base + "/v1/completions",
                                 json({{"model", "stories260K"}, {"prompt", prompt},
                                       {"max_tokens", 12}, {"temperature", 0}})
                                     .dump());
    ASSERT_EQ(result.status, 200) << result.body;
    EXPECT_EQ(json::parse(result.body)["choices"][0]["text"], GenerateReference(prompt, 12));
  }
  const std::string metrics = HttpCall("GET", base + "/metrics").body;
  auto launches = [&](const std::string& device, const std::string& kernel) {
    return std::max(0.0, MetricSample(metrics, "fabric_device_kernel_launches_total{device=\"" +
                                                   device + "\",kernel=\"" + kernel + "\"}"));
  };
  for (const std::string& card : GetParam().prefill_cards) {
    EXPECT_GT(launches(card, "matmul_f32"), 0) << card;
    EXPECT_EQ(launches(card, "matvec_f32"), 0) << card;
    for (const char* fused : {"decode_attention_f32", "decode_ffn_f32"}) {
      EXPECT_EQ(launches(card, fused), 0) << card << " " << fused;
    }
  }
  for (const std::string& card : GetParam().decode_cards) {
    EXPECT_GT(launches(card, "matvec_f32"), 0) << card;  // the classifier
    EXPECT_EQ(launches(card, "matmul_f32"), 0) << card;
    // Two launches a layer per decode step: every decode step took the fused layer.
    for (const char* fused : {"decode_attention_f32", "decode_ffn_f32"}) {
      EXPECT_EQ(launches(card, fused), launches(card, "matvec_f32") * 5) << card << " " << fused;
    }
    EXPECT_EQ(launches(card, "attention"), 0) << card;
  }
  EXPECT_GT(MetricSample(metrics, "fabric_kv_transfer_bytes_total"), 0);
  EXPECT_GT(MetricSample(metrics, "fabric_role_busy_seconds_total{role=\"prefill\"}"), 0);
  EXPECT_GT(MetricSample(metrics, "fabric_role_busy_seconds_total{role=\"decode\"}"), 0);
}

INSTANTIATE_TEST_SUITE_P(
    ShippedConfigs, ServingDisaggregatedTest,
    ::testing::Values(Disaggregated{"prefill-decode.yaml", {"card0"}, {"card1"}},
                      Disaggregated{"two-prefill-two-decode.yaml",
                                    {"prefill0", "prefill1"},
                                    {"decode0", "decode1"}}),
    [](const ::testing::TestParamInfo<Disaggregated>& info) {
      return info.param.prefill_cards.size() == 1 ? std::string("OnePlusOne")
                                                  : std::string("TwoPlusTwo");
    });

TEST(ServingParallelTest, BadParallelismFailsFastWithAdvice) {
  v1::ClusterConfig heads = TestConfig(3);
  heads.mutable_model()->set_tensor_parallel(3);
  ASSERT_TRUE(ValidateClusterConfig(heads).ok());
  EXPECT_THAT(FabricServer::Start(heads).status().message(),
              HasSubstr("tensor_parallel 3 does not divide the model's 8 query heads; "
                        "tensor_parallel 1, 2, 4, 8 would work"));

  v1::ClusterConfig stages = TestConfig(8);
  stages.mutable_model()->set_pipeline_parallel(8);
  EXPECT_THAT(FabricServer::Start(stages).status().message(),
              HasSubstr("pipeline_parallel 8 exceeds the model's 5 layers; use at most 5"));

  v1::ClusterConfig too_few = TestConfig(2);
  too_few.mutable_model()->set_tensor_parallel(4);
  EXPECT_THAT(ValidateClusterConfig(too_few).message(),
              HasSubstr("needs 4 cards but the config lists 2"));
  v1::ClusterConfig uneven = TestConfig(3);
  uneven.mutable_model()->set_tensor_parallel(2);
  EXPECT_THAT(ValidateClusterConfig(uneven).message(),
              HasSubstr("3 cards do not divide into instances"));

  v1::ClusterConfig small = TestConfig(2);
  small.mutable_model()->set_tensor_parallel(2);
  small.mutable_cards(1)->set_memory_bytes(1 << 20);
  absl::Status status = FabricServer::Start(small).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(), HasSubstr("card card1 (stage 0, rank 1) needs"));
  EXPECT_THAT(status.message(), HasSubstr("split the model over more cards"));
}

TEST(ServingQueueTest, AFullQueueAnswers429) {
  auto server = std::move(FabricServer::Start(TestConfig(1, /*max_sequences=*/1,
                                                         /*max_waiting=*/1)))
                    .value();
  const std::string url = "http://127.0.0.1:" + std::to_string(server->http_port()) +
                          "/v1/completions";
  const std::string body =
      json({{"model", "stories260K"}, {"prompt", "Once"}, {"max_tokens", 500}}).dump();
  std::vector<std::thread> clients;
  std::atomic<int> too_many = 0, ok = 0;
  for (int i = 0; i < 6; ++i) {
    clients.emplace_back([&] {
      HttpResult result = HttpCall("POST", url, body);
      if (result.status == 429) {
        ++too_many;
        EXPECT_THAT(result.body, HasSubstr("rate_limit_error"));
      } else if (result.status == 200) {
        ++ok;
      }
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_GE(too_many.load(), 1);
  EXPECT_GE(ok.load(), 1);
  EXPECT_EQ(too_many + ok, 6);
}

TEST_F(ServingTest, GrpcMatchesRestAndReportsErrors) {
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->grpc_port()),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::Inference::NewStub(channel);
  v1::CompletionRequest request;
  request.set_model("stories260K");
  request.set_prompt("Once upon a time");
  request.mutable_sampling()->set_max_tokens(25);
  request.mutable_sampling()->set_temperature(0);
  v1::CompletionResponse response;
  grpc::ClientContext context;
  grpc::Status status = stub->Complete(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const std::string rest_text = Completion("Once upon a time", 25)["choices"][0]["text"];
  EXPECT_EQ(response.choices(0).text(), rest_text);
  EXPECT_EQ(response.usage().completion_tokens(), 25);

  grpc::ClientContext stream_context;
  request.mutable_stream_options()->set_include_usage(true);
  auto reader = stub->CompleteStream(&stream_context, request);
  std::string streamed;
  v1::CompletionResponse chunk;
  std::string finish;
  while (reader->Read(&chunk)) {
    streamed += chunk.choices(0).text();
    if (!chunk.choices(0).finish_reason().empty()) finish = chunk.choices(0).finish_reason();
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(streamed, rest_text);
  EXPECT_EQ(finish, "length");
  EXPECT_EQ(chunk.usage().total_tokens(), 30);

  grpc::ClientContext bad_model;
  request.set_model("nope");
  EXPECT_EQ(stub->Complete(&bad_model, request, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext too_long;
  request.set_model("stories260K");
  for (int i = 0; i < 600; ++i) request.mutable_prompt_tokens()->add_tokens(400);
  EXPECT_EQ(stub->Complete(&too_long, request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  grpc::ClientContext models_context;
  v1::ListModelsResponse models;
  ASSERT_TRUE(stub->ListModels(&models_context, {}, &models).ok());
  EXPECT_EQ(models.data(0).id(), "stories260K");
  grpc::ClientContext health_context;
  v1::HealthResponse health;
  ASSERT_TRUE(stub->Health(&health_context, {}, &health).ok());
  EXPECT_EQ(health.status(), v1::HealthResponse::SERVING);
}

TEST_F(ServingTest, ShutdownDrainsInFlightRequests) {
  std::thread client([&] {
    json response = Completion("Once upon a time", 100);
    EXPECT_EQ(response["usage"]["completion_tokens"], 100);
  });
  // Wait until the request is running, then shut down under it.
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (MetricValue("fabric_prompt_tokens_total") < 5 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  server_->Shutdown();
  client.join();
  EXPECT_EQ(HttpCall("GET", base_ + "/health").status, 0);  // no longer accepting
}

}  // namespace
}  // namespace fabric
