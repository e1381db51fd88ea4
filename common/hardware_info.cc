#include "common/hardware_info.h"

#include <sched.h>
#include <unistd.h>

#include <fstream>
#include <thread>

namespace mixq {

std::string CpuBrand() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string brand = line.substr(colon + 1);
    const size_t first = brand.find_first_not_of(" \t");
    return first == std::string::npos ? "unknown cpu" : brand.substr(first);
  }
  return "unknown cpu";
}

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

int UsableCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

std::string HardwareClassName(const std::string& cpu_brand, int cores, const std::string& isa) {
  return cpu_brand + " / " + std::to_string(cores) + " cores / " + isa;
}

std::string IsaOfHardwareClass(const std::string& hardware_class) {
  const size_t slash = hardware_class.rfind(" / ");
  return slash == std::string::npos ? "" : hardware_class.substr(slash + 3);
}

}  // namespace mixq
