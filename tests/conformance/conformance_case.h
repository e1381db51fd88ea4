// One case of ONNX's backend test suite (a folder with model.onnx and
// test_data_set_*/{input,output}_*.pb): which ops it uses, and running it
// through mixq's importer, specialiser and executor against the reference
// outputs.
#ifndef MIXQ_TESTS_CONFORMANCE_CONFORMANCE_CASE_H_
#define MIXQ_TESTS_CONFORMANCE_CONFORMANCE_CASE_H_

#include <set>
#include <string>
#include <vector>

#include "common/status.h"

namespace mixq {

struct CaseOps {
  std::set<std::string> ops;  // "Conv", "Relu", or "domain:Op" outside the default domain
  bool has_subgraph = false;  // If/Loop/Scan bodies: never claimed
};

// Reads the op types used by `model_path` without importing it.
StatusOr<CaseOps> ReadCaseOps(const std::string& model_path);

struct Tolerance {
  double rtol = 1e-3;
  double atol = 1e-4;
};

// Runs every test_data_set_* of the case folder `dir`. Integer and rank-0
// graph inputs (shapes, axes, clip bounds) and inputs that mixq compiles ahead
// of time (Conv weights and bias, BatchNormalization parameters, Gemm's C)
// are bound as initializers with the reference values before import. Returns OK
// when every output of every data set matches within `tol`; otherwise an error
// whose message says which output differs where.
Status RunCase(const std::string& dir, const Tolerance& tol);

}  // namespace mixq

#endif  // MIXQ_TESTS_CONFORMANCE_CONFORMANCE_CASE_H_
