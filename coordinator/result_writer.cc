#include "coordinator/result_writer.h"

namespace mixq {

StatusOr<std::unique_ptr<ResultWriter>> ResultWriter::Open(const std::string& db_path) {
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(db_path));
  return std::make_unique<ResultWriter>(std::move(store));
}

ResultWriter::ResultWriter(std::unique_ptr<Store> store)
    : store_(std::move(store)), thread_([this] { Loop(); }) {}

ResultWriter::~ResultWriter() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closing_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void ResultWriter::Write(std::vector<TaskOutcome> batch, Done done) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.emplace_back(std::move(batch), std::move(done));
  }
  wake_.notify_one();
}

void ResultWriter::Loop() {
  while (true) {
    std::pair<std::vector<TaskOutcome>, Done> item;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;  // closing, and nothing left to write
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    StatusOr<int> added = store_->WriteResults(item.first);
    if (item.second) item.second(std::move(added));
  }
}

}  // namespace mixq
