#include "cli/engine_options.h"

#include <filesystem>

#include "cli/command_line.h"
#include "common/hardware_info.h"
#include "common/number_flag.h"
#include "engine/runtime/isa.h"

namespace mixq {

namespace po = boost::program_options;

void AddEngineOptions(po::options_description* desc, EngineOptions* engine) {
  desc->add_options()("threads", IntegerFlag("threads", &engine->threads, 0, kMaxThreads),
                      "oneDNN (OpenMP) threads; 0 = OpenMP's default, one per logical CPU")(
      "max-isa", po::value<std::string>(&engine->max_isa)->notifier(CheckIsaList),
      "cap oneDNN's ISA: sse41|avx|avx2|avx2_vnni|avx512_core|avx512_core_vnni|"
      "avx512_core_bf16|avx512_core_amx")(
      "winograd",
      po::value<std::string>()->default_value("on")->notifier([engine](const std::string& v) {
        if (v != "on" && v != "off") throw po::error("--winograd: '" + v + "' is not on or off");
        engine->winograd = v == "on";
      }),
      "FP32 3x3 stride-1 convolutions by mixq's Winograd F(4x4,3x3) kernel where it applies: "
      "on|off (off: oneDNN's direct convolution)");
}

void CheckIsaList(const std::string& list) {
  for (const std::string& name : SplitList({list})) {
    const Status known = CheckIsaName(name);
    if (!known.ok()) throw po::error("--max-isa: " + known.message());
  }
}

void CheckConfigArgument(const std::string& config) {
  std::error_code ec;
  if (config == "bf16" && !std::filesystem::is_regular_file(config, ec)) {
    throw po::error(
        "--config bf16: mixq runs FP32 and INT8 layers only (give fp32, int8 or a "
        "config file)");
  }
}

void AddQuantOptions(po::options_description* desc, QuantArgs* quant) {
  desc->add_options()("config",
                      po::value<std::string>(&quant->config)->notifier(CheckConfigArgument),
                      "precision config: a JSON file, or int8 / fp32 for every layer")(
      "calibration", po::value<std::string>(&quant->calibration),
      "calibration file from mixq calibrate (needed for INT8 layers)")(
      "seven-bit", po::value<std::string>(&quant->seven_bit)->default_value("none"),
      "7-bit weights for non-VNNI CPUs: none|first|all");
}

Status ApplyEngineOptions(const EngineOptions& engine) {
  if (!engine.max_isa.empty()) MIXQ_RETURN_IF_ERROR(SetMaxIsa(engine.max_isa));
  return Status::Ok();
}

}  // namespace mixq
