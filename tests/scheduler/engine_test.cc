// The scheduler on real mock cards with the bundled model.
#include "scheduler/engine.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "device/device_worker.h"
#include "device/mock/mock_device.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/generator.h"
#include "model/model_file.h"

namespace fabric {
namespace {

using ::testing::HasSubstr;

// Collects one request's results; thread-safe for the test thread to wait on.
class Collector : public RequestObserver {
 public:
  void OnToken(const TokenOutput& output) override {
    absl::MutexLock lock(&mu_);
    tokens_.push_back(output.token);
    text_ += output.text;
    outputs_.push_back(output);
  }
  void OnFinish(const FinishInfo& finish) override {
    absl::MutexLock lock(&mu_);
    text_ += finish.text;
    finish_ = finish;
    done_.Notify();
  }
  void Wait() { done_.WaitForNotification(); }
  std::vector<int> tokens() {
    absl::MutexLock lock(&mu_);
    return tokens_;
  }
  std::string text() {
    absl::MutexLock lock(&mu_);
    return text_;
  }
  FinishInfo finish() {
    absl::MutexLock lock(&mu_);
    return finish_;
  }
  std::vector<TokenOutput> outputs() {
    absl::MutexLock lock(&mu_);
    return outputs_;
  }

 private:
  absl::Mutex mu_;
  std::vector<int> tokens_ ABSL_GUARDED_BY(mu_);
  std::vector<TokenOutput> outputs_ ABSL_GUARDED_BY(mu_);
  std::string text_ ABSL_GUARDED_BY(mu_);
  FinishInfo finish_ ABSL_GUARDED_BY(mu_);
  absl::Notification done_;
};

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = std::string(FABRIC_SOURCE_DIR) + "/models/stories260K/";
    model_ = std::move(ModelFile::Open(dir + "stories260K.bin", dir + "tok512.bin")).value();
    tokenizer_ = std::make_unique<Tokenizer>(model_->vocabulary());
  }

  // Starts an engine over `cards` replicas.
  // One instance a card, with the given roles (unified when none).
  void StartEngine(int cards, ProgramOptions options, EngineOptions engine_options = {},
                   ServingMetrics* metrics = nullptr, std::vector<InstanceRole> roles = {}) {
    for (int c = 0; c < cards; ++c) {
      MockDeviceOptions card;
      card.name = "mock" + std::to_string(c);
      workers_.push_back(std::make_unique<DeviceWorker>(std::move(MockDevice::Create(card)).value()));
      programs_.push_back(std::move(LlamaProgram::Create(*model_, *workers_.back(), options)).value());
    }
    std::vector<EngineInstance> instances;
    for (size_t c = 0; c < programs_.size(); ++c) {
      instances.push_back({programs_[c].get(), c < roles.size() ? roles[c] : InstanceRole::kUnified});
    }
    engine_ = std::make_unique<Engine>(instances, *tokenizer_, engine_options, metrics);
  }

  GenerationRequest Greedy(const std::string& prompt, int max_tokens) {
    GenerationRequest request;
    request.prompt_tokens = tokenizer_->Encode(prompt, true);
    request.max_tokens = max_tokens;
    request.sampling.temperature = 0;
    return request;
  }

  // The reference: the same request alone through the single-sequence generator.
  std::vector<int> Alone(const GenerationRequest& request) {
    MockDeviceOptions card;
    DeviceWorker worker(std::move(MockDevice::Create(card)).value());
    auto program = std::move(LlamaProgram::Create(*model_, worker, {})).value();
    Generator generator(*program, *tokenizer_);
    return generator.GenerateTokens(request.prompt_tokens, request.max_tokens, request.sampling)
        ->tokens;
  }

  std::unique_ptr<ModelFile> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::vector<std::unique_ptr<DeviceWorker>> workers_;
  std::vector<std::unique_ptr<LlamaProgram>> programs_;
  std::unique_ptr<Engine> engine_;
};

// Whether some step of some instance carried more than one sequence: the batch-size
// histogram's sum exceeds its count.
bool SomeStepBatched(ServingMetrics& metrics) {
  const prometheus::ClientMetric::Histogram histogram =
      metrics.batch_sequences.Collect().histogram;
  return histogram.sample_sum > static_cast<double>(histogram.sample_count);
}

TEST_F(EngineTest, ConcurrentRequestsGetTheTextTheyGetAlone) {
  MetricsRegistry registry;
  ServingMetrics metrics(registry);
  StartEngine(1, {.max_batch_tokens = 64, .max_sequences = 16}, {}, &metrics);
  const std::vector<std::string> prompts = {"Once upon a time", "Lily and Tom", "The cat",
                                            "One day, a big dog", "Hello", "She was happy"};
  std::vector<GenerationRequest> requests;
  std::vector<std::shared_ptr<Collector>> collectors;
  for (int i = 0; i < 16; ++i) {
    requests.push_back(Greedy(prompts[i % prompts.size()], 8 + 7 * i));
    collectors.push_back(std::make_shared<Collector>());
    ASSERT_TRUE(engine_->Submit(requests.back(), collectors.back()).ok());
  }
  for (int i = 0; i < 16; ++i) {
    collectors[i]->Wait();
    EXPECT_EQ(collectors[i]->tokens(), Alone(requests[i])) << "request " << i;
    EXPECT_EQ(collectors[i]->finish().completion_tokens,
              static_cast<int>(collectors[i]->tokens().size()));
  }
  EXPECT_EQ(engine_->running(), 0);
  EXPECT_TRUE(SomeStepBatched(metrics)) << "the requests never ran together";
}

