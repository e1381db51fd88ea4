// The FP32 model's top-1 class per sample of a shard, kept in the worker's
// cache folder so that the agreement of every quantised config evaluated on
// that shard (a search evaluates dozens) costs one FP32 pass per worker and
// shard, not one per task. Entries are named by a key of everything that
// determines the predictions (model and dataset content, slice, batch,
// input shapes, effective ISA) and written under a temporary name, then renamed, so a
// reader sees a whole file or none.
#ifndef MIXQ_WORKER_TOP1_CACHE_H_
#define MIXQ_WORKER_TOP1_CACHE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "schemas/mixq.pb.h"

namespace mixq {

// The key of the FP32 predictions an evaluate task compares against: model
// and dataset by content (paths ignored), slice, batch, input shapes and
// `isa`.
std::string Top1Key(const proto::TaskAssign& task, const std::string& isa);

class Top1Cache {
 public:
  // `dir` empty: nothing is kept (every lookup misses).
  explicit Top1Cache(std::string dir) : dir_(std::move(dir)) {}

  // The predictions stored under `key`, if a whole entry of `count` classes
  // is there; a damaged entry counts as missing.
  std::optional<std::vector<int32_t>> Find(const std::string& key, int64_t count) const;
  // Stores them; errors name the file (callers may log and go on).
  Status Put(const std::string& key, const std::vector<int32_t>& top1) const;

 private:
  std::string PathOf(const std::string& key) const;

  std::string dir_;
};

}  // namespace mixq

#endif  // MIXQ_WORKER_TOP1_CACHE_H_
