#include "cli/command_line.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>

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

// The comma-separated items of `text`, each read by `parse`, which throws for
// an item it refuses; errors name `flag` and say what an item must be.
template <typename T, typename Parse>
std::vector<T> ParseList(const std::string& text, const std::string& flag, const char* must_be,
                         Parse parse) {
  std::vector<T> values;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      values.push_back(parse(item));
    } catch (const std::exception&) {
      throw po::error(flag + ": '" + item + "' is not " + must_be);
    }
  }
  if (values.empty()) throw po::error(flag + " needs at least one value");
  return values;
}

}  // namespace

namespace {

template <typename T>
std::function<void(const T&)> RangeCheck(const std::string& flag, T lo, T hi) {
  return [flag, lo, hi](const T& value) {
    if (!(value >= lo && value <= hi)) {
      std::ostringstream message;
      message << flag << ": " << value << " is not in " << lo << ".." << hi;
      throw boost::program_options::error(message.str());
    }
  };
}

}  // namespace

std::function<void(const int&)> InRange(const std::string& flag, int lo, int hi) {
  return RangeCheck<int>(flag, lo, hi);
}
std::function<void(const int64_t&)> InRange(const std::string& flag, int64_t lo, int64_t hi) {
  return RangeCheck<int64_t>(flag, lo, hi);
}
std::function<void(const double&)> InRange(const std::string& flag, double lo, double hi) {
  return RangeCheck<double>(flag, lo, hi);
}

std::vector<int64_t> ParseIntList(const std::string& text, const std::string& flag) {
  return ParseList<int64_t>(text, flag, "a positive integer", [](const std::string& item) {
    size_t used = 0;
    const long long v = std::stoll(item, &used);
    if (used != item.size() || v <= 0) throw std::invalid_argument(item);
    return static_cast<int64_t>(v);
  });
}

std::vector<double> ParseDoubleList(const std::string& text, const std::string& flag) {
  return ParseList<double>(text, flag, "a number >= 0", [](const std::string& item) {
    size_t used = 0;
    const double v = std::stod(item, &used);
    if (used != item.size() || !(v >= 0.0)) throw std::invalid_argument(item);
    return v;
  });
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
