// Jobs on an image folder (`format: images`): the coordinator sends the
// workers a manifest of the folder's files by hash, and each worker fetches
// the manifest once and then only the images of the shards it runs; the
// top-1 counts are those of a local `mixq eval` on the same folder. A
// corrupt image fails its task once, with the file's name, not forever.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "common/sha256.h"
#include "tests/cli/mixq_runner.h"
#include "tests/common/shipped_files.h"
#include "tests/integration/cluster.h"

namespace mixq::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// `count` Fashion-MNIST test images as PNG class folders under `dir`, and a
// dataset YAML for them.
std::string WriteFolder(const std::string& dir, int count) {
  const std::string cmd = std::string(MIXQ_SOURCE_DIR) + "/scripts/fashion_mnist_png --out " + dir +
                          "/fm --count " + std::to_string(count) + " > /dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const std::string yaml = dir + "/fm.yaml";
  std::ofstream(yaml) << "format: images\nimages: fm\n"
                         "preprocess: {color: gray, scale: 0.0039215686, mean: [0.2860], "
                         "std: [0.3530]}\n";
  return yaml;
}

std::string EvalJob(const std::string& name, const std::string& dataset, int shard_size) {
  return "name: " + name + "\nmodel: " + kFmResnet + "\ndata: {evaluation: {dataset: " + dataset +
         ", shard_size: " + std::to_string(shard_size) + "}}\nconfigs: [fp32]\n";
}

TEST(Distributed, ImageFolderJobFetchesEachShardsImagesOnlyAndScoresAsLocalEval) {
  Cluster c;
  ASSERT_TRUE(c.StartCoordinator());
  // Workers that fetch every file (no use of the coordinator's paths in
  // place), so the caches show what travelled.
  c.AddWorker({"--no-local-paths"});
  c.AddWorker({"--no-local-paths"});
  ASSERT_TRUE(c.WaitForWorkers(2));
  const int count = 400;
  const std::string dataset = WriteFolder(c.dir(), count);
  StatusOr<proto::SubmitReply> reply =
      c.Submit(EvalJob("images", dataset, 100), "", milliseconds(60000));
  ASSERT_TRUE(reply.ok()) << reply.status().message();
  ASSERT_EQ(reply->error(), "");
  const proto::StatusReply s = c.WaitDone(reply->job_id());
  ASSERT_EQ(s.state(), "done") << c.coordinator().Log();
  ASSERT_EQ(s.evaluations_size(), 1);
  EXPECT_EQ(s.evaluations(0).samples(), count);

  MixqResult local =
      RunMixq("eval --json --quiet --threads 1 --model " + kFmResnet + " --dataset " + dataset,
              StderrTo::kNull);
  ASSERT_EQ(local.exit_code, 0) << local.out;
  EXPECT_NE(local.out.find("\"correct1\":" + std::to_string(s.evaluations(0).correct1())),
            std::string::npos)
      << local.out << " vs " << s.evaluations(0).correct1();

  // Every distinct image arrived in exactly one worker's cache: none
  // fetched the whole folder, none fetched an image twice.
  std::set<std::string> images;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(c.dir() + "/fm")) {
    if (entry.is_regular_file()) {
      StatusOr<std::string> sha = Sha256File(entry.path().string());
      ASSERT_TRUE(sha.ok());
      images.insert(*sha);
    }
  }
  size_t fetched = 0;
  for (int n = 0; n < 2; ++n) {
    if (!std::filesystem::exists(c.cache(n))) continue;
    for (const auto& entry : std::filesystem::directory_iterator(c.cache(n))) {
      fetched += images.count(entry.path().filename().string());
    }
  }
  EXPECT_EQ(fetched, images.size());
}

TEST(Distributed, ACorruptImageFailsItsTaskOnceNamingTheFile) {
  Cluster c;
  ASSERT_TRUE(c.StartCoordinator());
  Process* worker = c.AddWorker();
  ASSERT_TRUE(c.WaitForWorkers(1));
  const std::string dataset = WriteFolder(c.dir(), 200);
  std::string victim;  // the first coat, as the manifest names it
  for (const auto& entry : std::filesystem::directory_iterator(c.dir() + "/fm/4_coat")) {
    const std::string name = "4_coat/" + entry.path().filename().string();
    if (victim.empty() || name < victim) victim = name;
  }
  ASSERT_FALSE(victim.empty());
  std::filesystem::resize_file(c.dir() + "/fm/" + victim, 45);
  StatusOr<proto::SubmitReply> reply =
      c.Submit(EvalJob("corrupt", dataset, 50), "", milliseconds(60000));
  ASSERT_TRUE(reply.ok()) << reply.status().message();
  ASSERT_EQ(reply->error(), "");
  proto::StatusReply s;
  ASSERT_TRUE(c.WaitEnded(reply->job_id(), seconds(60), &s)) << c.coordinator().Log();
  EXPECT_EQ(s.state(), "failed");
  ASSERT_EQ(s.task_errors_size(), 1);
  EXPECT_NE(s.task_errors(0).find(victim), std::string::npos) << s.task_errors(0);
  // Not retryable: the worker ran the task once, and the other shards'
  // results are kept.
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM tasks WHERE state = 'failed'"), 1);
  EXPECT_EQ(c.Count("SELECT COUNT(*) FROM shard_results"), 3);
  const std::string log = worker->Log();
  size_t failures = 0;
  for (size_t at = log.find(victim); at != std::string::npos; at = log.find(victim, at + 1)) {
    ++failures;
  }
  EXPECT_EQ(failures, 1u) << log;
}

}  // namespace
}  // namespace mixq::test
