#include "common/log.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <memory>
#include <sstream>

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

// The second WarnOnce of the same text is a debug line, not a second
// warning; another text is a warning of its own.
TEST(Log, WarnOnceWarnsOncePerText) {
  std::ostringstream lines;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(lines);
  sink->set_pattern("%l %v");
  log().sinks().push_back(sink);
  ASSERT_TRUE(SetLogLevel("debug").ok());
  WarnOnce("log_test: layer 'a' stays FP32");
  WarnOnce("log_test: layer 'a' stays FP32");
  WarnOnce("log_test: layer 'b' stays FP32");
  log().sinks().pop_back();
  ASSERT_TRUE(SetLogLevel("info").ok());
  EXPECT_EQ(lines.str(),
            "warning log_test: layer 'a' stays FP32\n"
            "debug log_test: layer 'a' stays FP32\n"
            "warning log_test: layer 'b' stays FP32\n");
}

}  // namespace
}  // namespace mixq
