// Who may talk to a coordinator over TCP, and as what (schemas/keys.md): an
// allow-list file of `ROLE PUBLIC_KEY [NAME]` lines. A worker key may run
// tasks and nothing else; a client key may submit jobs and see and cancel its
// own; an admin key may do what a client may, on every job. A key is listed
// once: one key, one role.
#ifndef MIXQ_SECURITY_ALLOW_LIST_H_
#define MIXQ_SECURITY_ALLOW_LIST_H_

#include <map>
#include <optional>
#include <string>

#include "common/status.h"

namespace mixq {

enum class Role { kWorker, kClient, kAdmin };

// "worker", "client", "admin".
const char* RoleName(Role role);
std::optional<Role> RoleFromName(const std::string& name);

struct AllowedKey {
  Role role = Role::kClient;
  std::string public_key;  // Z85
  std::string name;        // for logs; the key's first 8 characters if not given
};

class AllowList {
 public:
  // Parses the file's text; errors name `source` and the line. At most
  // 100,000 keys.
  static StatusOr<AllowList> Parse(const std::string& text, const std::string& source);
  static StatusOr<AllowList> Load(const std::string& path);

  // The entry of a Z85 public key, or nullptr.
  const AllowedKey* Find(const std::string& public_key) const;
  size_t size() const { return keys_.size(); }

 private:
  std::map<std::string, AllowedKey> keys_;  // by public key
};

}  // namespace mixq

#endif  // MIXQ_SECURITY_ALLOW_LIST_H_
