// `mixq keygen NAME`: a CURVE key pair for a coordinator, a worker or a
// client (schemas/keys.md): NAME.key (private, mode 0600) and NAME.pub,
// and the allow-list line that admits it.
#include <boost/program_options.hpp>
#include <filesystem>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "security/allow_list.h"
#include "security/curve_keys.h"

namespace mixq {
namespace {

namespace po = boost::program_options;

Status Keygen(const std::string& name, const std::string& role, std::ostream& out) {
  if (name.empty()) return InvalidArgument("give the key's NAME (writes NAME.key and NAME.pub)");
  if (!RoleFromName(role)) {
    return InvalidArgument("--role must be worker, client or admin, not '" + role + "'");
  }
  MIXQ_ASSIGN_OR_RETURN(CurveKeyPair pair, GenerateCurveKeyPair());
  MIXQ_RETURN_IF_ERROR(SaveCurveKeyPair(pair, name));
  const std::string label = std::filesystem::path(name).filename().string();
  out << "wrote " << name << ".key (keep it private) and " << name << ".pub\n"
      << "allow-list line: " << role << " " << pair.public_key << " " << label << "\n";
  return Status::Ok();
}

}  // namespace

int KeygenMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string name, role = "worker";
  po::options_description desc("mixq keygen NAME: a CURVE key pair, NAME.key and NAME.pub");
  desc.add_options()("name", po::value<std::string>(&name), "path prefix of the two files")(
      "role", po::value<std::string>(&role)->default_value(role),
      "worker|client|admin: only for the allow-list line printed");
  po::positional_options_description positional;
  positional.add("name", 1);
  if (!ParseCommandLine("keygen", desc, args, out, positional)) return 0;
  return ExitCode("keygen", Keygen(name, role, out), err);
}

}  // namespace mixq
