#include "security/allow_list.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "security/curve_keys.h"

namespace mixq {
namespace {

constexpr size_t kMaxKeys = 100000;
constexpr size_t kMaxFileBytes = 64 << 20;

}  // namespace

const char* RoleName(Role role) {
  switch (role) {
    case Role::kWorker:
      return "worker";
    case Role::kClient:
      return "client";
    case Role::kAdmin:
      return "admin";
  }
  return "?";
}

std::optional<Role> RoleFromName(const std::string& name) {
  for (Role r : {Role::kWorker, Role::kClient, Role::kAdmin}) {
    if (name == RoleName(r)) return r;
  }
  return std::nullopt;
}

StatusOr<AllowList> AllowList::Parse(const std::string& text, const std::string& source) {
  AllowList list;
  std::istringstream lines(text);
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    const std::string where = source + ":" + std::to_string(number);
    // Z85 keys may hold '#': a comment is a line, or a word after the
    // fields, that starts with it.
    std::istringstream words(line);
    std::vector<std::string> fields;
    for (std::string word; words >> word;) {
      if (word[0] == '#' && fields.size() != 1) break;
      fields.push_back(word);
    }
    if (fields.empty()) continue;
    if (fields.size() < 2 || fields.size() > 3) {
      return InvalidArgument(where + ": want 'ROLE PUBLIC_KEY [NAME]'");
    }
    const std::string& role_name = fields[0];
    const std::string& key = fields[1];
    std::string name = fields.size() > 2 ? fields[2] : "";
    const std::optional<Role> role = RoleFromName(role_name);
    if (!role) {
      return InvalidArgument(where + ": unknown role '" + role_name +
                             "' (worker, client or admin)");
    }
    if (!IsCurveKey(key)) {
      return InvalidArgument(where +
                             ": not a Z85 CURVE public key (40 characters; see the .pub "
                             "file mixq keygen wrote)");
    }
    if (list.keys_.count(key)) return InvalidArgument(where + ": key listed twice");
    if (list.keys_.size() >= kMaxKeys) {
      return InvalidArgument(where + ": more than " + std::to_string(kMaxKeys) + " keys");
    }
    if (name.empty()) name = key.substr(0, 8);
    list.keys_[key] = AllowedKey{*role, key, name};
  }
  return list;
}

StatusOr<AllowList> AllowList::Load(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return NotFound(path + ": cannot read the allow-list: " + ec.message());
  if (size > kMaxFileBytes) return InvalidArgument(path + ": allow-list larger than 64 MiB");
  std::ifstream in(path);
  if (!in) return NotFound(path + ": cannot read the allow-list");
  std::stringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

const AllowedKey* AllowList::Find(const std::string& public_key) const {
  auto it = keys_.find(public_key);
  return it == keys_.end() ? nullptr : &it->second;
}

}  // namespace mixq
