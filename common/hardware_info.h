// What a process can tell about its machine without oneDNN: the CPU brand
// string and the host name. (The ISA oneDNN will use lives in worker/, which
// links oneDNN.)
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

}  // namespace mixq

#endif  // MIXQ_COMMON_HARDWARE_INFO_H_
