// A `kind: search` job end to end with real processes: `mixq run` starts a
// coordinator and two workers, the search driver sends its measurements as
// sub-jobs, and the answer equals `mixq search`'s (the same strategy on the
// same slices in one process); the steps and answer are rows in the DB, the
// outputs are written, and running the job again plans no task and gives
// the same answer (the resume path).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/cluster.h"

namespace mixq::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

constexpr int64_t kEvalSamples = 2000;
constexpr int64_t kRankingSamples = 300;
constexpr int64_t kCalibrationSamples = 100;
constexpr double kBudget = 0.1;  // all-INT8 loses more here: the search must revert layers

struct SearchRow {
  int64_t job_id = 0;
  int64_t met = 0;
  std::string config_json;
  double fp32_accuracy = 0, int8_accuracy = 0, chosen_accuracy = 0;
  int64_t full_evaluations = 0;
};

StatusOr<std::vector<SearchRow>> SearchResults(SqliteDb* db) {
  MIXQ_ASSIGN_OR_RETURN(
      auto stmt, db->Prepare("SELECT r.job_id, r.met, c.json, r.fp32_accuracy, r.int8_accuracy, "
                             "r.chosen_accuracy, r.full_evaluations FROM search_results r JOIN "
                             "configs c ON c.id = r.config_id ORDER BY r.job_id"));
  std::vector<SearchRow> rows;
  while (true) {
    MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    rows.push_back({stmt->Int(0), stmt->Int(1), stmt->Text(2), stmt->Real(3), stmt->Real(4),
                    stmt->Real(5), stmt->Int(6)});
  }
  return rows;
}

bool Contains(const std::vector<std::string>& lines, const std::string& text) {
  for (const std::string& line : lines) {
    if (line.find(text) != std::string::npos) return true;
  }
  return false;
}

std::string Joined(const std::vector<std::string>& lines) {
  std::string all;
  for (const std::string& line : lines) all += line + "\n";
  return all;
}

