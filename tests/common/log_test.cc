#include "common/log.h"

#include <gtest/gtest.h>

namespace mixq {
namespace {

TEST(Log, OneLoggerNamedMixq) {
  EXPECT_EQ(&log(), &log());
  EXPECT_EQ(log().name(), "mixq");
}

TEST(Log, SetLogLevelByName) {
  ASSERT_TRUE(SetLogLevel("debug").ok());
  EXPECT_EQ(log().level(), spdlog::level::debug);
  EXPECT_TRUE(log().should_log(spdlog::level::debug));
  ASSERT_TRUE(SetLogLevel("error").ok());
  EXPECT_EQ(log().level(), spdlog::level::err);
  EXPECT_FALSE(log().should_log(spdlog::level::info));

  Status s = SetLogLevel("verbose");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'verbose'"), std::string::npos);
  EXPECT_EQ(log().level(), spdlog::level::err);  // unchanged
  ASSERT_TRUE(SetLogLevel("info").ok());
}

}  // namespace
}  // namespace mixq
