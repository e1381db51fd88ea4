// UTF-8 validity of text that comes from files and peers (ONNX names, which
// the format defines as UTF-8): names end up in JSON output, SQLite text
// and logs, where invalid bytes either throw deep inside a writer or
// corrupt what others read. Checked once where such text enters; error
// messages that quote such text are made one valid line.
#ifndef MIXQ_COMMON_UTF8_H_
#define MIXQ_COMMON_UTF8_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace mixq {

// True when `text` is well-formed UTF-8 (RFC 3629): no overlong forms, no
// surrogates, nothing above U+10FFFF, no truncated sequence.
bool IsValidUtf8(std::string_view text);

// The length of the well-formed UTF-8 sequence at text[at] (1 for ASCII), or
// 0 when the bytes there are not one. `at` < text.size().
size_t Utf8SequenceAt(std::string_view text, size_t at);

// `text` as one line of valid UTF-8: control characters become \n, \t, \r
// or \xNN, and so does each byte of a malformed sequence. Error messages
// quote names and file excerpts from other people; this keeps every message
// one line that JSON, SQLite and a terminal take as it is.
std::string OneLineUtf8(std::string_view text);

}  // namespace mixq

#endif  // MIXQ_COMMON_UTF8_H_
