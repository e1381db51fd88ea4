// Runs ONNX's backend test cases (Debian's libonnx-testdata) through mixq.
// A case is claimed when every op it uses is in mixq's op set and the case is
// not named in the exceptions file; claimed cases must pass. Every case not
// claimed is listed, with the reason per op, in UNCLAIMED.md; the run fails
// when that file is stale, so the list in the repository is always the truth.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/conformance/conformance_case.h"

namespace fs = std::filesystem;

namespace {

// mixq's op set (issues 2 and 16), as ONNX op types.
// QuantizeLinear/DequantizeLinear are claimed as QDQ annotations (the
// importer reads them, engine/onnx/qdq_import.h maps them); their standalone cases
// are excepted by name too. The ops of issue 16 (engine/ops/) follow
// QuantizeLinear/DequantizeLinear.
const std::set<std::string> kClaimedOps = {"Conv",
                                           "Gemm",
                                           "MatMul",
                                           "BatchNormalization",
                                           "Relu",
                                           "LeakyRelu",
                                           "Clip",
                                           "Sigmoid",
                                           "HardSigmoid",
                                           "HardSwish",
                                           "Tanh",
                                           "Add",
                                           "Sub",
                                           "Mul",
                                           "Div",
                                           "MaxPool",
                                           "AveragePool",
                                           "GlobalAveragePool",
                                           "GlobalMaxPool",
                                           "Flatten",
                                           "Reshape",
                                           "Squeeze",
                                           "Unsqueeze",
                                           "Transpose",
                                           "Concat",
                                           "Softmax",
                                           "LogSoftmax",
                                           "Identity",
                                           "Dropout",
                                           "Constant",
                                           "Shape",
                                           "Gather",
                                           "Cast",
                                           "ConstantOfShape",
                                           "Range",
                                           "Mod",
                                           "ScatterND",
                                           "Pad",
                                           "Slice",
                                           "Split",
                                           "Resize",
                                           "Upsample",
                                           "Expand",
                                           "Tile",
                                           "DepthToSpace",
                                           "SpaceToDepth",
                                           "QuantizeLinear",
                                           "DequantizeLinear",
                                           "Abs",
                                           "Neg",
                                           "Sqrt",
                                           "Reciprocal",
                                           "Exp",
                                           "Log",
                                           "Erf",
                                           "Floor",
                                           "Ceil",
                                           "Round",
                                           "Sin",
                                           "Cos",
                                           "Elu",
                                           "Selu",
                                           "Softplus",
                                           "Gelu",
                                           "Not",
                                           "Pow",
                                           "Min",
                                           "Max",
                                           "Sum",
                                           "Mean",
                                           "Equal",
                                           "Greater",
                                           "GreaterOrEqual",
                                           "Less",
                                           "LessOrEqual",
                                           "And",
                                           "Or",
                                           "Where",
                                           "PRelu",
                                           "ReduceMean",
                                           "ReduceSum",
                                           "ReduceMax",
                                           "ReduceMin",
                                           "ReduceProd",
                                           "ReduceL1",
                                           "ReduceL2",
                                           "ReduceSumSquare",
                                           "ArgMax",
                                           "ArgMin",
                                           "LayerNormalization",
                                           "InstanceNormalization",
                                           "LRN",
                                           "ConvTranspose",
                                           "Einsum"};

const char* kUnsupportedReason =
    "not in mixq's op set (a CNN inference engine for FP32/INT8 mixes)";

struct Options {
  std::string data_root = "/usr/share/libonnx-testdata/data";
  std::vector<std::string> suites = {"node", "pytorch-converted"};
  std::string exceptions;  // file of "case_name<TAB or spaces>reason"
  std::string unclaimed;   // UNCLAIMED.md to check (or write with --write-unclaimed)
  bool write_unclaimed = false;
  std::string filter;
  bool verbose = false;
};

std::map<std::string, std::string> ReadExceptions(const std::string& path) {
  std::map<std::string, std::string> out;
  if (path.empty()) return out;
  std::ifstream in(path);
  if (!in) {
    std::cerr << "onnx_conformance: cannot open exceptions file " << path << "\n";
    std::exit(2);
  }
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string name;
    ls >> name;
    std::string reason;
    std::getline(ls, reason);
    reason.erase(0, reason.find_first_not_of(" \t"));
    out[name] = reason;
  }
  return out;
}

struct Unclaimed {
  std::string suite, name, ops, reason;
};