TEST(Distributed, SearchJobMatchesLocalSearchAndResumesFromTheDb) {
  Cluster c;  // the folder and database: `mixq run` starts its own processes
  const std::string job = c.dir() + "/search.yaml";
  {
    std::ofstream y(job);
    y << "name: it-search\nkind: search\nmodel: " << kFmMobilenet << "\ndata:\n"
      << "  calibration: {dataset: " << kFashionMnistTrain << ", samples: " << kCalibrationSamples
      << "}\n"
      << "  evaluation: {dataset: " << kFashionMnistTest << ", count: " << kEvalSamples
      << ", shard_size: 500}\n"
      << "  ranking: {samples: " << kRankingSamples << "}\n"
      << "calibration: {method: minmax}\nmetric: top1\nbudget: {max_drop: " << kBudget << "}\n"
      << "objective: {measure: throughput, batch: 4}\nbenchmark: {seconds: 0.2}\n"
      << "hardware: any\nstrategy: {name: accuracy_aware, refine: false}\n"
      << "limits: {max_full_evaluations: 12}\noutput: " << c.dir() << "/out\n";
  }
  // Without the final refinement, whose path depends on timings: the rest
  // of the path is decided by accuracies alone, so it must match.
  const std::string run = "run " + job + " --workers 2 --threads 1 --db " + c.db();
  MixqResult first = RunMixq(run);
  ASSERT_EQ(first.exit_code, 0) << first.out;
  EXPECT_GT(TasksRunNow(first.out), 0) << first.out;

  // The same strategy in one process on the same slices.
  MixqResult local = RunMixq(
      "search --json --threads 1 --model " + kFmMobilenet + " --dataset " + kFashionMnistTest +
          " --count " + std::to_string(kEvalSamples) + " --calibration-dataset " +
          kFashionMnistTrain + " --calibration-samples " + std::to_string(kCalibrationSamples) +
          " --ranking-samples " + std::to_string(kRankingSamples) + " --budget 0.1 --batch 4 " +
          "--strategy accuracy_aware --no-refine --max-full-evaluations 12",
      StderrTo::kNull);
  ASSERT_EQ(local.exit_code, 0) << local.out;
  const nlohmann::json answer = nlohmann::json::parse(local.out)["results"][0];

  StatusOr<std::unique_ptr<SqliteDb>> db = c.OpenDb();
  ASSERT_TRUE(db.ok()) << db.status().message();
  StatusOr<std::vector<SearchRow>> rows = SearchResults(db->get());
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  ASSERT_EQ(rows->size(), 1u);
  const SearchRow row = (*rows)[0];  // a copy: rows is read again below
  EXPECT_DOUBLE_EQ(row.fp32_accuracy, answer["fp32_accuracy"].get<double>());
  EXPECT_DOUBLE_EQ(row.int8_accuracy, answer["int8_accuracy"].get<double>());
  // The strategy's path is decided by accuracies and matches. Its end is a
  // head-to-head timing (strategy.cc Finish), where FP32 or all-INT8, when
  // within budget, may beat the path's answer on a loaded machine: only
  // then may the two answers differ.
  const double local_chosen = answer["chosen_accuracy"].get<double>();
  if (row.chosen_accuracy != local_chosen) {
    const bool distributed_took_a_reference =
        row.chosen_accuracy == row.fp32_accuracy || row.chosen_accuracy == row.int8_accuracy;
    const bool local_took_a_reference =
        local_chosen == row.fp32_accuracy || local_chosen == row.int8_accuracy;
    EXPECT_TRUE(distributed_took_a_reference || local_took_a_reference)
        << "distributed " << row.chosen_accuracy << ", local " << local_chosen;
  }
  EXPECT_EQ(row.full_evaluations, answer["full_evaluations"].get<int64_t>());
  EXPECT_EQ(row.met != 0, answer["met"].get<bool>());
  EXPECT_GT(row.full_evaluations, 2);  // all-INT8 alone is not within this budget
  if (row.met != 0) {
    EXPECT_LE(row.fp32_accuracy - row.chosen_accuracy, kBudget + 1e-9);
  }

  // Steps are rows; every measurement was a sub-job of the search job.
  StatusOr<int64_t> full_steps =
      c.QueryInt("SELECT COUNT(*) FROM search_steps WHERE job_id=? AND kind='full'", row.job_id);
  ASSERT_TRUE(full_steps.ok());
  EXPECT_EQ(*full_steps, row.full_evaluations);
  StatusOr<int64_t> answers =
      c.QueryInt("SELECT COUNT(*) FROM search_steps WHERE job_id=? AND kind='answer'", row.job_id);
  ASSERT_TRUE(answers.ok());
  EXPECT_EQ(*answers, 1);
  StatusOr<int64_t> sub_jobs =
      c.QueryInt("SELECT COUNT(*) FROM jobs WHERE parent_job_id=? AND state='done'", row.job_id);
  ASSERT_TRUE(sub_jobs.ok());
  EXPECT_GE(*sub_jobs, 2);
  StatusOr<int64_t> state = c.QueryInt(
      "SELECT COUNT(*) FROM jobs WHERE id=? AND kind='search' AND state='done'", row.job_id);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(*state, 1);

  // The answer met FP32 and all-INT8 head to head: three more benchmark
  // tasks of the chosen config (their own keys, not the first timing
  // reused), and the reported time is the median of those three.
  {
    auto tasks = (*db)->Prepare(
        "SELECT COUNT(DISTINCT t.id) FROM jobs j JOIN job_tasks jt ON jt.job_id = j.id JOIN tasks "
        "t "
        "ON t.id = jt.task_id JOIN configs c ON c.id = t.config_id WHERE j.parent_job_id = ? AND "
        "t.kind = 'benchmark' AND c.json = ?");
    ASSERT_TRUE(tasks.ok());
    (*tasks)->Bind(1, row.job_id).Bind(2, row.config_json);
    ASSERT_TRUE((*tasks)->Step().ok());
    EXPECT_EQ((*tasks)->Int(0), 4);
    auto steps = (*db)->Prepare(
        "SELECT s.ms FROM search_steps s JOIN configs c ON c.id = s.config_id WHERE s.job_id = ? "
        "AND c.json = ? AND s.reason LIKE 'head to head%' ORDER BY s.ms");
    ASSERT_TRUE(steps.ok());
    (*steps)->Bind(1, row.job_id).Bind(2, row.config_json);
    std::vector<double> ms;
    while (true) {
      StatusOr<bool> more = (*steps)->Step();
      ASSERT_TRUE(more.ok());
      if (!*more) break;
      ms.push_back((*steps)->Real(0));
    }
    ASSERT_EQ(ms.size(), 3u);
    auto chosen = (*db)->Prepare("SELECT chosen_ms FROM search_results WHERE job_id = ?");
    ASSERT_TRUE(chosen.ok());
    (*chosen)->Bind(1, row.job_id);
    ASSERT_TRUE((*chosen)->Step().ok());
    EXPECT_DOUBLE_EQ((*chosen)->Real(0), ms[1]);
  }

  for (const char* file :
       {"summary.txt", "summary.md", "calibration.json", "model.qdq.onnx", "config-any.json"}) {
    EXPECT_TRUE(fs::exists(c.dir() + "/out/" + file)) << file;
  }

  // Again: every measurement is memoized, the answer is the same.
  MixqResult second = RunMixq(run);
  ASSERT_EQ(second.exit_code, 0) << second.out;
  EXPECT_EQ(TasksRunNow(second.out), 0) << second.out;
  rows = SearchResults(db->get());
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_GT((*rows)[1].job_id, row.job_id);
  EXPECT_EQ((*rows)[1].config_json, row.config_json);
  EXPECT_DOUBLE_EQ((*rows)[1].chosen_accuracy, row.chosen_accuracy);
}

