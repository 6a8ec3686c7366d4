#include "scheduler/utf8_stream.h"

#include "gtest/gtest.h"

namespace fabric {
namespace {

TEST(Utf8StreamTest, HoldsASplitCharacterUntilItIsComplete) {
  Utf8Stream stream;
  EXPECT_EQ(stream.Add("caf"), "caf");
  EXPECT_EQ(stream.Add("\xC3"), "");  // first byte of é
  EXPECT_EQ(stream.Add("\xA9!"), "\xC3\xA9!");
  EXPECT_EQ(stream.Add("\xF0\x9F"), "");  // half an emoji
  EXPECT_EQ(stream.Add("\xA6\x8A"), "\xF0\x9F\xA6\x8A");
  EXPECT_EQ(stream.Flush(), "");
}

TEST(Utf8StreamTest, InvalidBytesBecomeReplacementCharacters) {
  Utf8Stream stream;
  EXPECT_EQ(stream.Add("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(stream.Add("\xC3" "x"), "\xEF\xBF\xBDx");  // a lead byte not continued
  EXPECT_EQ(stream.Add("\xE2\x82"), "");
  EXPECT_EQ(stream.Flush(), "\xEF\xBF\xBD\xEF\xBF\xBD");  // never completed
  EXPECT_EQ(SanitizeUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(SanitizeUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong
  EXPECT_EQ(SanitizeUtf8("plain \xE2\x82\xAC"), "plain \xE2\x82\xAC");
}

}  // namespace
}  // namespace fabric
