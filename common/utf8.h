// UTF-8 validity of text that comes from files and peers (ONNX names, which
// the format defines as UTF-8): names end up in JSON output, SQLite text
// and logs, where invalid bytes either throw deep inside a writer or
// corrupt what others read. Checked once where such text enters.
#ifndef MIXQ_COMMON_UTF8_H_
#define MIXQ_COMMON_UTF8_H_

#include <string_view>

namespace mixq {

// True when `text` is well-formed UTF-8 (RFC 3629): no overlong forms, no
// surrogates, nothing above U+10FFFF, no truncated sequence.
bool IsValidUtf8(std::string_view text);

}  // namespace mixq

#endif  // MIXQ_COMMON_UTF8_H_