TEST_F(EngineTest, WhenKvBlocksRunOutTheNewestIsPreemptedAndEveryRequestStillCompletes) {
  MetricsRegistry registry;
  ServingMetrics metrics(registry);
  // 12 blocks of 16 positions; six requests growing to 5 + 60 positions (5 blocks) each.
  StartEngine(1, {.max_batch_tokens = 64, .max_sequences = 8, .kv_block_size = 16,
                  .kv_blocks = 12},
              {}, &metrics);
  const std::vector<std::string> prompts = {"Once upon a time", "Lily and Tom", "The cat",
                                            "One day, a big dog", "Hello", "She was happy"};
  std::vector<GenerationRequest> requests;
  std::vector<std::shared_ptr<Collector>> collectors;
  for (const std::string& prompt : prompts) {
    requests.push_back(Greedy(prompt, 60));
    requests.back().stop = {};
    collectors.push_back(std::make_shared<Collector>());
    ASSERT_TRUE(engine_->Submit(requests.back(), collectors.back()).ok());
  }
  for (size_t i = 0; i < collectors.size(); ++i) {
    collectors[i]->Wait();
    EXPECT_EQ(collectors[i]->tokens(), Alone(requests[i])) << "request " << i;
  }
  EXPECT_GE(metrics.preemptions.Value(), 1);
  EXPECT_EQ(engine_->running(), 0);

  GenerationRequest huge = Greedy("x", 1);
  huge.prompt_tokens.assign(200, 400);  // 13 blocks: more than the whole cache
  EXPECT_THAT(engine_->Submit(huge, std::make_shared<Collector>()).status().message(),
              HasSubstr("KV-cache blocks"));
}

TEST_F(EngineTest, PrefillAndDecodeInstancesGiveTheTextOfOneCard) {
  MetricsRegistry registry;
  ServingMetrics metrics(registry);
  StartEngine(2, {.max_batch_tokens = 64, .max_sequences = 16}, {}, &metrics,
              {InstanceRole::kPrefill, InstanceRole::kDecode});
  const std::vector<std::string> prompts = {"Once upon a time", "Lily and Tom", "The cat",
                                            "One day, a big dog", "Hello", "She was happy"};
  std::vector<GenerationRequest> requests;
  std::vector<std::shared_ptr<Collector>> collectors;
  for (int i = 0; i < 16; ++i) {
    requests.push_back(Greedy(prompts[i % prompts.size()], 5 + 6 * i));
    collectors.push_back(std::make_shared<Collector>());
    ASSERT_TRUE(engine_->Submit(requests.back(), collectors.back()).ok());
  }
  for (int i = 0; i < 16; ++i) {
    collectors[i]->Wait();
    EXPECT_EQ(collectors[i]->tokens(), Alone(requests[i])) << "request " << i;
  }
  EXPECT_GT(metrics.kv_transfer_bytes.Value(), 0);
  EXPECT_GT(metrics.kv_transfer_seconds.Value(), 0);
  EXPECT_TRUE(SomeStepBatched(metrics)) << "the requests never ran together";
  // The prefill card ran no decode steps: every single-token step ran on the decode card.
  EXPECT_EQ(workers_[0]->stats().launches_by_kernel.count("matvec_f32"), 0u);
  EXPECT_GT(workers_[1]->stats().launches_by_kernel.count("matvec_f32"), 0u);
}

TEST_F(EngineTest, ReplicasAndChunkedPrefillDoNotChangeResults) {
  StartEngine(2, {.max_batch_tokens = 3, .max_sequences = 2});
  std::vector<std::shared_ptr<Collector>> collectors;
  std::vector<GenerationRequest> requests;
  for (const char* prompt : {"Once upon a time there was", "Lily and Tom went to the park",
                             "The cat sat on the mat.", "One day"}) {
    requests.push_back(Greedy(prompt, 20));
    collectors.push_back(std::make_shared<Collector>());
    ASSERT_TRUE(engine_->Submit(requests.back(), collectors.back()).ok());
  }
  for (size_t i = 0; i < collectors.size(); ++i) {
    collectors[i]->Wait();
    EXPECT_EQ(collectors[i]->tokens(), Alone(requests[i]));
  }
}

TEST_F(EngineTest, StopSequencesCutTheText) {
  StartEngine(1, {});
  GenerationRequest request = Greedy("Once upon a time", 60);
  request.stop = {"Lily."};
  auto collector = std::make_shared<Collector>();
  ASSERT_TRUE(engine_->Submit(request, collector).ok());
  collector->Wait();
  EXPECT_EQ(collector->text(), ", there was a little girl named ");
  EXPECT_EQ(collector->finish().reason, FinishReason::kStop);
}

