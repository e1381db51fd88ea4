#include "fuzz/wire_examples.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/log.h"
#include "common/sha256.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_input.h"

namespace mixq::fuzz {
namespace {

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void ReplaceAll(const std::string& from, const std::string& to, std::string* text) {
  for (size_t at = text->find(from); at != std::string::npos; at = text->find(from, at)) {
    text->replace(at, from.size(), to);
    at += to.size();
  }
}

template <typename T>
WireExample Example(std::string name, MessageType type, T body) {
  return WireExample{std::move(name), type, std::make_shared<T>(std::move(body))};
}

proto::BlobRef Blob(const std::string& content, const std::string& path) {
  proto::BlobRef blob;
  blob.set_sha256(Sha256Hex(content));
  blob.set_size(content.size());
  blob.set_path(path);
  return blob;
}

proto::TaskAssign Assign(proto::TaskKind kind) {
  proto::TaskAssign a;
  a.set_task_id(Sha256Hex("task " + std::to_string(kind)));
  a.set_kind(kind);
  *a.mutable_model() = Blob("model", "/data/model.onnx");
  proto::DatasetRef* d = a.mutable_dataset();
  d->set_format("idx");
  *d->mutable_images() = Blob("images", "/data/images.idx");
  *d->mutable_labels() = Blob("labels", "/data/labels.idx");
  d->set_scale(1.0f / 255);
  d->add_mean(0.286f);
  d->add_std(0.353f);
  d->set_layout("nchw");
  a.set_begin(0);
  a.set_count(8);
  a.set_config_json("fp32");
  a.set_batch(kind == proto::TASK_KIND_BENCHMARK ? 16 : 8);
  a.set_min_seconds(1.0);
  a.set_lease_ms(600000);
  if (kind == proto::TASK_KIND_CALIBRATE) {
    a.mutable_calibrate()->set_pass(1);
    a.mutable_calibrate()->set_batch(8);
  }
  proto::InputShape* shape = a.add_input_shapes();
  shape->set_input("input");
  for (int64_t dim : {1, 1, 28, 28}) shape->add_dims(dim);
  return a;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> ExampleJobs(const std::string& source_dir) {
  std::vector<std::pair<std::string, std::string>> jobs;
  const std::filesystem::path folder = std::filesystem::path(source_dir) / "configs/jobs";
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    std::string text = ReadText(file);
    for (const char* model : {"../../models/fm_resnet.onnx", "../../models/fm_mobilenet.onnx",
                              "../../models/text_bert.onnx"}) {
      ReplaceAll(model, kExampleModel, &text);
    }
    for (const char* set :
         {"../datasets/fashion_mnist_test.yaml", "../datasets/text_bert_test.yaml"}) {
      ReplaceAll(set, kExampleTestSet, &text);
    }
    for (const char* set :
         {"../datasets/fashion_mnist_train.yaml", "../datasets/text_bert_calib.yaml"}) {
      ReplaceAll(set, kExampleTrainSet, &text);
    }
    jobs.emplace_back(file.stem().string(), text);
  }
  jobs.emplace_back("calibrate",
                    std::string("name: calibrate-example\nkind: calibrate\nmodel: ") +
                        kExampleModel + "\ndata: {calibration: {dataset: " + kExampleTrainSet +
                        ", samples: 8}}\ncalibration: {method: minmax, shard_size: 8}\n"
                        "output: ../out/calibration.json\n");
  return jobs;
}

std::vector<WireExample> WireExamples(const std::string& source_dir, const std::string& base_dir) {
  std::vector<WireExample> examples;
  proto::Hello hello;
  hello.set_protocol_version(kProtocolVersion);
  hello.set_mixq_version("0.1.0");
  hello.set_host("worker-host");
  hello.set_pid(4242);
  hello.set_threads(2);
  hello.mutable_hardware()->set_cpu_brand("Intel(R) Xeon(R) CPU");
  hello.mutable_hardware()->set_cores(2);
  hello.mutable_hardware()->set_isa("avx512_core_vnni");
  examples.push_back(Example("hello", MessageType::kHello, hello));
  hello.mutable_hardware()->set_isa("avx2");
  hello.mutable_hardware()->set_isa_cap("avx2");
  hello.set_running_task_id(Sha256Hex("task 1"));
  examples.push_back(Example("hello_capped_running", MessageType::kHello, hello));

  proto::Welcome welcome;
  welcome.set_worker_id("1");
  welcome.set_hardware_class("Intel(R) Xeon(R) CPU/2/avx512_core_vnni");
  welcome.set_heartbeat_ms(1000);
  welcome.set_liveness(3);
  examples.push_back(Example("welcome", MessageType::kWelcome, welcome));
  proto::Refuse refuse;
  refuse.set_reason("protocol version 2 is not supported: this coordinator speaks version 1");
  refuse.set_coordinator_protocol_version(kProtocolVersion);
  examples.push_back(Example("refuse", MessageType::kRefuse, refuse));
  proto::Heartbeat beat;
  examples.push_back(Example("heartbeat", MessageType::kHeartbeat, beat));
  beat.set_task_id(Sha256Hex("task 1"));
  examples.push_back(Example("heartbeat_busy", MessageType::kHeartbeat, beat));
  proto::Reconnect reconnect;
  reconnect.set_reason("unknown worker; say HELLO");
  examples.push_back(Example("reconnect", MessageType::kReconnect, reconnect));

  for (auto [name, kind] : {std::pair{"evaluate", proto::TASK_KIND_EVALUATE},
                            std::pair{"benchmark", proto::TASK_KIND_BENCHMARK},
                            std::pair{"calibrate", proto::TASK_KIND_CALIBRATE},
                            std::pair{"profile", proto::TASK_KIND_PROFILE}}) {
    examples.push_back(
        Example(std::string("assign_") + name, MessageType::kTaskAssign, Assign(kind)));
  }

  proto::TaskResult eval;
  eval.set_task_id(Sha256Hex("task 1"));
  eval.mutable_eval()->set_samples(8);
  eval.mutable_eval()->set_correct1(6);
  eval.mutable_eval()->set_correct5(8);
  eval.mutable_eval()->set_seconds(0.05);
  examples.push_back(Example("result_eval", MessageType::kTaskResult, eval));
  proto::TaskResult bench;
  bench.set_task_id(Sha256Hex("task 2"));
  bench.mutable_bench()->set_batch(16);
  bench.mutable_bench()->set_threads(2);
  bench.mutable_bench()->set_iterations(100);
  bench.mutable_bench()->set_latency_ms_median(1.5);
  bench.mutable_bench()->set_latency_ms_p90(1.7);
  bench.mutable_bench()->set_images_per_second(10000);
  examples.push_back(Example("result_bench", MessageType::kTaskResult, bench));
  proto::TaskResult profile;
  profile.set_task_id(Sha256Hex("task 4"));
  profile.mutable_profile()->set_batch(1);
  profile.mutable_profile()->set_threads(2);
  profile.mutable_profile()->set_json(R"({"layers":[{"name":"conv1","ms":0.1}]})");
  examples.push_back(Example("result_profile", MessageType::kTaskResult, profile));
  proto::TaskResult calibrate;
  calibrate.set_task_id(Sha256Hex("task 3"));
  calibrate.mutable_calibrate()->set_pass(1);
  calibrate.mutable_calibrate()->set_samples(8);
  calibrate.mutable_calibrate()->set_stats_json(R"({"version": 1, "tensors": {}})");
  examples.push_back(Example("result_calibrate", MessageType::kTaskResult, calibrate));
  proto::TaskFailed failed;
  failed.set_task_id(Sha256Hex("task 1"));
  failed.set_error("model.onnx: node 'conv1': unsupported op");
  examples.push_back(Example("failed", MessageType::kTaskFailed, failed));
  failed.set_error("worker busy");
  failed.set_retryable(true);
  failed.set_not_started(true);
  examples.push_back(Example("failed_busy", MessageType::kTaskFailed, failed));

  proto::BlobRequest blob_request;
  blob_request.set_sha256(Sha256Hex("model"));
  examples.push_back(Example("blob_request", MessageType::kBlobRequest, blob_request));
  proto::BlobChunk chunk;
  chunk.set_sha256(Sha256Hex("model"));
  chunk.set_total_size(5);
  chunk.set_data("model");
  examples.push_back(Example("blob_chunk", MessageType::kBlobChunk, chunk));
  chunk.clear_data();
  chunk.set_error("unknown blob " + Sha256Hex("model"));
  examples.push_back(Example("blob_chunk_error", MessageType::kBlobChunk, chunk));

  for (const auto& [name, text] : ExampleJobs(source_dir)) {
    proto::SubmitRequest submit;
    submit.set_job_yaml(text);
    submit.set_base_dir(base_dir);
    submit.set_client_host("client-host");
    examples.push_back(Example("submit_" + name, MessageType::kSubmitRequest, submit));
  }
  proto::SubmitReply submitted;
  submitted.set_job_id(1);
  submitted.set_tasks_planned(12);
  submitted.set_tasks_total(12);
  examples.push_back(Example("submit_reply", MessageType::kSubmitReply, submitted));
  proto::StatusRequest status;
  examples.push_back(Example("status", MessageType::kStatusRequest, status));
  status.set_job_id(1);
  examples.push_back(Example("status_job", MessageType::kStatusRequest, status));
  proto::StatusReply status_reply;
  status_reply.set_job_id(1);
  status_reply.set_state("running");
  status_reply.set_tasks_total(12);
  status_reply.set_workers(1);
  (*status_reply.mutable_malformed())["payload"] = 2;
  (*status_reply.mutable_malformed())["version"] = 1;
  proto::EvalRow* row = status_reply.add_evaluations();
  row->set_config("fp32");
  row->set_hardware_class("Intel(R) Xeon(R) CPU/2/avx512_core_vnni");
  row->set_samples(8);
  row->set_correct1(6);
  row->set_correct5(8);
  examples.push_back(Example("status_reply", MessageType::kStatusReply, status_reply));
  proto::CancelRequest cancel;
  cancel.set_job_id(1);
  examples.push_back(Example("cancel", MessageType::kCancelRequest, cancel));
  proto::CancelReply cancelled;
  cancelled.set_cancelled(true);
  examples.push_back(Example("cancel_reply", MessageType::kCancelReply, cancelled));
  return examples;
}

ExampleBook::ExampleBook(const std::string& source_dir, const std::string& base_dir) {
  for (WireExample& e : WireExamples(source_dir, base_dir)) examples_.emplace(e.name, e);
}

const WireExample& ExampleBook::Get(const std::string& name) const {
  auto it = examples_.find(name);
  MIXQ_FUZZ_CHECK(it != examples_.end(), "no example message " + name);
  return it->second;
}

SessionMessage ExampleBook::Message(const std::string& name, uint8_t header) const {
  return SessionMessage{header, Get(name).Frames()};
}

void StartSessionTarget(const std::vector<NamedSession>& sessions) {
  std::vector<std::pair<std::string, std::string>> seeds;
  for (const auto& [name, session] : sessions) seeds.emplace_back(name, JoinSession(session));
  WriteSeedsIfAsked(seeds);
  (void)SetLogLevel("error");
}

}  // namespace mixq::fuzz
