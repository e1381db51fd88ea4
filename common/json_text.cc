#include "common/json_text.h"

#include <set>
#include <vector>

namespace mixq {
namespace {

constexpr int kMaxDepth = 256;

// One open object: the keys seen so far and the last one, for paths.
struct OpenObject {
  std::set<std::string> keys;
  std::string last;
};

}  // namespace

StatusOr<nlohmann::json> ParseJsonStrict(const std::string& text, const std::string& source) {
  std::vector<OpenObject> open;
  std::string duplicate;  // the first repeated key's path
  bool too_deep = false;
  const nlohmann::json::parser_callback_t check =
      [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        using Event = nlohmann::json::parse_event_t;
        if (depth > kMaxDepth) too_deep = true;
        if (event == Event::object_start) open.emplace_back();
        if (event == Event::object_end && !open.empty()) open.pop_back();
        if (event == Event::key && !open.empty() && parsed.is_string()) {
          OpenObject& object = open.back();
          object.last = parsed.get<std::string>();
          if (!object.keys.insert(object.last).second && duplicate.empty()) {
            for (const OpenObject& o : open) duplicate += (duplicate.empty() ? "" : ".") + o.last;
          }
        }
        // Keep parsing only while the text is acceptable: a deep or repeated
        // structure is not built any further.
        return !too_deep && duplicate.empty();
      };
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text, check);
  } catch (const nlohmann::json::parse_error& e) {
    if (too_deep || !duplicate.empty()) {
      // The callback's refusal can surface as a parse error of what follows.
    } else {
      std::string message = e.what();
      const size_t colon = message.find("syntax error");
      if (colon != std::string::npos) message = message.substr(colon);
      return InvalidArgument(source + ": not valid JSON at byte " + std::to_string(e.byte) + ": " +
                             message);
    }
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(source + ": not valid JSON: " + e.what());
  }
  if (too_deep) {
    return InvalidArgument(source + ": nested deeper than " + std::to_string(kMaxDepth) +
                           " levels");
  }
  if (!duplicate.empty()) return InvalidArgument(source + ": duplicate key '" + duplicate + "'");
  return doc;
}

}  // namespace mixq
