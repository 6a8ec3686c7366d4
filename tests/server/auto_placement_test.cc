// `fabric serve` leaving the placement to the planner: a config with no card groups and no
// TP x PP on cards the planner can model gets the plan `fabric plan` ranks best for the goal,
// written so that it validates and places; otherwise nothing changes, and the reason is said.
#include "server/auto_placement.h"

#include <fstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/model_file.h"
#include "server/config/config_validation.h"
#include "server/placement.h"
#include "server/serve_command.h"

namespace fabric {
namespace {

using ::testing::HasSubstr;

const std::string kModelDir = std::string(FABRIC_SOURCE_DIR) + "/models/stories260K/";

// Four cards emulating U280s (or plain mock cards), stories260K, placement unset.
v1::ClusterConfig FourCards(bool emulated) {
  v1::ClusterConfig config;
  for (int c = 0; c < 4; ++c) {
    v1::CardConfig* card = config.add_cards();
    card->set_id(absl::StrCat("c", c));
    if (emulated) card->set_emulate("u280");
  }
  config.mutable_model()->set_path(kModelDir + "stories260K.bin");
  config.mutable_model()->set_tokenizer(kModelDir + "tok512.bin");
  return config;
}

// Chooses for `goal` as `fabric serve` does, expecting a config that validates and places.
std::string Choose(planner::Goal goal, v1::ClusterConfig* config) {
  EXPECT_TRUE(PlacementUnset(*config));
  ApplyDefaults(config);
  absl::StatusOr<std::string> why = ChoosePlacement(goal, config);
  EXPECT_TRUE(why.ok()) << why.status();
  ApplyDefaults(config);
  EXPECT_TRUE(ValidateClusterConfig(*config).ok()) << ValidateClusterConfig(*config);
  auto model = std::move(ModelFile::Open(config->model().path(), config->model().tokenizer()))
                   .value();
  EXPECT_TRUE(PlaceModel(*config, *model).ok());
  return why.ok() ? *why : "";
}

TEST(AutoPlacementTest, ThroughputOnATinyModelTakesOneReplicaPerCard) {
  v1::ClusterConfig config = FourCards(true);
  const std::string why = Choose(planner::Goal::kThroughput, &config);
  EXPECT_THAT(why, HasSubstr("the planner chose TP1xPP1 x4, the best for throughput"));
  EXPECT_EQ(config.groups_size(), 0);
  EXPECT_EQ(config.model().tensor_parallel(), 1);
  EXPECT_EQ(config.model().pipeline_parallel(), 1);
}

// For latency the planner splits prefill from decode on this model (which split wins among
// near-equal ones may change with the model's figures): the groups take the cards in order,
// prefill first, each as the line printed says.
TEST(AutoPlacementTest, ASplitBecomesPrefillAndDecodeGroupsInCardOrder) {
  v1::ClusterConfig config = FourCards(true);
  const std::string why = Choose(planner::Goal::kLatency, &config);
  ASSERT_EQ(config.groups_size(), 2) << why;
  std::vector<std::string> cards;
  for (int g = 0; g < 2; ++g) {
    const v1::CardGroupConfig& group = config.groups(g);
    EXPECT_EQ(group.role(), g == 0 ? "prefill" : "decode");
    const int per_instance = group.tensor_parallel() * group.pipeline_parallel();
    ASSERT_GT(per_instance, 0);
    EXPECT_EQ(group.cards_size() % per_instance, 0);
    const int instances = group.cards_size() / per_instance;
    EXPECT_THAT(why, HasSubstr(absl::StrCat(group.role(), " TP", group.tensor_parallel(), "xPP",
                                            group.pipeline_parallel(),
                                            instances > 1 ? absl::StrCat(" x", instances) : "")));
    cards.insert(cards.end(), group.cards().begin(), group.cards().end());
  }
  EXPECT_THAT(cards, ::testing::ElementsAre("c0", "c1", "c2", "c3"));
  EXPECT_THAT(why, HasSubstr(", the best for latency: predicted TTFT"));
}

TEST(AutoPlacementTest, CardsThePlannerCannotModelKeepOneCopyPerCardAndSayWhy) {
  v1::ClusterConfig config = FourCards(false);
  ASSERT_TRUE(PlacementUnset(config));
  ApplyDefaults(&config);
  const v1::ClusterConfig before = config;
  absl::StatusOr<std::string> why = ChoosePlacement(planner::Goal::kThroughput, &config);
  ASSERT_TRUE(why.ok()) << why.status();
  EXPECT_THAT(*why, HasSubstr("the planner cannot model the cards (card c0 says no card to "
                              "model"));
  EXPECT_EQ(config.DebugString(), before.DebugString());
}

TEST(AutoPlacementTest, AnyPlacementInTheConfigIsKept) {
  v1::ClusterConfig tp = FourCards(true);
  tp.mutable_model()->set_tensor_parallel(2);
  EXPECT_FALSE(PlacementUnset(tp));
  v1::ClusterConfig pp = FourCards(true);
  pp.mutable_model()->set_pipeline_parallel(4);
  EXPECT_FALSE(PlacementUnset(pp));
  v1::ClusterConfig grouped = FourCards(true);
  grouped.add_groups()->set_role("unified");
  EXPECT_FALSE(PlacementUnset(grouped));
  v1::ClusterConfig one;
  one.add_cards()->set_emulate("u280");
  EXPECT_FALSE(PlacementUnset(one));
}

// Through `fabric serve --dry-run`: a goal it cannot use, or does not know, is an error.
TEST(AutoPlacementTest, ServeRejectsAGoalItCannotUseOrDoesNotKnow) {
  const std::string path = ::testing::TempDir() + "/auto_placement.yaml";
  std::ofstream(path) << "cards:\n  - {id: a, emulate: u280}\n  - {id: b, emulate: u280}\n"
                      << "model: {path: " << kModelDir << "stories260K.bin, tokenizer: "
                      << kModelDir << "tok512.bin}\n";
  EXPECT_TRUE(RunServeCommand({"--config", path, "--goal", "latency", "--dry-run"}).ok());
  EXPECT_THAT(RunServeCommand({"--config", path, "--goal", "cheapest", "--dry-run"}).message(),
              HasSubstr("cheapest"));
  std::ofstream(path, std::ios::app) << "groups:\n  - {role: unified, cards: [a, b]}\n";
  EXPECT_THAT(RunServeCommand({"--config", path, "--goal", "latency", "--dry-run"}).message(),
              HasSubstr("--goal applies only when the config leaves the placement"));
}

}  // namespace
}  // namespace fabric