// `mixq submit` to a running coordinator, which is SIGKILLed once the search
// has measured something and started again: it resumes the search job and
// ends it with an answer within budget.
TEST(Distributed, SearchJobSurvivesACoordinatorKill) {
  // Both workers on one machine: one cache folder.
  Cluster c(ClusterOptions{/*ipc=*/true, {}, /*shared_worker_cache=*/true});
  const std::string yaml = "name: kill-search\nkind: search\nmodel: " + kFmMobilenet +
                           "\ndata:\n  calibration: {dataset: " + kFashionMnistTrain +
                           ", samples: 120}\n  evaluation: {dataset: " + kFashionMnistTest +
                           ", count: " + std::to_string(kEvalSamples) +
                           ", shard_size: 250}\n  ranking: {samples: 200}\n" +
                           "budget: {max_drop: " + std::to_string(kBudget) +
                           "}\nobjective: {batch: 4}\n" +
                           "benchmark: {seconds: 0.2}\nstrategy: {name: accuracy_aware}\n";
  ASSERT_TRUE(c.StartCoordinator());
  for (int i = 0; i < 2; ++i) c.AddWorker();
  StatusOr<proto::SubmitReply> submitted = c.Submit(yaml, c.dir(), seconds(30));
  ASSERT_TRUE(submitted.ok()) << submitted.status().message();
  ASSERT_TRUE(submitted->error().empty()) << submitted->error();
  const int64_t job_id = submitted->job_id();

  const std::string full_steps = "SELECT COUNT(*) FROM search_steps WHERE job_id=? AND kind='full'";
  // Killed once FP32 and all-INT8 are measured, before the answer. The
  // submitter sees the same progress lines as the coordinator's stderr.
  std::vector<std::string> log;
  ASSERT_TRUE(WaitFor(
      [&] {
        StatusOr<int64_t> n = c.QueryInt(full_steps, job_id);
        StatusOr<proto::StatusReply> s = c.client().GetStatus(job_id, seconds(5));
        if (!s.ok()) return false;
        log.assign(s->search_log().begin(), s->search_log().end());
        return n.ok() && *n >= 2 && Contains(log, "full 2/");
      },
      seconds(120)))
      << Joined(log);
  EXPECT_TRUE(Contains(log, "full 1/")) << Joined(log);
  EXPECT_FALSE(Contains(log, "answer:")) << Joined(log);
  c.KillCoordinator();
  StatusOr<int64_t> running =
      c.QueryInt("SELECT COUNT(*) FROM jobs WHERE id=? AND state='running'", job_id);
  ASSERT_TRUE(running.ok());
  ASSERT_EQ(*running, 1) << "the search ended before the kill; nothing to resume";

  ASSERT_TRUE(c.RestartCoordinator());
  proto::StatusReply s;
  ASSERT_TRUE(c.WaitEnded(job_id, seconds(240), &s));
  EXPECT_EQ(s.state(), "done");
  // The resumed driver's log, in this coordinator: the answer, the verdict
  // and the output folder, in that order at the end. Asking from the last
  // line gives that line alone.
  StatusOr<proto::StatusReply> ended = c.client().GetStatus(job_id, seconds(5));
  ASSERT_TRUE(ended.ok()) << ended.status().message();
  log.assign(ended->search_log().begin(), ended->search_log().end());
  ASSERT_GE(log.size(), 3u);
  EXPECT_EQ(ended->search_log_next(), static_cast<int64_t>(log.size()));
  const std::string output = c.dir() + "/search-" + std::to_string(job_id);
  EXPECT_EQ(log.back(), "done: outputs in " + output + " on the coordinator's machine");
  EXPECT_EQ(log[log.size() - 2].rfind("budget 0.10: any: ", 0), 0u) << Joined(log);
  EXPECT_NE(log[log.size() - 3].find("any answer: "), std::string::npos) << Joined(log);
  StatusOr<proto::StatusReply> tail =
      c.client().GetStatus(job_id, seconds(5), ended->search_log_next() - 1);
  ASSERT_TRUE(tail.ok());
  ASSERT_EQ(tail->search_log_size(), 1);
  EXPECT_EQ(tail->search_log(0), log.back());
  // `mixq status` prints where the search stands.
  MixqResult status = RunMixq("status " + std::to_string(job_id) + " --coordinator " +
                              c.endpoint() + c.ClientFlags());
  EXPECT_EQ(status.exit_code, 0) << status.out;
  EXPECT_NE(status.out.find("job " + std::to_string(job_id) + ": done\n"), std::string::npos)
      << status.out;
  EXPECT_NE(status.out.find("  done: outputs in " + output), std::string::npos) << status.out;

  StatusOr<std::unique_ptr<SqliteDb>> db = c.OpenDb();
  ASSERT_TRUE(db.ok()) << db.status().message();
  StatusOr<std::vector<SearchRow>> rows = SearchResults(db->get());
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].job_id, job_id);
  EXPECT_EQ((*rows)[0].met, 1);
  EXPECT_LE((*rows)[0].fp32_accuracy - (*rows)[0].chosen_accuracy, kBudget + 1e-9);
  StatusOr<int64_t> full = c.QueryInt(full_steps, job_id);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(*full, (*rows)[0].full_evaluations);
  EXPECT_TRUE(fs::exists(output + "/summary.txt"));
}

