#include "common/option_number.h"

#include <gtest/gtest.h>

#include <string>

namespace mixq {
namespace {

// Every integer option reads its text whole and in range, with one message
// shape (issue 20: "-1" became 4294967295 in unsigned options, "nan" ran
// 10,000 iterations).
TEST(OptionNumber, IntegersAreReadWholeAndInRange) {
  const IntegerRange threads{0, 1024, {}, {}};
  EXPECT_EQ(ParseIntegerOption("--threads", "0", threads).value(), 0);
  EXPECT_EQ(ParseIntegerOption("--threads", "1024", threads).value(), 1024);
  for (const std::string bad :
       {"1025", "-1", "", "4x", " 4", "4 ", "1e3", "0x10", "+4", "99999999999999999999"}) {
    StatusOr<int64_t> v = ParseIntegerOption("--threads", bad, threads);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(v.status().message(), "--threads: '" + bad + "' is not an integer in 0..1024");
  }
}

TEST(OptionNumber, ASpecialValueOutsideTheRangeIsNamed) {
  const IntegerRange count{1, 100, -1, "all"};
  EXPECT_EQ(ParseIntegerOption("--count", "-1", count).value(), -1);
  EXPECT_EQ(ParseIntegerOption("--count", "100", count).value(), 100);
  StatusOr<int64_t> zero = ParseIntegerOption("--count", "0", count);
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.status().message(), "--count: '0' is not an integer in 1..100 (or -1: all)");
  EXPECT_FALSE(ParseIntegerOption("--count", "-5", count).ok());
}

TEST(OptionNumber, RealsAreFiniteAndInRange) {
  EXPECT_DOUBLE_EQ(ParseRealOption("--min-seconds", "0.5", 0, 86400).value(), 0.5);
  EXPECT_DOUBLE_EQ(ParseRealOption("--min-seconds", "1e2", 0, 86400).value(), 100.0);
  for (const std::string bad : {"nan", "inf", "-inf", "-5", "86401", "", "1,5", "1e999"}) {
    StatusOr<double> v = ParseRealOption("--min-seconds", bad, 0, 86400);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_EQ(v.status().message(), "--min-seconds: '" + bad + "' is not a number in 0..86400");
  }
}

// --help shows 99.99, not 99.989999999999995.
TEST(OptionNumber, NumbersAreShownAsWritten) {
  EXPECT_EQ(FormatOptionNumber(99.99), "99.99");
  EXPECT_EQ(FormatOptionNumber(0.05), "0.05");
  EXPECT_EQ(FormatOptionNumber(2.0), "2");
  EXPECT_EQ(FormatOptionNumber(int64_t{1} << 40), "1099511627776");
}

}  // namespace
}  // namespace mixq
