// Which files a coordinator touches on a client's word. A job names files by
// path; the coordinator reads only those under its data roots (--data-root)
// and writes only under its output root (--output-root). Its own folder for
// the calibrations it makes (next to the database) is both read and written:
// a search's calibrate sub-job writes there and its later sub-jobs read from
// there. A path is made absolute, then resolved through symlinks and `..`
// before the check, which compares whole components (`/data2` is not under
// `/data`). A refused path gets one message whether or not it exists, so a
// client learns nothing about files outside the roots.
#ifndef MIXQ_COORDINATOR_FILE_ROOTS_H_
#define MIXQ_COORDINATOR_FILE_ROOTS_H_

#include <string>
#include <vector>

#include "common/status.h"

namespace mixq {

class FileRoots {
 public:
  // No roots: every path is refused.
  FileRoots() = default;

  // The roots as absolute, resolved folders. Relative ones are taken against
  // the working directory now. InvalidArgument when a data root is not an
  // existing folder; the output root and `own_dir` are created if missing.
  static StatusOr<FileRoots> Make(const std::vector<std::string>& data_roots,
                                  const std::string& output_root, const std::string& own_dir);

  // Ok when the coordinator may read `path` (under a data root or its own
  // folder). Otherwise InvalidArgument "<what> '<path>' is outside the
  // coordinator's data roots (--data-root)", `what` being the role the path
  // plays (e.g. "<submitted job>: model").
  Status CheckRead(const std::string& path, const std::string& what) const;

  // Ok when the coordinator may write `path` (under the output root or its
  // own folder); the message names --output-root otherwise.
  Status CheckWrite(const std::string& path, const std::string& what) const;

  // CheckRead() as a yes or no, for blob serving (whose refusal names no path).
  bool MayRead(const std::string& path) const;

  const std::vector<std::string>& data_roots() const { return data_roots_; }
  const std::string& output_root() const { return output_root_; }
  const std::string& own_dir() const { return own_dir_; }

 private:
  bool MayWrite(const std::string& path) const;

  std::vector<std::string> data_roots_;
  std::string output_root_;
  std::string own_dir_;
};

}  // namespace mixq

#endif  // MIXQ_COORDINATOR_FILE_ROOTS_H_
