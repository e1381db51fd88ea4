// The one check of the numbers on a command line, shared by `mixq`'s
// commands, mixq-coordinator and mixq-worker: a value is read whole (no
// trailing text, no unsigned wrap of "-1", no NaN or infinity) and must lie in
// its option's range. Every refusal reads the same way, whatever the option
// and whatever the command:
//
//   --threads: '100000' is not an integer in 0..1024
//   --min-seconds: 'nan' is not a number in 0..86400
//   --count: '0' is not an integer in 1..1000000000 (or -1: all)
//
// Commands turn the refusal into a usage error (exit code 2) before anything
// runs; common/number_flag.h ties these checks to Boost.Program_options.
#ifndef MIXQ_COMMON_OPTION_NUMBER_H_
#define MIXQ_COMMON_OPTION_NUMBER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"

namespace mixq {

// An integer option's range [lo, hi], and optionally one value outside it
// with a meaning of its own (--count's -1 for "all").
struct IntegerRange {
  int64_t lo = 0;
  int64_t hi = 0;
  std::optional<int64_t> special;  // accepted besides [lo, hi]
  std::string special_means;       // what `special` means, for the message
};

// `text` as an integer in `range`; InvalidArgument in the shape above,
// naming `flag`, otherwise.
StatusOr<int64_t> ParseIntegerOption(const std::string& flag, const std::string& text,
                                     const IntegerRange& range);

// `text` as a finite number in [lo, hi]; InvalidArgument otherwise.
StatusOr<double> ParseRealOption(const std::string& flag, const std::string& text, double lo,
                                 double hi);

// How --help shows a default and messages show a bound: the shortest text
// that reads back as the same value (99.99, not 99.989999999999995).
std::string FormatOptionNumber(double value);
std::string FormatOptionNumber(int64_t value);

}  // namespace mixq

#endif  // MIXQ_COMMON_OPTION_NUMBER_H_
