#include "tests/integration/cluster.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <utility>

#include "common/dataset.h"
#include "security/curve_keys.h"

namespace mixq::test {
namespace {

using std::chrono::milliseconds;

// A loopback port nobody holds now. Another process may take it before the
// coordinator binds it; the coordinator then fails to start, loudly.
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// What the tests' jobs read: the source and build trees, the test's folder
// and the folders the shipped dataset specs' files are in.
std::vector<std::string> TestDataRoots(const std::string& dir) {
  std::vector<std::string> roots = {MIXQ_SOURCE_DIR, MIXQ_BINARY_DIR, dir};
  for (const std::string& yaml : {kFashionMnistTest, kFashionMnistTrain}) {
    StatusOr<DatasetSpec> spec = LoadDatasetSpec(yaml);
    if (!spec.ok()) continue;  // the job naming it fails and says why
    for (const std::string& file : {spec->images, spec->labels}) {
      roots.push_back(std::filesystem::path(file).parent_path().string());
    }
  }
  return roots;
}

}  // namespace

Cluster::Cluster(ClusterOptions options) : options_(std::move(options)) {
  endpoint_ = options_.ipc ? "ipc://" + dir() + "/coordinator"
                           : "tcp://127.0.0.1:" + std::to_string(FreePort());
  if (curve()) MakeKeys();
}

void Cluster::MakeKeys() {
  std::filesystem::create_directories(dir() + "/keys");
  std::ofstream allow(dir() + "/keys/allow");
  for (const auto& [name, role] :
       std::vector<std::pair<std::string, std::string>>{{"coordinator", ""},
                                                        {"worker", "worker"},
                                                        {"admin", "admin"},
                                                        {"alice", "client"},
                                                        {"bob", "client"},
                                                        {"stranger", ""}}) {
    StatusOr<CurveKeyPair> pair = GenerateCurveKeyPair();
    ASSERT_TRUE(pair.ok()) << pair.status().message();
    mixq::Status saved = SaveCurveKeyPair(*pair, dir() + "/keys/" + name);
    ASSERT_TRUE(saved.ok()) << saved.message();
    if (!role.empty()) allow << role << " " << pair->public_key << " " << name << "\n";
  }
}

std::string Cluster::KeyFile(const std::string& name) const {
  return dir() + "/keys/" + name + ".key";
}

std::string Cluster::CoordinatorKeyFile() const { return dir() + "/keys/coordinator.pub"; }

std::string Cluster::ClientFlags(const std::string& name) const {
  if (options_.ipc) return "";
  if (!curve()) return " --insecure";
  return " --key " + KeyFile(name) + " --coordinator-key " + CoordinatorKeyFile();
}

ClientSecurity Cluster::Security(const std::string& name) const {
  if (!curve()) return {};
  StatusOr<ClientSecurity> security =
      LoadClientSecurity(endpoint_, PeerKeyFiles{KeyFile(name), CoordinatorKeyFile(), false});
  EXPECT_TRUE(security.ok()) << security.status().message();
  return security.ok() ? *security : ClientSecurity{};
}

Cluster::~Cluster() {
  client_.reset();
  for (auto& worker : workers_) worker->Kill(SIGTERM);
  workers_.clear();
  coordinator_.reset();
}

std::string Cluster::cache(int n) const {
  return dir() + (options_.shared_worker_cache ? "/cache" : "/cache" + std::to_string(n));
}

::testing::AssertionResult Cluster::StartCoordinator(std::vector<std::string> extra) {
  coordinator_extra_ = extra;
  // Two coordinators must never share the endpoint and the database.
  coordinator_.reset();
  client_.reset();
  std::vector<std::string> argv = {kBinDir + "/mixq-coordinator", "--bind", endpoint_, "--db",
                                   db()};
  if (options_.test_roots) {
    for (const std::string& root : TestDataRoots(dir())) {
      argv.push_back("--data-root");
      argv.push_back(root);
    }
  }
  if (curve()) {
    argv.insert(argv.end(), {"--key", KeyFile("coordinator"), "--allow", dir() + "/keys/allow"});
  } else if (!options_.ipc) {
    argv.push_back("--insecure");
  }
  argv.insert(argv.end(), options_.coordinator_args.begin(), options_.coordinator_args.end());
  argv.insert(argv.end(), extra.begin(), extra.end());
  ++coordinator_starts_;
  coordinator_ = std::make_unique<Process>(
      argv, dir() + "/coordinator" + std::to_string(coordinator_starts_) + ".log");
  if (!coordinator_->started()) return ::testing::AssertionFailure() << "cannot start " << argv[0];
  // Up when it answers.
  if (!WaitFor([&] { return client().GetStatus(0, milliseconds(500)).ok(); },
               std::chrono::seconds(60))) {
    return ::testing::AssertionFailure() << "the coordinator does not answer\n"
                                         << coordinator_->Log();
  }
  return ::testing::AssertionSuccess();
}

void Cluster::KillCoordinator() {
  coordinator_->Kill(SIGKILL);
  coordinator_->Wait(milliseconds(10000));
  client_.reset();
}

::testing::AssertionResult Cluster::RestartCoordinator() {
  if (coordinator_->running()) KillCoordinator();
  return StartCoordinator(coordinator_extra_);
}

Process* Cluster::AddWorker(std::vector<std::string> extra) {
  const int n = static_cast<int>(workers_.size());
  std::vector<std::string> argv = {
      kBinDir + "/mixq-worker", "--connect", endpoint_, "--threads", "1", "--cache", cache(n)};
  if (curve()) {
    argv.insert(argv.end(),
                {"--key", KeyFile("worker"), "--coordinator-key", CoordinatorKeyFile()});
  } else if (!options_.ipc) {
    argv.push_back("--insecure");
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  workers_.push_back(
      std::make_unique<Process>(argv, dir() + "/worker" + std::to_string(n) + ".log"));
  return workers_.back().get();
}

bool Cluster::WaitForWorkers(int n, milliseconds timeout) {
  return WaitFor([&] { return Status(0).workers() == n; }, timeout);
}

CoordinatorClient& Cluster::client() {
  if (!client_) client_ = std::make_unique<CoordinatorClient>(endpoint_, Security("admin"));
  return *client_;
}

StatusOr<proto::SubmitReply> Cluster::Submit(const std::string& job_yaml,
                                             const std::string& base_dir, milliseconds timeout) {
  return client().Submit(job_yaml, base_dir, timeout);
}

proto::StatusReply Cluster::Status(int64_t job) {
  StatusOr<proto::StatusReply> s = client().GetStatus(job, milliseconds(5000));
  return s.ok() ? *s : proto::StatusReply();
}

bool Cluster::WaitEnded(int64_t job, milliseconds timeout, proto::StatusReply* last) {
  return WaitFor(
      [&] {
        *last = Status(job);
        return !last->state().empty() && last->state() != "running";
      },
      timeout);
}

proto::StatusReply Cluster::WaitDone(int64_t job) {
  proto::StatusReply last;
  EXPECT_TRUE(WaitEnded(job, std::chrono::seconds(90), &last)) << coordinator_->Log();
  EXPECT_EQ(last.state(), "done") << coordinator_->Log();
  return last;
}

StatusOr<std::unique_ptr<SqliteDb>> Cluster::OpenDb() const { return SqliteDb::OpenReadOnly(db()); }

StatusOr<int64_t> Cluster::QueryInt(const std::string& sql, std::optional<int64_t> arg) const {
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, OpenDb());
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<SqliteStatement> stmt, db->Prepare(sql));
  if (arg) stmt->Bind(1, *arg);
  MIXQ_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return Internal(sql + ": no row");
  return stmt->Int(0);
}

int64_t Cluster::Count(const std::string& sql) const {
  StatusOr<int64_t> n = QueryInt(sql);
  EXPECT_TRUE(n.ok()) << n.status().message();
  return n.ok() ? *n : -1;
}

}  // namespace mixq::test
