#include "engine/runtime/isa.h"

#include <algorithm>
#include <dnnl.hpp>

namespace mixq {
namespace {

struct IsaName {
  const char* name;
  dnnl::cpu_isa isa;
};

const IsaName kIsas[] = {
    {"sse41", dnnl::cpu_isa::sse41},
    {"avx", dnnl::cpu_isa::avx},
    {"avx2", dnnl::cpu_isa::avx2},
    {"avx2_vnni", dnnl::cpu_isa::avx2_vnni},
    {"avx512_core", dnnl::cpu_isa::avx512_core},
    {"avx512_core_vnni", dnnl::cpu_isa::avx512_core_vnni},
    {"avx512_core_bf16", dnnl::cpu_isa::avx512_core_bf16},
    {"avx512_core_amx", dnnl::cpu_isa::avx512_core_amx},
    {"all", dnnl::cpu_isa::all},
};

}  // namespace

const std::vector<std::string>& IsaNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& i : kIsas) v.push_back(i.name);
    return v;
  }();
  return names;
}

Status CheckIsaName(const std::string& name) {
  const std::vector<std::string>& names = IsaNames();
  if (std::find(names.begin(), names.end(), name) != names.end()) return Status::Ok();
  std::string known;
  for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
  return InvalidArgument("unknown ISA '" + name + "' (one of: " + known + ")");
}

Status SetMaxIsa(const std::string& name) {
  MIXQ_RETURN_IF_ERROR(CheckIsaName(name));
  for (const auto& i : kIsas) {
    if (name != i.name) continue;
    try {
      dnnl::set_max_cpu_isa(i.isa);
    } catch (const dnnl::error& e) {
      return FailedPrecondition("cannot cap oneDNN's ISA at '" + name +
                                "': oneDNN has already fixed its ISA (" + e.what() + ")");
    }
    return Status::Ok();
  }
  return Status::Ok();  // unreachable: CheckIsaName() knows every name of kIsas
}

}  // namespace mixq