// An automatic ranking subset (no data.ranking) with the evaluation slice
// left open (begin without count: to the end of the set) is sized from the
// slice's real size: the last 1,000 test images at budget 1.0 give 400
// samples (ceil(400 / 1.0), within [300, 1000]). It was once sized from a
// slice of -1 samples, a ranking sub-job of none, and the job failed.
TEST(Distributed, SearchJobSizesAnAutomaticRankingSubsetFromAnOpenSlice) {
  Cluster c;
  const std::string job = c.dir() + "/open.yaml";
  {
    std::ofstream y(job);
    y << "name: it-open-slice\nkind: search\nmodel: " << kFmMobilenet << "\ndata:\n"
      << "  calibration: {dataset: " << kFashionMnistTrain << ", samples: " << kCalibrationSamples
      << "}\n"
      << "  evaluation: {dataset: " << kFashionMnistTest << ", begin: 9000, shard_size: 500}\n"
      << "calibration: {method: minmax}\nmetric: top1\nbudget: {max_drop: 1.0}\n"
      << "objective: {measure: throughput, batch: 4}\nbenchmark: {seconds: 0.2}\n"
      << "hardware: any\nstrategy: {name: accuracy_aware, refine: false}\n"
      << "limits: {max_full_evaluations: 12}\n";
  }
  MixqResult r = RunMixq("run " + job + " --workers 1 --threads 1 --db " + c.db());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("ranking subset: the first 400 samples"), std::string::npos) << r.out;
  StatusOr<std::unique_ptr<SqliteDb>> db = c.OpenDb();
  ASSERT_TRUE(db.ok()) << db.status().message();
  StatusOr<std::vector<SearchRow>> rows = SearchResults(db->get());
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  ASSERT_EQ(rows->size(), 1u);
  // FP32 was measured on the whole open slice: 1,000 images, so a whole
  // number of images out of 1,000.
  const double images = (*rows)[0].fp32_accuracy * 10.0;
  EXPECT_NEAR(images, std::round(images), 1e-6) << (*rows)[0].fp32_accuracy;
  EXPECT_GT((*rows)[0].fp32_accuracy, 50.0);
}

