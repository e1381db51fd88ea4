#include "common/option_number.h"

#include <charconv>
#include <cmath>
#include <system_error>

namespace mixq {
namespace {

Status NotInRange(const std::string& flag, const std::string& text, const char* kind,
                  const std::string& lo, const std::string& hi, const std::string& extra) {
  return InvalidArgument(flag + ": '" + text + "' is not " + kind + " in " + lo + ".." + hi +
                         extra);
}

}  // namespace

std::string FormatOptionNumber(double value) {
  char buf[64];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, r.ptr);
}

std::string FormatOptionNumber(int64_t value) { return std::to_string(value); }

StatusOr<int64_t> ParseIntegerOption(const std::string& flag, const std::string& text,
                                     const IntegerRange& range) {
  const std::string extra =
      range.special ? " (or " + std::to_string(*range.special) + ": " + range.special_means + ")"
                    : "";
  int64_t value = 0;
  const char* end = text.data() + text.size();
  const std::from_chars_result r = std::from_chars(text.data(), end, value);
  const bool whole = !text.empty() && r.ec == std::errc() && r.ptr == end;
  if (whole && range.special && value == *range.special) return value;
  if (!whole || value < range.lo || value > range.hi) {
    return NotInRange(flag, text, "an integer", std::to_string(range.lo), std::to_string(range.hi),
                      extra);
  }
  return value;
}

StatusOr<double> ParseRealOption(const std::string& flag, const std::string& text, double lo,
                                 double hi) {
  double value = 0.0;
  const char* end = text.data() + text.size();
  // from_chars reads "nan" and "inf" too; the range check below refuses them.
  const std::from_chars_result r = std::from_chars(text.data(), end, value);
  const bool whole = !text.empty() && r.ec == std::errc() && r.ptr == end;
  if (!whole || !std::isfinite(value) || value < lo || value > hi) {
    return NotInRange(flag, text, "a number", FormatOptionNumber(lo), FormatOptionNumber(hi), "");
  }
  return value;
}

}  // namespace mixq
