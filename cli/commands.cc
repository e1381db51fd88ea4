#include "cli/commands.h"

#include <boost/program_options.hpp>
#include <exception>
#include <iomanip>

namespace mixq {

const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = {
      {"eval", "accuracy (top-1, top-5) of an ONNX model on a labelled dataset", EvalMain},
      {"infer", "run a model on NPY inputs and write its outputs as NPY files", InferMain},
      {"bench", "latency and throughput of an ONNX model per batch size", BenchMain},
      {"calibrate", "INT8 activation scales from FP32 runs on a dataset slice", CalibrateMain},
      {"profile", "per-layer FP32 and INT8 times", ProfileMain},
      {"export", "a precision config and calibration as a QDQ ONNX model", ExportMain},
      {"search", "the fastest FP32/INT8 config within an accuracy budget, on this machine",
       SearchMain},
      {"run", "run a job file on an embedded coordinator and local workers", RunMain},
      {"submit", "send a job file to a running coordinator", SubmitMain},
      {"status", "show a running coordinator and one of its jobs", StatusMain},
      {"cancel", "cancel a job on a running coordinator", CancelMain},
      {"keygen", "a CURVE key pair for a coordinator, worker or client", KeygenMain},
      {"forget-worker", "forget every result a worker key produced (coordinator stopped)",
       ForgetWorkerMain},
      {"query", "read the results database: best, compare, history, layers, jobs", QueryMain},
      {"report", "one self-contained HTML page of a job's results", ReportMain},
      {"version", "print the version", VersionMain},
  };
  return commands;
}

void PrintUsage(std::ostream& out) {
  out << "mixq - fastest per-layer FP32/INT8 mix of a neural network within an accuracy budget\n"
         "\n"
         "usage: mixq <command> [options]      (mixq <command> --help for its options)\n"
         "\n"
         "commands:\n";
  for (const Command& c : Commands()) {
    out << "  " << std::left << std::setw(14) << c.name << c.summary << "\n";
  }
}

std::optional<int> RunCommand(const std::string& name, const std::vector<std::string>& args,
                              std::ostream& out, std::ostream& err) {
  for (const Command& c : Commands()) {
    if (name != c.name) continue;
    try {
      return c.main(args, out, err);
    } catch (const boost::program_options::error& e) {
      err << "mixq " << name << ": " << e.what() << "\n";
      return 2;
    } catch (const std::exception& e) {
      err << "mixq " << name << ": internal error: " << e.what() << "\n";
      return 1;
    }
  }
  return std::nullopt;
}

int VersionMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  out << "mixq " << MIXQ_VERSION << "\n";
  return 0;
}

}  // namespace mixq
