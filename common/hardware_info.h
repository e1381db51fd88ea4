// What a process can tell about its machine without oneDNN: the CPU brand
// string and the host name; and the names of hardware classes, under which
// results are filed. (The ISA oneDNN will use lives in engine/runtime/isa.h,
// which links oneDNN.)
#ifndef MIXQ_COMMON_HARDWARE_INFO_H_
#define MIXQ_COMMON_HARDWARE_INFO_H_

#include <string>

namespace mixq {

// "model name" of the first processor in /proc/cpuinfo; "unknown cpu" if absent.
std::string CpuBrand();
// gethostname(), or "localhost" if it fails.
std::string HostName();
// Logical CPUs this process may run on (sched_getaffinity), at least 1.
int UsableCores();

// The most oneDNN (OpenMP) threads a mixq process may run: OpenMP starts
// every thread asked for before anything checks them (20,000 hung a command,
// 100,000 crashed it in libgomp). Commands, workers and the coordinator's
// HELLO check all hold to it.
inline constexpr int kMaxThreads = 1024;

// A hardware class's name, "<cpu brand> / <cores> cores / <isa>": same
// CPU, core count and effective ISA give the same numbers.
std::string HardwareClassName(const std::string& cpu_brand, int cores, const std::string& isa);
// The ISA part of a class name, or "" for a name of another form.
std::string IsaOfHardwareClass(const std::string& hardware_class);

}  // namespace mixq

#endif  // MIXQ_COMMON_HARDWARE_INFO_H_
