// Real wire messages for the seeds of the wire fuzz targets: one or more of
// every message type, filled as the product's own peers fill them, and the
// repository's job files as a client submits them. Seeds are written by the
// targets themselves (MIXQ_FUZZ_WRITE_SEEDS, fuzz/README.md), never by hand.
#ifndef MIXQ_FUZZ_WIRE_EXAMPLES_H_
#define MIXQ_FUZZ_WIRE_EXAMPLES_H_

#include <google/protobuf/message.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/protocol_codec.h"
#include "fuzz/frames.h"

namespace mixq::fuzz {

struct WireExample {
  std::string name;  // e.g. "hello", "submit_fm_resnet_eval"
  MessageType type;
  std::shared_ptr<const google::protobuf::Message> body;

  std::vector<std::string> Frames() const { return Encode(type, *body); }
};

// The files the coordinator target's data folder holds, by the names the
// example jobs use.
inline constexpr char kExampleModel[] = "model.onnx";
inline constexpr char kExampleTestSet[] = "test.yaml";
inline constexpr char kExampleTrainSet[] = "train.yaml";

// Each job file of `source_dir`/configs/jobs, plus a calibrate job, as
// (name, text), its model and dataset paths replaced by the example names.
std::vector<std::pair<std::string, std::string>> ExampleJobs(const std::string& source_dir);

// Messages of every type; SUBMIT_REQUESTs carry ExampleJobs() with
// `base_dir` as their folder.
std::vector<WireExample> WireExamples(const std::string& source_dir, const std::string& base_dir);

// WireExamples() by name, for building sessions.
class ExampleBook {
 public:
  ExampleBook(const std::string& source_dir, const std::string& base_dir);
  // Example `name` (aborts naming it if there is none).
  const WireExample& Get(const std::string& name) const;
  // Its frames as a session message with `header`.
  SessionMessage Message(const std::string& name, uint8_t header) const;

 private:
  std::map<std::string, WireExample> examples_;
};

using NamedSession = std::pair<std::string, std::vector<SessionMessage>>;

// The start of a session target (its LLVMFuzzerInitialize): writes the
// sessions as seeds when asked (WriteSeedsIfAsked, then exits); otherwise
// logs errors only, since each dropped message is a warning and thousands
// a second would only slow the fuzzer down.
void StartSessionTarget(const std::vector<NamedSession>& sessions);

}  // namespace mixq::fuzz

#endif  // MIXQ_FUZZ_WIRE_EXAMPLES_H_
