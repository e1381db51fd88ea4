// Commits task results to SQLite on a thread of its own, so a commit (and
// the WAL checkpoints that some commits trigger) never stalls the
// coordinator's event loop. Batches are written in order, each in one
// transaction, through the writer's own connection to the database file.
#ifndef MIXQ_COORDINATOR_RESULT_WRITER_H_
#define MIXQ_COORDINATOR_RESULT_WRITER_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "coordinator/store.h"

namespace mixq {

class ResultWriter {
 public:
  // Called on the writer thread with the number of new result rows, or the
  // error that stopped the batch (nothing of it is stored then).
  using Done = std::function<void(StatusOr<int>)>;

  // Opens its own connection to `db_path` (a file; ":memory:" would be a
  // different database).
  static StatusOr<std::unique_ptr<ResultWriter>> Open(const std::string& db_path);
  // Writes every batch already queued, then stops the thread.
  ~ResultWriter();

  void Write(std::vector<TaskOutcome> batch, Done done);

  explicit ResultWriter(std::unique_ptr<Store> store);

 private:
  void Loop();

  std::unique_ptr<Store> store_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::pair<std::vector<TaskOutcome>, Done>> queue_;
  bool closing_ = false;
  std::thread thread_;
};

}  // namespace mixq

#endif  // MIXQ_COORDINATOR_RESULT_WRITER_H_