TEST_F(EngineTest, MaxTokensEndsWithLength) {
  StartEngine(1, {});
  auto collector = std::make_shared<Collector>();
  ASSERT_TRUE(engine_->Submit(Greedy("Once upon a time", 5), collector).ok());
  collector->Wait();
  EXPECT_EQ(collector->tokens().size(), 5u);
  EXPECT_EQ(collector->finish().reason, FinishReason::kLength);
  EXPECT_EQ(collector->text(), ", there was a little");
}

TEST_F(EngineTest, FrequencyPenaltyDiscouragesRepeats) {
  StartEngine(1, {});
  auto repeats = [](const std::vector<int>& tokens) {
    std::map<int, int> counts;
    int repeated = 0;
    for (int token : tokens) repeated += counts[token]++ > 0;
    return repeated;
  };
  auto plain = std::make_shared<Collector>();
  ASSERT_TRUE(engine_->Submit(Greedy("Once upon a time", 80), plain).ok());
  GenerationRequest penalized = Greedy("Once upon a time", 80);
  penalized.frequency_penalty = 2.0f;
  penalized.presence_penalty = 1.0f;
  auto fresh = std::make_shared<Collector>();
  ASSERT_TRUE(engine_->Submit(penalized, fresh).ok());
  plain->Wait();
  fresh->Wait();
  EXPECT_NE(fresh->tokens(), plain->tokens());
  EXPECT_LT(repeats(fresh->tokens()), repeats(plain->tokens()));
}

TEST_F(EngineTest, LogprobsDescribeTheChosenToken) {
  StartEngine(1, {});
  GenerationRequest request = Greedy("Once upon a time", 4);
  request.top_logprobs = 3;
  auto collector = std::make_shared<Collector>();
  ASSERT_TRUE(engine_->Submit(request, collector).ok());
  collector->Wait();
  for (const TokenOutput& output : collector->outputs()) {
    ASSERT_EQ(output.top_logprobs.size(), 3u);
    EXPECT_EQ(output.top_logprobs[0].token, output.token);  // greedy picks the most likely
    EXPECT_FLOAT_EQ(output.top_logprobs[0].logprob, output.logprob);
    EXPECT_LT(output.logprob, 0.0f);
    EXPECT_GE(output.top_logprobs[0].logprob, output.top_logprobs[1].logprob);
  }
}

TEST_F(EngineTest, AFullQueueRejectsAndCancelledRequestsLeave) {
  // One sequence at a time: the rest wait.
  StartEngine(1, {.max_sequences = 1}, {.max_waiting_requests = 2});
  std::vector<std::shared_ptr<Collector>> collectors;
  std::vector<std::shared_ptr<RequestHandle>> handles;
  int rejected = 0;
  for (int i = 0; i < 8; ++i) {
    auto collector = std::make_shared<Collector>();
    auto handle = engine_->Submit(Greedy("Once upon a time", 400), collector);
    if (!handle.ok()) {
      EXPECT_EQ(handle.status().code(), absl::StatusCode::kResourceExhausted);
      ++rejected;
      continue;
    }
    collectors.push_back(collector);
    handles.push_back(*handle);
  }
  EXPECT_GE(rejected, 1);
  for (auto& handle : handles) handle->Cancel();
  for (auto& collector : collectors) {
    collector->Wait();
    if (collector->finish().reason == FinishReason::kCancelled) {
      EXPECT_EQ(collector->finish().status.code(), absl::StatusCode::kCancelled);
    }
  }
  EXPECT_EQ(engine_->running(), 0);
  EXPECT_EQ(engine_->waiting(), 0);
}

TEST_F(EngineTest, PromptsThatCannotFitAreRejected) {
  StartEngine(1, {});
  GenerationRequest request = Greedy("x", 1);
  request.prompt_tokens.assign(512, 400);
  auto result = engine_->Submit(request, std::make_shared<Collector>());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("maximum context length is 512"));
  request.prompt_tokens = {1, 99999};
  EXPECT_EQ(engine_->Submit(request, std::make_shared<Collector>()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(EngineTest, DrainFinishesWorkThenRefusesNewRequests) {
  StartEngine(1, {});
  auto collector = std::make_shared<Collector>();
  ASSERT_TRUE(engine_->Submit(Greedy("Once upon a time", 30), collector).ok());
  engine_->Drain(absl::Seconds(60));
  collector->Wait();
  EXPECT_EQ(collector->finish().reason, FinishReason::kLength);
  EXPECT_EQ(engine_->Submit(Greedy("Hi", 3), std::make_shared<Collector>()).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(EngineTest, DeadlinesCancel) {
  StartEngine(1, {});
  GenerationRequest request = Greedy("Once upon a time", 400);
  request.deadline = absl::Now() - absl::Seconds(1);
  auto collector = std::make_shared<Collector>();
  ASSERT_TRUE(engine_->Submit(request, collector).ok());
  collector->Wait();
  EXPECT_EQ(collector->finish().reason, FinishReason::kCancelled);
  EXPECT_EQ(collector->finish().status.code(), absl::StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace fabric
