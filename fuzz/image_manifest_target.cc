// Fuzz target: the image manifest a coordinator sends its workers for an
// image-folder dataset (common/image_manifest.h ReadImageManifest), the
// whole input one manifest file, read from a scratch file as a worker reads
// the blob.
//
// Checked beyond not crashing: an accepted manifest has an entry per line,
// each with 64 lowercase hex digits, a size no larger than kMaxBlobBytes and
// a label >= 0; FormatImageManifest of its entries reads back to the same
// entries (a name's control characters shown as '?', the writer's rule) and
// formats again to the same text.
//
// Seeds: MIXQ_FUZZ_WRITE_SEEDS=fuzz/corpus/image_manifest
// build/fuzz/replay_image_manifest writes manifests of FormatImageManifest
// and a few broken ones.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/image_manifest.h"
#include "common/resource_limits.h"
#include "common/sha256.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_input.h"

namespace {

bool SameEntry(const mixq::ImageManifestEntry& a, const mixq::ImageManifestEntry& b) {
  return a.sha256 == b.sha256 && a.size == b.size && a.label == b.label && a.name == b.name;
}

// The lines after the first, as std::getline reads them: a last line
// without its newline counts, an empty remainder does not.
size_t LinesAfterFirst(const std::string& text) {
  size_t lines = 0;
  size_t begin = text.find('\n');
  while (begin != std::string::npos && begin + 1 < text.size()) {
    ++lines;
    begin = text.find('\n', begin + 1);
  }
  return lines;
}

void CheckAccepted(mixq::fuzz::ScratchFolder& folder, const std::string& input,
                   const std::vector<mixq::ImageManifestEntry>& entries) {
  MIXQ_FUZZ_CHECK(!entries.empty(), "a manifest accepted without images");
  MIXQ_FUZZ_CHECK(entries.size() == LinesAfterFirst(input),
                  std::to_string(entries.size()) + " entries from " +
                      std::to_string(LinesAfterFirst(input)) + " lines");
  for (const mixq::ImageManifestEntry& e : entries) {
    MIXQ_FUZZ_CHECK(mixq::IsSha256Hex(e.sha256), "an entry's hash is not 64 hex digits");
    MIXQ_FUZZ_CHECK(e.size <= mixq::kMaxBlobBytes && e.label >= 0,
                    "an entry's size or label is out of range");
  }
  const std::string text = mixq::FormatImageManifest(entries);
  auto again = mixq::ReadImageManifest(folder.Write("again.manifest", text));
  MIXQ_FUZZ_CHECK(again.ok(), "a formatted manifest is refused: " + again.status().message());
  MIXQ_FUZZ_CHECK(again->size() == entries.size(), "a formatted manifest changes its length");
  for (size_t i = 0; i < entries.size(); ++i) {
    mixq::ImageManifestEntry shown = entries[i];
    for (char& c : shown.name) {
      if (static_cast<unsigned char>(c) < 0x20) c = '?';
    }
    MIXQ_FUZZ_CHECK(SameEntry((*again)[i], shown),
                    "entry " + std::to_string(i) + " changes on its round trip");
  }
  MIXQ_FUZZ_CHECK(mixq::FormatImageManifest(*again) == text,
                  "a manifest formats to another text the second time");
}

std::vector<std::pair<std::string, std::string>> Seeds() {
  std::vector<mixq::ImageManifestEntry> entries;
  const char* names[] = {"0/a.jpg", "1/b c.png", "1/d.JPEG"};
  for (int i = 0; i < 3; ++i) {
    const std::string bytes = "image " + std::to_string(i);
    entries.push_back({mixq::Sha256Hex(bytes), bytes.size(), i / 2 + (i == 2 ? 7 : 0), names[i]});
  }
  const std::string three = mixq::FormatImageManifest(entries);
  const std::string one = mixq::FormatImageManifest({entries[0]});
  std::string no_newline = one;
  no_newline.pop_back();
  std::string upper_hex = one;
  upper_hex[std::string("mixq-image-manifest 1\n").size()] = 'A';
  return {{"three_images", three},
          {"one_image", one},
          {"no_final_newline", no_newline},
          {"header_only", mixq::FormatImageManifest({})},
          {"upper_hex", upper_hex},
          {"negative_label", "mixq-image-manifest 1\n" + entries[0].sha256 + " 7 -1 x.png\n"},
          {"version_2", "mixq-image-manifest 2\n" + three.substr(three.find('\n') + 1)}};
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  mixq::fuzz::WriteSeedsIfAsked(Seeds());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static mixq::fuzz::ScratchFolder folder;
  folder.Reset();
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::string path = folder.Write("fuzz.manifest", input);
  mixq::fuzz::CatchEscapes([&] {
    auto entries = mixq::ReadImageManifest(path);
    if (!entries.ok()) {
      mixq::fuzz::CheckRefusal(entries.status(), "image manifest");
      return;
    }
    CheckAccepted(folder, input, *entries);
  });
  return 0;
}
