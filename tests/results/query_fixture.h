// A results database filled by hand for the query and report tests: two
// models, two hardware classes, a stale and a current evaluate job, a
// search job with ranking steps, benchmarks and layer profiles. The numbers
// are chosen so that each query's answer depends on its SQL being right.
#ifndef MIXQ_TESTS_RESULTS_QUERY_FIXTURE_H_
#define MIXQ_TESTS_RESULTS_QUERY_FIXTURE_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "coordinator/store.h"

namespace mixq_test {

inline const char kResnetSha[] = "aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111";
inline const char kMlpSha[] = "aaaa2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222";

class QueryDbFixture {
 public:
  // `tag` keeps the files of tests running in parallel apart.
  explicit QueryDbFixture(const std::string& tag)
      : path_(::testing::TempDir() + "/mixq_query_" + tag + "_" + std::to_string(::getpid()) +
              ".db") {
    Remove();
    auto opened = mixq::Store::Open(path_);
    EXPECT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(opened.value());
    Exec(kRows);
  }
  ~QueryDbFixture() {
    store_.reset();
    Remove();
  }

  const std::string& path() const { return path_; }
  mixq::Store& store() { return *store_; }
  void Exec(const std::string& sql) {
    mixq::Status s = store_->db().Exec(sql);
    ASSERT_TRUE(s.ok()) << s.message();
  }

 private:
  void Remove() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path_ + suffix).c_str());
  }

  static constexpr const char* kRows = R"SQL(
INSERT INTO blobs VALUES ('aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111', '/m/fm_resnet.onnx', 1),
  ('aaaa2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222', '/m/fm_mlp.onnx', 1),
  ('img', '/d/images', 1), ('lab', '/d/labels', 1);
INSERT INTO models(id, sha256, path) VALUES
  (1, 'aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111', '/m/fm_resnet.onnx'),
  (2, 'aaaa2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222', '/m/fm_mlp.onnx');
INSERT INTO datasets(id, sha256, spec_path, images_sha256, labels_sha256, preprocess, size)
  VALUES (1, 'ds', '/c/fashion_mnist_test.yaml', 'img', 'lab', '{}', 10000);
INSERT INTO configs(id, sha256, name, json) VALUES
  (1, 'h-fp32', 'fp32', 'fp32'),
  (2, 'h-int8', 'int8', '{"layers":{"conv1":"int8","fc":"int8"},"model_sha256":"a"}'),
  (3, 'h-mix', 'mix', '{"layers":{"conv1":"fp32","fc":"int8"},"model_sha256":"a"}'),
  (4, 'h-conv1', 'only-conv1', '{"layers":{"conv1":"int8","fc":"fp32"},"model_sha256":"a"}'),
  (5, 'h-fc', 'only-fc', '{"layers":{"conv1":"fp32","fc":"int8"},"model_sha256":"b"}');
INSERT INTO hardware_classes(id, name, cpu_brand, cores, isa) VALUES
  (1, 'avx2', 'cpu', 4, 'avx2'), (2, 'sse41', 'cpu', 4, 'sse41');
INSERT INTO jobs(id, name, kind, spec_yaml, state, model_id, dataset_id, created_at) VALUES
  (1, 'stale', 'evaluate', '', 'done', 1, 1, '2026-01-01 10:00:00'),
  (2, 'current', 'evaluate', '', 'done', 1, 1, '2026-01-02 10:00:00'),
  (3, 'mlp', 'evaluate', '', 'running', 2, 1, '2026-01-03 10:00:00'),
  (4, 'search', 'search', '', 'done', 1, 1, '2026-01-04 10:00:00');
-- Job 1 is older: its INT8 drop of 10 points must not show.
INSERT INTO evaluations(job_id, config_id, hardware_class, samples, correct1, correct5, top1) VALUES
  (1, 1, 'avx2', 1000, 900, 990, 0.9), (1, 2, 'avx2', 1000, 800, 990, 0.8),
  (2, 1, 'avx2', 1000, 920, 990, 0.92), (2, 2, 'avx2', 1000, 910, 985, 0.91),
  (2, 3, 'avx2', 1000, 918, 990, 0.918),
  (2, 1, 'sse41', 1000, 920, 990, 0.92), (2, 2, 'sse41', 1000, 900, 990, 0.90),
  (2, 3, 'sse41', 1000, 917, 990, 0.917),
  (3, 1, 'avx2', 1000, 880, 980, 0.88);
