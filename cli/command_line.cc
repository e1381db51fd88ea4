#include "cli/command_line.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>

namespace mixq {

namespace po = boost::program_options;

bool ParseCommandLine(const std::string& command, po::options_description& desc,
                      const std::vector<std::string>& args, std::ostream& out,
                      const po::positional_options_description& positional) {
  desc.add_options()("help,h", "show this help");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).positional(positional).run(), vm);
  if (vm.count("help")) {
    out << "usage: mixq " << command << " [options]\n" << desc;
    return false;
  }
  po::notify(vm);
  return true;
}

int ExitCode(const std::string& command, const Status& status, std::ostream& err) {
  if (status.ok()) return 0;
  err << "mixq " << command << ": " << status.message() << "\n";
  return 1;
}

std::vector<int64_t> ParseIntList(const std::string& text, const std::string& flag) {
  std::vector<int64_t> values;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      long long v = std::stoll(item, &used);
      if (used != item.size() || v <= 0) throw std::invalid_argument(item);
      values.push_back(v);
    } catch (const std::exception&) {
      throw po::error(flag + ": '" + item + "' is not a positive integer");
    }
  }
  if (values.empty()) throw po::error(flag + " needs at least one value");
  return values;
}

std::vector<double> ParseDoubleList(const std::string& text, const std::string& flag) {
  std::vector<double> values;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      const double v = std::stod(item, &used);
      if (used != item.size() || !(v >= 0.0)) throw std::invalid_argument(item);
      values.push_back(v);
    } catch (const std::exception&) {
      throw po::error(flag + ": '" + item + "' is not a number >= 0");
    }
  }
  if (values.empty()) throw po::error(flag + " needs at least one value");
  return values;
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
