#include "common/cli_args.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fabric {
namespace {

using ::testing::HasSubstr;

TEST(CliArgsTest, ValuesSwitchesAndHelp) {
  auto args = CliArgs::Parse({"--model", "m.gguf", "--port=0", "--dry-run", "-h"},
                             {"model", "port"}, {"dry-run"});
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(args->GetString("model"), "m.gguf");
  EXPECT_EQ(*args->GetInt("port", 8080), 0);
  EXPECT_EQ(*args->GetInt("missing", 7), 7);
  EXPECT_TRUE(args->Has("dry-run"));
  EXPECT_TRUE(args->Has("help"));
  EXPECT_TRUE(args->Require({"model"}).ok());
  EXPECT_THAT(args->Require({"tokenizer"}).message(), HasSubstr("--tokenizer is required"));
}

TEST(CliArgsTest, MistakesNameTheFlag) {
  EXPECT_THAT(CliArgs::Parse({"--modle", "x"}, {"model"}).status().message(),
              HasSubstr("unknown flag --modle"));
  EXPECT_THAT(CliArgs::Parse({"--model"}, {"model"}).status().message(),
              HasSubstr("--model needs a value"));
  EXPECT_THAT(CliArgs::Parse({"stray"}, {"model"}).status().message(),
              HasSubstr("unexpected argument 'stray'"));
  auto args = CliArgs::Parse({"--n", "lots", "--t", "warm", "--s", "-1"}, {"n", "t", "s"});
  ASSERT_TRUE(args.ok());
  EXPECT_THAT(args->GetInt("n", 0).status().message(), HasSubstr("--n must be an integer"));
  EXPECT_THAT(args->GetFloat("t", 0).status().message(), HasSubstr("--t must be a number"));
  EXPECT_THAT(args->GetUint64("s", 0).status().message(), HasSubstr("non-negative"));
}

}  // namespace
}  // namespace fabric
