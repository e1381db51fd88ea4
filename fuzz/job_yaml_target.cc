// Fuzz target: a job file as a client submits it (evaluate, calibrate,
// benchmark, search or compare; schemas/job.md). Relative paths resolve
// against the repository's configs/jobs/, so seeds made from the shipped
// jobs name real datasets and models. A compare file goes through
// ParseCompareSpec, any other through ParseJobSpec and, for a search, its
// search sections through ParseSearchJobSpec; whatever names a dataset has
// that dataset's input shapes looked up, as the coordinator does at submit.
#include <cstdint>
#include <string>

#include "coordinator/job_spec.h"
#include "fuzz/fuzz_check.h"
#include "results/compare_job.h"
#include "search/search_job_spec.h"

namespace {

const std::string kBaseDir = std::string(MIXQ_SOURCE_DIR) + "/configs/jobs";

void ParseJob(const std::string& text) {
  if (mixq::IsCompareJob(text)) {
    auto compare = mixq::ParseCompareSpec(text, kBaseDir, "fuzz.yaml");
    if (!compare.ok()) mixq::fuzz::CheckRefusal(compare.status(), "compare file");
    return;
  }
  auto job = mixq::ParseJobSpec(text, kBaseDir, "fuzz.yaml");
  if (!job.ok()) {
    mixq::fuzz::CheckRefusal(job.status(), "job file");
    return;
  }
  (void)mixq::JobHasInputShapes(*job);
  if (job->kind == "search") {
    auto search = mixq::ParseSearchJobSpec(*job);
    if (!search.ok()) mixq::fuzz::CheckRefusal(search.status(), "search job");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  mixq::fuzz::CatchEscapes([&] { ParseJob(text); });
  return 0;
}
