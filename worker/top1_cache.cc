#include "worker/top1_cache.h"

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/sha256.h"

namespace mixq {
namespace {

// File layout: magic, count (int64), then count int32 classes, all in host
// byte order (the cache never leaves its machine).
constexpr char kMagic[8] = {'M', 'X', 'Q', 'T', 'O', 'P', '1', '\0'};

}  // namespace

std::string Top1Key(const proto::TaskAssign& task, const std::string& isa) {
  proto::DatasetRef dataset = task.dataset();
  dataset.mutable_images()->clear_path();
  dataset.mutable_labels()->clear_path();
  for (proto::DatasetInputRef& input : *dataset.mutable_inputs()) {
    input.mutable_samples()->clear_path();
  }
  std::string shapes;  // none: the key entries had before input shapes existed
  for (const proto::InputShape& entry : task.input_shapes()) {
    shapes += "\ninput_shape " + entry.input();
    for (int64_t d : entry.dims()) shapes += " " + std::to_string(d);
  }
  return Sha256Hex("fp32-top1\n" + task.model().sha256() + "\n" + dataset.SerializeAsString() +
                   "\n" + std::to_string(task.begin()) + "\n" + std::to_string(task.count()) +
                   "\n" + std::to_string(task.batch()) + "\n" + isa + shapes);
}

std::string Top1Cache::PathOf(const std::string& key) const {
  return (std::filesystem::path(dir_) / ("fp32-top1-" + key)).string();
}

std::optional<std::vector<int32_t>> Top1Cache::Find(const std::string& key, int64_t count) const {
  if (dir_.empty()) return std::nullopt;
  std::ifstream in(PathOf(key), std::ios::binary);
  if (!in) return std::nullopt;
  char magic[sizeof(kMagic)];
  int64_t stored = -1;
  in.read(magic, sizeof(magic));
  in.read(reinterpret_cast<char*>(&stored), sizeof(stored));
  if (!in || std::memcmp(magic, kMagic, sizeof(kMagic)) != 0 || stored != count) {
    return std::nullopt;
  }
  std::vector<int32_t> top1(static_cast<size_t>(count));
  in.read(reinterpret_cast<char*>(top1.data()),
          static_cast<std::streamsize>(top1.size() * sizeof(int32_t)));
  if (!in) return std::nullopt;
  return top1;
}

Status Top1Cache::Put(const std::string& key, const std::vector<int32_t>& top1) const {
  if (dir_.empty()) return Status::Ok();
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  const std::string path = PathOf(key);
  const std::string part = path + ".part." + std::to_string(getpid());
  {
    std::ofstream out(part, std::ios::binary | std::ios::trunc);
    const int64_t count = static_cast<int64_t>(top1.size());
    out.write(kMagic, sizeof(kMagic));
    out.write(reinterpret_cast<const char*>(&count), sizeof(count));
    out.write(reinterpret_cast<const char*>(top1.data()),
              static_cast<std::streamsize>(top1.size() * sizeof(int32_t)));
    if (!out) return Unavailable(part + ": cannot write FP32 predictions");
  }
  std::filesystem::rename(part, path, ec);
  if (ec) return Unavailable(path + ": " + ec.message());
  return Status::Ok();
}

}  // namespace mixq
