// How a target turns one fuzz input into several files or messages: the
// parts are separated by a line "#@@" ("\n#@@\n"), text that libFuzzer's
// mutations keep or break as they please and that reads as a YAML comment
// when they break it. Also the scratch folder targets write those files to,
// and the writing of seeds a target makes itself.
#ifndef MIXQ_FUZZ_FUZZ_INPUT_H_
#define MIXQ_FUZZ_FUZZ_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mixq::fuzz {

inline constexpr char kPartSeparator[] = "\n#@@\n";

// The input cut at each separator: at most `max_parts` parts (the last one
// keeps any further separators), always at least one.
std::vector<std::string> SplitParts(const uint8_t* data, size_t size, size_t max_parts);

// The parts joined with separators: what the seed generators write.
std::string JoinParts(const std::vector<std::string>& parts);

// When the environment names a folder in MIXQ_FUZZ_WRITE_SEEDS: writes each
// (file name, bytes) of `seeds` there and exits (1 if one cannot be
// written). Otherwise does nothing. A target that makes its own seeds calls
// it from LLVMFuzzerInitialize.
void WriteSeedsIfAsked(const std::vector<std::pair<std::string, std::string>>& seeds);

// A folder of this process's own, made on first use under /dev/shm (memory,
// so file-reading targets run at memory speed) or $TMPDIR, emptied by
// Reset() between inputs and removed when the process ends.
class ScratchFolder {
 public:
  ScratchFolder();
  ~ScratchFolder();
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;

  const std::string& path() const { return path_; }
  // Removes everything inside; aborts if it cannot (the next input would
  // otherwise see this one's files).
  void Reset();
  // Writes `bytes` to path()/name; aborts if it cannot.
  std::string Write(const std::string& name, const std::string& bytes);

 private:
  std::string path_;
};

}  // namespace mixq::fuzz

#endif  // MIXQ_FUZZ_FUZZ_INPUT_H_
