// Boost.Program_options glue for common/option_number.h, for the programs'
// command lines (`mixq`, mixq-coordinator, mixq-worker): a numeric option is
// declared with its range, read as text and checked by ParseIntegerOption()
// or ParseRealOption() when the command line is parsed, so a bad value throws
// boost::program_options::error (a usage error, exit 2) before anything runs.
// Its default is the target's value when declared and shows in --help as it
// reads (99.99, not 99.989999999999995). Header-only: only programs that
// link Boost.Program_options include it.
#ifndef MIXQ_COMMON_NUMBER_FLAG_H_
#define MIXQ_COMMON_NUMBER_FLAG_H_

#include <boost/program_options.hpp>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include "common/option_number.h"

namespace mixq {

namespace number_flag_internal {

template <typename T>
boost::program_options::typed_value<std::string>* IntegerValue(const std::string& name, T* target,
                                                               IntegerRange range) {
  static_assert(std::is_integral_v<T>);
  return boost::program_options::value<std::string>()->notifier(
      [flag = "--" + name, target, range](const std::string& text) {
        StatusOr<int64_t> value = ParseIntegerOption(flag, text, range);
        if (!value.ok()) throw boost::program_options::error(value.status().message());
        *target = static_cast<T>(*value);
      });
}

inline boost::program_options::typed_value<std::string>* RealValue(const std::string& name,
                                                                   double* target, double lo,
                                                                   double hi) {
  return boost::program_options::value<std::string>()->notifier(
      [flag = "--" + name, target, lo, hi](const std::string& text) {
        StatusOr<double> value = ParseRealOption(flag, text, lo, hi);
        if (!value.ok()) throw boost::program_options::error(value.status().message());
        *target = *value;
      });
}

}  // namespace number_flag_internal

// --`name` (without dashes) into `*target`: an integer in `range`, or a
// finite number in [lo, hi]. The Flag forms take `*target`'s value now as
// the default; the Required forms have none and must be given.
template <typename T>
boost::program_options::typed_value<std::string>* IntegerFlag(const std::string& name, T* target,
                                                              IntegerRange range) {
  const std::string shown = FormatOptionNumber(static_cast<int64_t>(*target));
  return number_flag_internal::IntegerValue(name, target, std::move(range))->default_value(shown);
}

template <typename T>
boost::program_options::typed_value<std::string>* IntegerFlag(const std::string& name, T* target,
                                                              int64_t lo, int64_t hi) {
  return IntegerFlag(name, target, IntegerRange{lo, hi, {}, {}});
}

template <typename T>
boost::program_options::typed_value<std::string>* RequiredIntegerFlag(const std::string& name,
                                                                      T* target, int64_t lo,
                                                                      int64_t hi) {
  return number_flag_internal::IntegerValue(name, target, IntegerRange{lo, hi, {}, {}})->required();
}

inline boost::program_options::typed_value<std::string>* RequiredRealFlag(const std::string& name,
                                                                          double* target, double lo,
                                                                          double hi) {
  return number_flag_internal::RealValue(name, target, lo, hi)->required();
}

inline boost::program_options::typed_value<std::string>* RealFlag(const std::string& name,
                                                                  double* target, double lo,
                                                                  double hi) {
  return number_flag_internal::RealValue(name, target, lo, hi)
      ->default_value(FormatOptionNumber(*target));
}

}  // namespace mixq

#endif  // MIXQ_COMMON_NUMBER_FLAG_H_