INSERT INTO tasks(id, kind, model_id, dataset_id, config_id, hardware, batch, assign, state) VALUES
  ('b-stale', 'benchmark', 1, NULL, 2, 'avx2', 16, x'', 'done'),
  ('b1', 'benchmark', 1, NULL, 1, 'avx2', 16, x'', 'done'),
  ('b2', 'benchmark', 1, NULL, 2, 'avx2', 16, x'', 'done'),
  ('b3', 'benchmark', 1, NULL, 3, 'avx2', 16, x'', 'done'),
  ('b4', 'benchmark', 1, NULL, 1, 'avx2', 1, x'', 'done'),
  ('b5', 'benchmark', 1, NULL, 2, 'avx2', 1, x'', 'done'),
  ('b6', 'benchmark', 1, NULL, 3, 'avx2', 1, x'', 'done'),
  ('b7', 'benchmark', 1, NULL, 1, 'sse41', 16, x'', 'done'),
  ('b8', 'benchmark', 1, NULL, 2, 'sse41', 16, x'', 'done'),
  ('b9', 'benchmark', 1, NULL, 3, 'sse41', 16, x'', 'pending'),
  ('p1', 'profile', 1, NULL, 2, 'avx2', 1, x'', 'done');
INSERT INTO job_tasks VALUES (2, 'b1'), (2, 'b2'), (2, 'b3'), (2, 'b4'), (2, 'b5'), (2, 'b6'),
  (2, 'b7'), (2, 'b8'), (2, 'b9'), (4, 'p1');
-- The stale INT8 benchmark comes first (lower rowid) and is slower.
INSERT INTO benchmarks(task_id, hardware_class_id, batch, threads, iterations, latency_ms_median,
                       latency_ms_p90, images_per_second) VALUES
  ('b-stale', 1, 16, 1, 10, 160.0, 160.0, 100.0),
  ('b1', 1, 16, 1, 10, 16.0, 16.0, 1000.0), ('b2', 1, 16, 1, 10, 5.33, 5.4, 3000.0),
  ('b3', 1, 16, 1, 10, 6.4, 6.5, 2500.0),
  ('b4', 1, 1, 1, 10, 1.0, 1.1, 1000.0), ('b5', 1, 1, 1, 10, 0.5, 0.6, 2000.0),
  ('b6', 1, 1, 1, 10, 0.4, 0.5, 2500.0),
  ('b7', 2, 16, 1, 10, 32.0, 33.0, 500.0), ('b8', 2, 16, 1, 10, 26.7, 27.0, 600.0),
  ('b9', 2, 16, 1, 10, 22.9, 23.0, 700.0);
INSERT INTO layer_profiles(task_id, layer, precision, ms) VALUES ('p1', 'conv1', 'fp32', 2.0), ('p1', 'conv1', 'int8', 0.5),
  ('p1', 'fc', 'fp32', 1.0), ('p1', 'fc', 'int8', 0.8), ('p1', 'conv1', 'reorder', 0.1);
INSERT INTO search_steps(job_id, hardware_class, step, kind, config_id, int8_layers, reason,
                         accuracy, drop_points, ms, at) VALUES
  (4, 'avx2', 0, 'full', 1, 0, 'baseline', 92.0, 0.0, 16.0, '2026-01-04 10:00:10'),
  (4, 'avx2', 1, 'ranking', 1, 0, 'sensitivity', 93.0, NULL, NULL, '2026-01-04 10:00:20'),
  (4, 'avx2', 2, 'ranking', 4, 1, 'sensitivity', 92.0, NULL, NULL, '2026-01-04 10:00:30'),
  (4, 'avx2', 3, 'ranking', 5, 1, 'sensitivity', 92.8, NULL, NULL, '2026-01-04 10:00:40'),
  (4, 'avx2', 4, 'benchmark', 3, 1, 'candidate', NULL, NULL, 6.4, '2026-01-04 10:00:50'),
  (4, 'avx2', 5, 'full', 3, 1, 'verify', 91.8, 0.2, NULL, '2026-01-04 10:01:00'),
  (4, 'avx2', 6, 'answer', 3, 1, 'within budget', 91.8, 0.2, 6.4, '2026-01-04 10:01:10');
-- The search verified its configs through job 2.
UPDATE jobs SET parent_job_id = 4 WHERE id = 2;
INSERT INTO search_results(job_id, hardware_class, budget, strategy, met, verdict, config_id,
                           fp32_accuracy, chosen_accuracy, fp32_ms, chosen_ms, full_evaluations,
                           wall_seconds) VALUES
  (4, 'avx2', 0.5, 'speed_aware', 1, 'met', 3, 92.0, 91.8, 16.0, 6.4, 3, 70.0);
)SQL";

  std::string path_;
  std::unique_ptr<mixq::Store> store_;
};

}  // namespace mixq_test

#endif  // MIXQ_TESTS_RESULTS_QUERY_FIXTURE_H_