std::string RenderUnclaimed(const std::vector<Unclaimed>& rows) {
  std::map<std::string, int> per_op;
  for (const auto& r : rows) {
    std::istringstream ops(r.ops);
    std::string op;
    while (std::getline(ops, op, ',')) per_op[op]++;
  }
  std::ostringstream out;
  out << "# ONNX backend test cases that mixq does not claim\n\n"
      << "Generated by `build/tests/onnx_conformance --write-unclaimed` (see "
         "tests/conformance/README.md);\nthe conformance test fails when this file is stale.\n"
      << "Every case not listed here is claimed and must pass (rtol 1e-3, atol 1e-4).\n\n"
      << "## Ops outside mixq's op set\n\n"
      << "Reason for each: " << kUnsupportedReason << ".\n\n| op | cases |\n| --- | --- |\n";
  for (const auto& [op, n] : per_op) out << "| " << op << " | " << n << " |\n";
  out << "\n## Cases of claimed ops, excepted by name\n\n| suite | case | reason |\n| --- | --- | "
         "--- |\n";
  for (const auto& r : rows) {
    if (!r.ops.empty()) continue;
    out << "| " << r.suite << " | " << r.name << " | " << r.reason << " |\n";
  }
  out << "\n## Cases using ops outside the op set\n\n| suite | case | ops not claimed |\n"
      << "| --- | --- | --- |\n";
  for (const auto& r : rows) {
    if (r.ops.empty()) continue;
    out << "| " << r.suite << " | " << r.name << " | " << r.ops << " |\n";
  }
  return out.str();
}

int Usage() {
  std::cerr << "usage: onnx_conformance [--data-root DIR] [--suites node,pytorch-converted]\n"
               "       [--exceptions FILE] [--unclaimed FILE [--write-unclaimed]]\n"
               "       [--filter SUBSTR] [--verbose]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "onnx_conformance: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--data-root")
      opt.data_root = next();
    else if (a == "--suites") {
      opt.suites.clear();
      std::istringstream s(next());
      std::string x;
      while (std::getline(s, x, ',')) opt.suites.push_back(x);
    } else if (a == "--exceptions")
      opt.exceptions = next();
    else if (a == "--unclaimed")
      opt.unclaimed = next();
    else if (a == "--write-unclaimed")
      opt.write_unclaimed = true;
    else if (a == "--filter")
      opt.filter = next();
    else if (a == "--verbose")
      opt.verbose = true;
    else
      return Usage();
  }
  const auto exceptions = ReadExceptions(opt.exceptions);
  std::set<std::string> exceptions_seen;

  int passed = 0, failed = 0;
  std::vector<Unclaimed> unclaimed;
  for (const std::string& suite : opt.suites) {
    fs::path dir = fs::path(opt.data_root) / suite;
    if (!fs::is_directory(dir)) {
      std::cerr << "onnx_conformance: " << dir << " not found (install libonnx-testdata)\n";
      return 2;
    }
    std::vector<fs::path> cases;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.is_directory()) cases.push_back(e.path());
    }
    std::sort(cases.begin(), cases.end());
    for (const fs::path& c : cases) {
      const std::string name = c.filename().string();
      if (!opt.filter.empty() && name.find(opt.filter) == std::string::npos) continue;
      auto ops = mixq::ReadCaseOps((c / "model.onnx").string());
      if (!ops.ok()) {
        std::cout << "FAILED " << suite << "/" << name << ": " << ops.status().message() << "\n";
        ++failed;
        continue;
      }
      std::string missing;
      for (const auto& op : ops->ops) {
        if (!kClaimedOps.count(op)) missing += (missing.empty() ? "" : ",") + op;
      }
      if (ops->has_subgraph && missing.empty()) missing = "(subgraph attribute)";
      auto ex = exceptions.find(name);
      if (ex != exceptions.end()) exceptions_seen.insert(name);
      if (!missing.empty()) {
        unclaimed.push_back({suite, name, missing, kUnsupportedReason});
        continue;
      }
      if (ex != exceptions.end()) {
        unclaimed.push_back({suite, name, "", ex->second});
        continue;
      }
      mixq::Status s = mixq::RunCase(c.string(), mixq::Tolerance{});
      if (s.ok()) {
        ++passed;
        if (opt.verbose) std::cout << "ok     " << suite << "/" << name << "\n";
      } else {
        ++failed;
        std::cout << "FAILED " << suite << "/" << name << ": " << s.ToString() << "\n";
      }
    }
  }
  int status = failed ? 1 : 0;
  if (opt.filter.empty()) {
    for (const auto& [name, reason] : exceptions) {
      if (!exceptions_seen.count(name)) {
        std::cout << "STALE exception (no such case): " << name << "\n";
        status = 1;
      }
    }
  }
  if (!opt.unclaimed.empty() && opt.filter.empty()) {
    std::string want = RenderUnclaimed(unclaimed);
    if (opt.write_unclaimed) {
      std::ofstream(opt.unclaimed) << want;
      std::cout << "wrote " << opt.unclaimed << " (" << unclaimed.size() << " cases)\n";
    } else {
      std::ifstream in(opt.unclaimed);
      std::stringstream have;
      have << in.rdbuf();
      if (have.str() != want) {
        std::cout << "STALE " << opt.unclaimed
                  << ": regenerate it with --write-unclaimed and review the diff\n";
        status = 1;
      }
    }
  }
  std::cout << unclaimed.size() << " cases not claimed (listed in UNCLAIMED.md)\n";
  std::cout << passed << " passed, " << failed << " failed\n";
  return status;
}