TEST(Distributed, SearchJobWithBadKeyIsRefusedBeforeStarting) {
  Cluster c;  // the folder: `mixq run` would start its own processes
  const std::string job = c.dir() + "/bad.yaml";
  {
    std::ofstream y(job);
    y << "name: bad\nkind: search\nmodel: " << kFmMobilenet
      << "\ndata:\n  evaluation: {dataset: " << kFashionMnistTest
      << "}\nbudget: {max_drop: 0.3, kind: absolute}\n";
  }
  MixqResult r = RunMixq("run " + job + " --workers 1 --db " + c.db());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("budget.kind"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("coordinator and"), std::string::npos) << r.out;  // nothing spawned
}

// With `calibration.method: [minmax, kl]` the strategy runs once per method
// and the job keeps the best answer (within budget, then fastest measured).
// Each single-method job afterwards replays its measurements from the same
// DB, so the winner is checked against exactly the numbers the job saw.
TEST(Distributed, SearchJobWithSeveralCalibrationMethodsKeepsTheBestAnswer) {
  Cluster c;  // the folder and database: `mixq run` starts its own processes
  auto write_job = [&](const std::string& name, const std::string& methods) {
    const std::string path = c.dir() + "/" + name + ".yaml";
    std::ofstream y(path);
    y << "name: " << name << "\nkind: search\nmodel: " << kFmMobilenet << "\ndata:\n"
      << "  calibration: {dataset: " << kFashionMnistTrain << ", samples: " << kCalibrationSamples
      << "}\n"
      << "  evaluation: {dataset: " << kFashionMnistTest << ", count: 1000, shard_size: 500}\n"
      << "  ranking: {samples: " << kRankingSamples << "}\n"
      << "calibration: {method: " << methods << "}\nmetric: top1\n"
      << "budget: {max_drop: " << kBudget << "}\n"
      << "objective: {measure: throughput, batch: 4}\nbenchmark: {seconds: 0.2}\n"
      << "hardware: any\nstrategy: {name: accuracy_aware}\n"
      << "limits: {max_full_evaluations: 12}\noutput: " << c.dir() << "/" << name << "\n";
    return path;
  };
  const std::string both = write_job("both", "[minmax, kl]");
  MixqResult multi = RunMixq("run " + both + " --workers 2 --threads 1 --db " + c.db());
  ASSERT_EQ(multi.exit_code, 0) << multi.out;
  for (const std::string method : {"minmax", "kl"}) {
    MixqResult single =
        RunMixq("run " + write_job(method, method) + " --workers 1 --threads 1 --db " + c.db());
    ASSERT_EQ(single.exit_code, 0) << single.out;
    EXPECT_EQ(TasksRunNow(single.out), 0) << single.out;  // all replayed from the DB
  }

  StatusOr<std::unique_ptr<SqliteDb>> db = c.OpenDb();
  ASSERT_TRUE(db.ok()) << db.status().message();
  StatusOr<std::unique_ptr<SqliteStatement>> stmt = (*db)->Prepare(
      "SELECT j.name, r.met, c.json, r.chosen_accuracy, r.fp32_accuracy, r.chosen_ms, "
      "r.full_evaluations, r.verdict FROM search_results r JOIN jobs j ON j.id = r.job_id "
      "JOIN configs c ON c.id = r.config_id");
  ASSERT_TRUE(stmt.ok()) << stmt.status().message();
  struct Row {
    int64_t met;
    std::string json;
    double accuracy, fp32, ms;
    int64_t full;
    std::string verdict;
  };
  std::map<std::string, Row> rows;
  while (true) {
    StatusOr<bool> row = (*stmt)->Step();
    ASSERT_TRUE(row.ok());
    if (!*row) break;
    rows[(*stmt)->Text(0)] = {(*stmt)->Int(1),  (*stmt)->Text(2), (*stmt)->Real(3),
                              (*stmt)->Real(4), (*stmt)->Real(5), (*stmt)->Int(6),
                              (*stmt)->Text(7)};
  }
  ASSERT_EQ(rows.size(), 3u);
  const Row& a = rows["minmax"];
  const Row& b = rows["kl"];
  bool kl_wins;
  if (a.met != b.met) {
    kl_wins = b.met != 0;
  } else if (a.met) {
    kl_wins = b.ms < a.ms;
  } else {
    kl_wins = b.fp32 - b.accuracy < a.fp32 - a.accuracy;
  }
  const Row& winner = kl_wins ? b : a;
  const Row& got = rows["both"];
  EXPECT_EQ(got.json, winner.json);
  EXPECT_DOUBLE_EQ(got.accuracy, winner.accuracy);
  EXPECT_DOUBLE_EQ(got.ms, winner.ms);
  EXPECT_EQ(got.met, winner.met);
  // Both methods' evaluations, FP32 counted once.
  EXPECT_EQ(got.full, a.full + b.full - 1);
  EXPECT_NE(got.verdict.find(std::string("calibration ") + (kl_wins ? "kl" : "minmax")),
            std::string::npos)
      << got.verdict;
  // Every step says which scales it used.
  StatusOr<std::unique_ptr<SqliteStatement>> tags = (*db)->Prepare(
      "SELECT COUNT(*), SUM(reason LIKE '[minmax]%'), SUM(reason LIKE '[kl]%') FROM "
      "search_steps s JOIN jobs j ON j.id = s.job_id WHERE j.name = 'both'");
  ASSERT_TRUE(tags.ok());
  StatusOr<bool> tag_row = (*tags)->Step();
  ASSERT_TRUE(tag_row.ok() && *tag_row);
  EXPECT_GT((*tags)->Int(1), 0);
  EXPECT_GT((*tags)->Int(2), 0);
  EXPECT_EQ((*tags)->Int(0), (*tags)->Int(1) + (*tags)->Int(2));
  // The output folder holds the winner's scales.
  std::ifstream calibration(c.dir() + "/both/calibration.json");
  std::stringstream text;
  text << calibration.rdbuf();
  EXPECT_NE(text.str().find(kl_wins ? "\"kl\"" : "\"minmax\""), std::string::npos);
}

}  // namespace
}  // namespace mixq::test
