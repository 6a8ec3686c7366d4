// Helpers shared by the cluster-config tests.
#ifndef FABRIC_TESTS_SERVER_CONFIG_TEST_UTIL_H_
#define FABRIC_TESTS_SERVER_CONFIG_TEST_UTIL_H_

#include <memory>
#include <string>

#include "google/protobuf/message.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace fabric::testing_util {

// The file name parse errors start with.
inline constexpr char kSource[] = "cluster.yaml";

// Fails the test unless `got` equals the message `want_text` (text format) describes.
inline void ExpectProtoEq(const google::protobuf::Message& got, const std::string& want_text) {
  std::unique_ptr<google::protobuf::Message> want(got.New());
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(want_text, want.get())) << want_text;
  google::protobuf::util::MessageDifferencer differencer;
  std::string differences;
  differencer.ReportDifferencesToString(&differences);
  EXPECT_TRUE(differencer.Compare(*want, got)) << differences << "got:\n" << got.DebugString();
}

}  // namespace fabric::testing_util

#endif  // FABRIC_TESTS_SERVER_CONFIG_TEST_UTIL_H_
