#include "scheduler/stop_matcher.h"

#include "gtest/gtest.h"

namespace fabric {
namespace {

TEST(StopMatcherTest, ReleasesTextThatCannotStartAStop) {
  StopMatcher matcher({"END"});
  EXPECT_EQ(matcher.Add("hello "), "hello ");
  EXPECT_EQ(matcher.Add("wor"), "wor");
  EXPECT_EQ(matcher.Add("ld E"), "ld ");  // "E" may begin "END"
  EXPECT_EQ(matcher.Add("N"), "");
  EXPECT_EQ(matcher.Add("x"), "ENx");  // it did not
  EXPECT_FALSE(matcher.stopped());
  EXPECT_EQ(matcher.Flush(), "");
}

TEST(StopMatcherTest, CutsBeforeTheEarliestStopAcrossPieces) {
  StopMatcher matcher({"b.", "cat"});
  EXPECT_EQ(matcher.Add("the c"), "the ");
  EXPECT_EQ(matcher.Add("at sat b."), "");
  EXPECT_TRUE(matcher.stopped());
  EXPECT_EQ(matcher.Add("more"), "");
  EXPECT_EQ(matcher.Flush(), "");
}

TEST(StopMatcherTest, FlushReleasesTheHeldTail) {
  StopMatcher matcher({"\n\n"});
  EXPECT_EQ(matcher.Add("line\n"), "line");
  EXPECT_EQ(matcher.Flush(), "\n");
  StopMatcher none({});
  EXPECT_EQ(none.Add("anything"), "anything");
}

}  // namespace
}  // namespace fabric
