#include "cli/command_line.h"

#include <algorithm>
#include <sstream>

#include "common/option_number.h"

namespace mixq {

namespace po = boost::program_options;

bool ParseCommandLine(const std::string& command, po::options_description& desc,
                      const std::vector<std::string>& args, std::ostream& out,
                      const po::positional_options_description& positional,
                      po::variables_map* values) {
  desc.add_options()("help,h", "show this help");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).positional(positional).run(), vm);
  if (vm.count("help")) {
    out << "usage: mixq " << command << " [options]\n" << desc;
    return false;
  }
  po::notify(vm);
  if (values != nullptr) *values = std::move(vm);
  return true;
}

bool OptionGiven(const po::variables_map& values, const std::string& name) {
  return values.count(name) > 0 && !values[name].defaulted();
}

int ExitCode(const std::string& command, const Status& status, std::ostream& err) {
  if (status.ok()) return 0;
  err << "mixq " << command << ": " << status.message() << "\n";
  return 1;
}

namespace {

// The comma-separated items of `text`, each read by `parse` (a StatusOr);
// the first refused item, or an empty list, throws.
template <typename T, typename Parse>
std::vector<T> ParseList(const std::string& text, const std::string& flag, Parse parse) {
  std::vector<T> values;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    StatusOr<T> value = parse(item);
    if (!value.ok()) throw po::error(value.status().message());
    values.push_back(*value);
  }
  if (values.empty()) throw po::error(flag + " needs at least one value");
  return values;
}

}  // namespace

std::vector<int64_t> ParseIntList(const std::string& text, const std::string& flag, int64_t lo,
                                  int64_t hi) {
  return ParseList<int64_t>(text, flag, [&](const std::string& item) {
    return ParseIntegerOption(flag, item, IntegerRange{lo, hi, {}, {}});
  });
}

std::vector<double> ParseDoubleList(const std::string& text, const std::string& flag, double lo,
                                    double hi) {
  return ParseList<double>(
      text, flag, [&](const std::string& item) { return ParseRealOption(flag, item, lo, hi); });
}

std::vector<std::string> SplitList(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const std::string& item : items) {
    size_t begin = 0;
    while (begin <= item.size()) {
      const size_t end = std::min(item.find(',', begin), item.size());
      if (end > begin) out.push_back(item.substr(begin, end - begin));
      begin = end + 1;
    }
  }
  return out;
}

}  // namespace mixq
