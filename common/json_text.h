// JSON files that people write (precision configs, calibration files) read
// strictly: a syntax error names its byte offset, and an object that repeats
// a key is refused with the key's path, because nlohmann::json would keep
// one of the values without a word and a config would silently mean
// something else than its text.
#ifndef MIXQ_COMMON_JSON_TEXT_H_
#define MIXQ_COMMON_JSON_TEXT_H_

#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"

namespace mixq {

// Parses `text`. InvalidArgument, starting with `source`, for text that is
// not JSON ("c.json: not valid JSON at byte 17: ...") or that repeats a key
// within one object ("c.json: duplicate key 'layers.conv1'"; the path joins
// the keys of the enclosing objects). Nesting deeper than 256 levels is
// refused before it can exhaust the stack.
StatusOr<nlohmann::json> ParseJsonStrict(const std::string& text, const std::string& source);

}  // namespace mixq

#endif  // MIXQ_COMMON_JSON_TEXT_H_
