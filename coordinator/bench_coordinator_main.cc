// `bench_coordinator`: drives a real mixq-coordinator process with many
// simulated workers (DEALER sockets in this one process) that answer every
// task at once with a synthetic result, and reports tasks per second (from
// the first assignment until the job is done, i.e. every result committed
// to SQLite) and scheduling latency (a worker's result sent -> its next task
// received). `--transport` picks the wire: a private ipc:// socket, plain
// TCP on loopback (--insecure), or TCP with CURVE (keys made for the run),
// to show what encryption and the ZAP check cost. A benchmark, not a test:
// scripts/bench_coordinator runs it.
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/protocol_codec.h"
#include "coordinator/coordinator_client.h"
#include "security/curve_keys.h"
#include "security/endpoint_security.h"

extern char** environ;

namespace po = boost::program_options;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

struct SimWorker {
  std::unique_ptr<zmq::socket_t> socket;
  Clock::time_point ready_since;  // when it last sent a result (or HELLO)
  Clock::time_point last_sent;
};

void Send(zmq::socket_t& socket, mixq::MessageType type, const google::protobuf::Message& body) {
  std::vector<std::string> frames = mixq::Encode(type, body);
  std::vector<zmq::const_buffer> parts;
  for (const std::string& f : frames) parts.push_back(zmq::buffer(f));
  zmq::send_multipart(socket, parts, zmq::send_flags::dontwait);
}

// A loopback port nobody holds now (another process may take it before the
// coordinator binds it; the coordinator then fails to start, loudly).
int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

