#include "search/search_runner.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mixq {
namespace {

TEST(SearchRunnerLog, NumbersLinesAndAnswersFromWhereTheClientLeftOff) {
  SearchRunner runner("unused.db", "tcp://*:5555", FileRoots());
  int64_t next = -1;
  EXPECT_TRUE(runner.Log(7, 0, &next).empty());
  EXPECT_EQ(next, 0);  // a job this runner never drove

  for (int i = 0; i < 5; ++i) runner.Append(7, "line " + std::to_string(i));
  runner.Append(8, "other job");
  std::vector<std::string> all = runner.Log(7, 0, &next);
  EXPECT_EQ(next, 5);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all.front(), "line 0");
  EXPECT_EQ(all.back(), "line 4");

  std::vector<std::string> rest = runner.Log(7, 3, &next);
  EXPECT_EQ(next, 5);
  EXPECT_EQ(rest, (std::vector<std::string>{"line 3", "line 4"}));
  EXPECT_TRUE(runner.Log(7, 5, &next).empty());  // nothing new
  EXPECT_EQ(next, 5);
  EXPECT_EQ(runner.Log(8, 0, &next), std::vector<std::string>{"other job"});
  EXPECT_EQ(next, 1);
}

TEST(SearchRunnerLog, KeepsTheNewestLinesAndJobs) {
  SearchRunner runner("unused.db", "tcp://*:5555", FileRoots());
  const int64_t total = static_cast<int64_t>(SearchRunner::kMaxLogLines) + 5;
  for (int64_t i = 0; i < total; ++i) runner.Append(1, "line " + std::to_string(i));
  int64_t next = 0;
  // Asking from 0 gives the oldest kept line on; numbers do not shift.
  std::vector<std::string> kept = runner.Log(1, 0, &next);
  EXPECT_EQ(next, total);
  ASSERT_EQ(kept.size(), SearchRunner::kMaxLogLines);
  EXPECT_EQ(kept.front(), "line 5");
  EXPECT_EQ(kept.back(), "line " + std::to_string(total - 1));
  EXPECT_EQ(runner.Log(1, total - 1, &next),
            std::vector<std::string>{"line " + std::to_string(total - 1)});

  // One job more than it keeps: the lowest job id is forgotten, not the
  // one being written.
  for (int64_t job = 2; job <= static_cast<int64_t>(SearchRunner::kMaxLogJobs) + 1; ++job)
    runner.Append(job, "job " + std::to_string(job));
  EXPECT_TRUE(runner.Log(1, 0, &next).empty());
  EXPECT_EQ(next, 0);
  EXPECT_EQ(runner.Log(2, 0, &next), std::vector<std::string>{"job 2"});
  runner.Append(0, "an older job resumed");  // lower than every kept id
  EXPECT_EQ(runner.Log(0, 0, &next), std::vector<std::string>{"an older job resumed"});
  EXPECT_TRUE(runner.Log(2, 0, &next).empty());
}

}  // namespace
}  // namespace mixq
