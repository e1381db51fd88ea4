#include "cli/job_client.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "cli/command_line.h"
#include "common/number_flag.h"

namespace mixq {
namespace {

using std::chrono::milliseconds;

// Written by the signal handler, so a plain flag of the one type a handler
// may write.
volatile std::sig_atomic_t g_interrupted = 0;
void OnInterrupt(int) { g_interrupted = 1; }

// A search job's progress lines: all of them, or the last `last` (0 = all).
void PrintSearchLog(const proto::StatusReply& s, size_t last, std::ostream& out) {
  const size_t n = static_cast<size_t>(s.search_log_size());
  const size_t skip = last > 0 && n > last ? n - last : 0;
  if (skip > 0) out << "  (" << skip << " earlier search line(s))\n";
  for (size_t i = skip; i < n; ++i) out << "  " << s.search_log(static_cast<int>(i)) << "\n";
}

}  // namespace

StatusOr<std::string> ReadJobFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(path + ": cannot open");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void AddCoordinatorOptions(boost::program_options::options_description* desc,
                           CoordinatorAddress* address) {
  namespace po = boost::program_options;
  desc->add_options()(
      "coordinator",
      po::value<std::string>(&address->coordinator)->default_value(address->coordinator),
      "coordinator endpoint")("timeout-ms",
                              IntegerFlag("timeout-ms", &address->timeout_ms, 1, kMaxTimeoutMs),
                              "reply timeout")(
      "key", po::value<std::string>(&address->keys.key),
      "this client's CURVE key pair, for a tcp:// coordinator (mixq keygen; default $MIXQ_KEY)")(
      "coordinator-key", po::value<std::string>(&address->keys.coordinator_key),
      "the coordinator's public key file (default $MIXQ_COORDINATOR_KEY)")(
      "insecure", po::bool_switch(&address->keys.insecure),
      "plain TCP without keys, to a coordinator run --insecure");
}

StatusOr<std::unique_ptr<CoordinatorClient>> ConnectClient(CoordinatorAddress address) {
  KeyFilesFromEnvironment(&address.keys);
  MIXQ_ASSIGN_OR_RETURN(ClientSecurity security,
                        LoadClientSecurity(address.coordinator, address.keys));
  return std::make_unique<CoordinatorClient>(address.coordinator, std::move(security));
}

bool ParseJobCommandLine(const std::string& command, const std::vector<std::string>& args,
                         std::ostream& out, CoordinatorAddress* address, int64_t* job_id,
                         const std::string& job_id_help) {
  namespace po = boost::program_options;
  po::options_description desc("mixq " + command + ": talk to a running coordinator");
  AddCoordinatorOptions(&desc, address);
  desc.add_options()("job-id", IntegerFlag("job-id", job_id, 0, kMaxJobId), job_id_help.c_str());
  po::positional_options_description positional;
  positional.add("job-id", 1);
  return ParseCommandLine(command, desc, args, out, positional);
}

InterruptScope::InterruptScope() {
  g_interrupted = 0;
  std::signal(SIGINT, OnInterrupt);
  std::signal(SIGTERM, OnInterrupt);
}

bool InterruptScope::Raised() { return g_interrupted != 0; }

InterruptScope::~InterruptScope() {
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

void PrintResult(const proto::StatusReply& s, std::ostream& out, size_t search_lines) {
  char line[256];
  out << "job " << s.job_id() << ": " << s.state();
  // A search job's measurements are its sub-jobs' tasks; its log says more.
  if (s.tasks_total() > 0 || s.search_log_next() == 0)
    out << ", " << s.tasks_done() << "/" << s.tasks_total() << " tasks";
  if (s.tasks_failed() > 0) out << ", " << s.tasks_failed() << " failed";
  out << "\n";
  for (const std::string& error : s.task_errors()) out << "  failed: " << error << "\n";
  PrintSearchLog(s, search_lines, out);
  if (s.evaluations_size() > 0) {
    std::snprintf(line, sizeof(line), "%-12s %-10s %9s %9s %9s %8s %8s %8s\n", "config", "hardware",
                  "samples", "correct1", "correct5", "top1 %", "top5 %", "agree %");
    out << line;
    for (const auto& e : s.evaluations()) {
      const double n = e.samples() > 0 ? static_cast<double>(e.samples()) : 1.0;
      // Agreement: top-1 equal to the all-FP32 model's on the same samples.
      char agree[16] = "       -";
      if (e.has_agree1()) std::snprintf(agree, sizeof(agree), "%8.2f", 100.0 * e.agree1() / n);
      std::snprintf(line, sizeof(line), "%-12s %-10s %9lld %9lld %9lld %8.2f %8.2f %s\n",
                    e.config().c_str(), e.hardware_class().c_str(),
                    static_cast<long long>(e.samples()), static_cast<long long>(e.correct1()),
                    static_cast<long long>(e.correct5()), 100.0 * e.correct1() / n,
                    100.0 * e.correct5() / n, agree);
      out << line;
      // data.evaluation.fidelity: each output against FP32, under its row.
      for (const proto::FidelityRow& f : e.fidelity()) {
        char sqnr[32] = "inf";
        if (std::isfinite(f.sqnr_db())) std::snprintf(sqnr, sizeof(sqnr), "%.2f", f.sqnr_db());
        std::snprintf(line, sizeof(line), "  vs fp32 %s: SQNR %s dB, cosine %.6f (%lld samples)\n",
                      f.output().c_str(), sqnr, f.cosine(), static_cast<long long>(f.samples()));
        out << line;
      }
      // A detection or segmentation dataset: its metrics, under the row.
      if (e.has_map50() || e.has_map50_95()) {
        std::snprintf(line, sizeof(line), "  mAP@0.5 %.2f %%, mAP@.5:.95 %.2f %%\n", e.map50(),
                      e.map50_95());
        out << line;
      }
      if (e.has_miou()) {
        std::snprintf(line, sizeof(line), "  mIoU %.2f %%\n", e.miou());
        out << line;
      }
    }
  }
  if (s.benchmarks_size() > 0) {
    std::snprintf(line, sizeof(line), "%-12s %6s %12s %12s  %s\n", "config", "batch", "images/s",
                  "latency ms", "hardware");
    out << line;
    for (const auto& b : s.benchmarks()) {
      std::snprintf(line, sizeof(line), "%-12s %6lld %12.1f %12.3f  %s\n", b.config().c_str(),
                    static_cast<long long>(b.batch()), b.images_per_second(), b.latency_ms_median(),
                    b.hardware_class().c_str());
      out << line;
    }
  }
}

// Polls the job until it ends; progress on stderr. `alive` is checked each
// round (false: the coordinator died).
StatusOr<proto::StatusReply> WaitForJob(CoordinatorClient* client, int64_t job_id, bool progress,
                                        const std::function<Status()>& alive) {
  const auto start = std::chrono::steady_clock::now();
  int64_t first_done = -1;
  int64_t last_printed = -1;
  int64_t search_next = 0;  // a search job's progress lines seen so far
  while (true) {
    if (g_interrupted) return Unavailable("interrupted");
    MIXQ_RETURN_IF_ERROR(alive());
    StatusOr<proto::StatusReply> s = client->GetStatus(job_id, milliseconds(10000), search_next);
    if (!s.ok()) return s.status();
    if (!s->error().empty()) return Internal(s->error());
    // The lines of the reply that ends the wait are the caller's to print.
    if (s->state() != "running") return s;
    if (progress) {
      for (const std::string& line : s->search_log()) std::fprintf(stderr, "%s\n", line.c_str());
    }
    // A restarted coordinator's resumed driver numbers its lines from 0
    // again: ask for all of them next time.
    search_next = s->search_log_next() < search_next ? 0 : s->search_log_next();
    if (first_done < 0) first_done = s->tasks_done();
    // A search job has no tasks of its own (its sub-jobs have them).
    if (progress && s->tasks_total() > 0 && s->tasks_done() != last_printed) {
      last_printed = s->tasks_done();
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double rate = secs > 0 ? (s->tasks_done() - first_done) / secs : 0;
      const int64_t left = s->tasks_total() - s->tasks_done();
      std::fprintf(stderr, "job %lld: %lld/%lld tasks done, %lld running, %d workers",
                   static_cast<long long>(job_id), static_cast<long long>(s->tasks_done()),
                   static_cast<long long>(s->tasks_total()),
                   static_cast<long long>(s->tasks_running()), s->workers());
      if (rate > 0) std::fprintf(stderr, ", ETA %.0f s", left / rate);
      std::fprintf(stderr, "\n");
    }
    std::this_thread::sleep_for(milliseconds(300));
  }
}

}  // namespace mixq