int main(int argc, char** argv) {
  int workers = 200;
  int64_t tasks = 10000;
  std::string transport = "ipc";
  std::string bin_dir = fs::read_symlink("/proc/self/exe").parent_path().string();
  std::string source_dir = MIXQ_SOURCE_DIR;
  po::options_description desc("bench_coordinator: coordinator throughput with simulated workers");
  desc.add_options()("help,h", "show this help")(
      "workers", po::value<int>(&workers)->default_value(200), "simulated DEALER workers")(
      "tasks", po::value<int64_t>(&tasks)->default_value(10000),
      "evaluate tasks (one per sample of the Fashion-MNIST test set, at most 10000)")(
      "transport", po::value<std::string>(&transport)->default_value(transport),
      "ipc | tcp (plain, --insecure) | curve (TCP with keys)");
  try {
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, desc), vm);
    if (vm.count("help")) {
      std::cout << desc;
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "bench_coordinator: " << e.what() << "\n";
    return 2;
  }
  if (tasks < 1 || tasks > 10000 || workers < 1 ||
      (transport != "ipc" && transport != "tcp" && transport != "curve")) {
    std::cerr << "bench_coordinator: --tasks must be 1..10000, --workers >= 1 and --transport "
                 "ipc, tcp or curve\n";
    return 2;
  }

  char tmpl[] = "/tmp/mixq-bench-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string endpoint = transport == "ipc"
                                   ? "ipc://" + dir + "/coordinator"
                                   : "tcp://127.0.0.1:" + std::to_string(FreeLoopbackPort());
  const std::string db = dir + "/bench.db";
  // CURVE: a coordinator key, one worker key for every simulated worker and
  // an admin key for the client.
  mixq::ClientSecurity worker_keys, admin_keys;
  std::vector<std::string> security_args;
  if (transport == "curve") {
    std::ofstream allow(dir + "/allow");
    for (const char* name : {"coordinator", "worker", "admin"}) {
      auto pair = mixq::GenerateCurveKeyPair();
      if (!pair.ok() || !mixq::SaveCurveKeyPair(*pair, dir + "/" + name).ok()) {
        std::cerr << "bench_coordinator: cannot make keys in " << dir << "\n";
        return 1;
      }
      if (std::string(name) != "coordinator") allow << name << " " << pair->public_key << "\n";
    }
    allow.close();
    security_args = {"--key", dir + "/coordinator.key", "--allow", dir + "/allow"};
    auto load = [&](const std::string& name) {
      return mixq::LoadClientSecurity(endpoint, mixq::PeerKeyFiles{dir + "/" + name + ".key",
                                                                   dir + "/coordinator.pub", false})
          .value();
    };
    worker_keys = load("worker");
    admin_keys = load("admin");
  } else if (transport == "tcp") {
    security_args = {"--insecure"};
  }
  // Every simulated worker says HELLO from this one process: one address
  // (ipc's is the process), which the coordinator allows 60 a minute.
  security_args.insert(security_args.end(),
                       {"--hellos-per-minute", std::to_string(std::max(60, 2 * workers))});
  // A benchmark on this machine over a private ipc:// socket: its job may
  // read the model and dataset wherever they are installed.
  std::vector<std::string> args = {bin_dir + "/mixq-coordinator",
                                   "--bind",
                                   endpoint,
                                   "--db",
                                   db,
                                   "--data-root",
                                   "/",
                                   "--log-level",
                                   "warn"};
  args.insert(args.end(), security_args.begin(), security_args.end());
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  pid_t coordinator = 0;
  if (posix_spawn(&coordinator, cargs[0], nullptr, nullptr, cargs.data(), environ) != 0) {
    std::cerr << "bench_coordinator: cannot start " << args[0] << "\n";
    return 1;
  }
  auto stop = [&] {
    kill(coordinator, SIGTERM);
    int status = 0;
    waitpid(coordinator, &status, 0);
    std::error_code ec;
    fs::remove_all(dir, ec);
  };

  mixq::CoordinatorClient client(endpoint, admin_keys);
  while (!client.GetStatus(0, std::chrono::milliseconds(500)).ok()) {
  }

  zmq::context_t context;
  std::vector<SimWorker> sims(workers);
  for (int i = 0; i < workers; ++i) {
    sims[i].socket = std::make_unique<zmq::socket_t>(context, zmq::socket_type::dealer);
    sims[i].socket->set(zmq::sockopt::linger, 0);
    mixq::ApplyClientSecurity(sims[i].socket.get(), worker_keys);
    sims[i].socket->connect(endpoint);
    mixq::proto::Hello hello;
    hello.set_protocol_version(mixq::kProtocolVersion);
    hello.set_mixq_version(MIXQ_VERSION);
    hello.set_host("sim");
    hello.set_pid(100000 + i);
    hello.set_threads(1);
    hello.mutable_hardware()->set_cpu_brand("simulated");
    hello.mutable_hardware()->set_cores(1);
    hello.mutable_hardware()->set_isa("none");
    Send(*sims[i].socket, mixq::MessageType::kHello, hello);
    sims[i].ready_since = sims[i].last_sent = Clock::now();
  }

  // Every simulated worker must have joined, or the figures are for fewer.
  // The sockets are not polled yet: their WELCOMEs wait in their queues.
  const auto join_deadline = Clock::now() + std::chrono::seconds(60);
  for (int joined = 0; joined < workers;) {
    auto status = client.GetStatus(0, std::chrono::milliseconds(5000));
    joined = status.ok() ? status->workers() : 0;
    if (joined < workers && Clock::now() > join_deadline) {
      std::cerr << "bench_coordinator: only " << joined << " of " << workers
                << " simulated workers joined within 60 s\n";
      stop();
      return 1;
    }
  }

  const std::string job =
      "name: bench\nmodel: " + source_dir +
      "/models/fm_resnet.onnx\ndata: {evaluation: {dataset: " + source_dir +
      "/configs/datasets/fashion_mnist_test.yaml, shard_size: 1, count: " + std::to_string(tasks) +
      "}}\nbenchmark: {batches: []}\n";
  const auto plan_start = Clock::now();
  auto submitted = client.Submit(job, "", std::chrono::milliseconds(120000));
  if (!submitted.ok() || !submitted->error().empty()) {
    std::cerr << "bench_coordinator: submit failed: "
              << (submitted.ok() ? submitted->error() : submitted.status().message()) << "\n";
    stop();
    return 1;
  }
  const double plan_s = std::chrono::duration<double>(Clock::now() - plan_start).count();

  std::vector<zmq::pollitem_t> items(workers);
  for (int i = 0; i < workers; ++i) {
    items[i] = {static_cast<void*>(*sims[i].socket), 0, ZMQ_POLLIN, 0};
  }
  std::vector<double> latencies_us;
  latencies_us.reserve(tasks);
  Clock::time_point first_assign{};
  int64_t results = 0;
  auto last_status = Clock::now();
  bool done = false;
  mixq::proto::TaskResult result;
  while (!done) {
    zmq::poll(items.data(), items.size(), std::chrono::milliseconds(10));
    const auto now = Clock::now();
    for (int i = 0; i < workers; ++i) {
      if (!(items[i].revents & ZMQ_POLLIN)) continue;
      std::vector<zmq::message_t> parts;
      while (zmq::recv_multipart(*sims[i].socket, std::back_inserter(parts),
                                 zmq::recv_flags::dontwait)) {
        std::vector<std::string> frames;
        for (auto& p : parts) frames.push_back(p.to_string());
        parts.clear();
        mixq::DecodeResult r = mixq::Decode(frames);
        if (!r.ok() || r.message->type != mixq::MessageType::kTaskAssign) continue;
        const auto got = Clock::now();
        if (first_assign == Clock::time_point{}) {
          first_assign = got;
        } else if (sims[i].ready_since > first_assign) {
          latencies_us.push_back(
              std::chrono::duration<double, std::micro>(got - sims[i].ready_since).count());
        }
        const auto& task = r.message->As<mixq::proto::TaskAssign>();
        result.set_task_id(task.task_id());
        result.mutable_eval()->set_samples(task.count());
        result.mutable_eval()->set_correct1(task.count());
        result.mutable_eval()->set_correct5(task.count());
        Send(*sims[i].socket, mixq::MessageType::kTaskResult, result);
        sims[i].ready_since = sims[i].last_sent = Clock::now();
        ++results;
      }
    }
    for (auto& s : sims) {
      if (now - s.last_sent > std::chrono::milliseconds(500)) {
        Send(*s.socket, mixq::MessageType::kHeartbeat, mixq::proto::Heartbeat());
        s.last_sent = now;
      }
    }
    if (results >= tasks && now - last_status > std::chrono::milliseconds(20)) {
      last_status = now;
      auto status = client.GetStatus(submitted->job_id(), std::chrono::milliseconds(5000));
      done = status.ok() && status->state() != "running";
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - first_assign).count();
  std::sort(latencies_us.begin(), latencies_us.end());
  auto pct = [&](double p) {
    return latencies_us.empty()
               ? 0.0
               : latencies_us[std::min(latencies_us.size() - 1,
                                       static_cast<size_t>(p * latencies_us.size()))];
  };
  auto final_status = client.GetStatus(submitted->job_id(), std::chrono::milliseconds(5000));
  std::printf("transport          %s (%s)\n", transport.c_str(), endpoint.c_str());
  std::printf("workers            %d simulated DEALER sockets\n", workers);
  std::printf("tasks              %lld (planned in %.2f s)\n", static_cast<long long>(tasks),
              plan_s);
  std::printf("committed          %lld results in SQLite, job %s\n",
              static_cast<long long>(final_status.ok() ? final_status->tasks_done() : -1),
              final_status.ok() ? final_status->state().c_str() : "?");
  std::printf("throughput         %.0f tasks/s (first assignment to job done)\n", tasks / seconds);
  std::printf("scheduling latency p50 %.0f us, p99 %.0f us, max %.0f us\n", pct(0.50), pct(0.99),
              latencies_us.empty() ? 0.0 : latencies_us.back());
  stop();
  rusage self{}, children{};
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &children);
  auto cpu = [](const rusage& u) {
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
  };
  std::printf("cpu seconds        coordinator %.2f, simulated workers %.2f (whole run)\n",
              cpu(children), cpu(self));
  return 0;
}
