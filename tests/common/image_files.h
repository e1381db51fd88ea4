// Test helpers for the image codec and transforms (common/image_codec.h,
// common/image_transform.h): PIL's own answers, from image_oracle.py run
// once per test process, and builders of small PNG and JPEG files for the
// bad-input tests, which need no Python.
#ifndef MIXQ_TESTS_COMMON_IMAGE_FILES_H_
#define MIXQ_TESTS_COMMON_IMAGE_FILES_H_

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

// jpeglib.h uses FILE and size_t without including their headers.
// clang-format off
#include <cstdio>
#include <jpeglib.h>
// clang-format on

#include "tests/common/data_files.h"

namespace mixq::test {

inline std::vector<uint8_t> ReadAllBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// The files of tests/common/image_oracle.py (see its docstring for the
// manifest), made in a temporary folder the first time a test asks.
class PilOracle {
 public:
  static const PilOracle& Get() {
    static const PilOracle oracle;
    return oracle;
  }

  // Why the files are missing when PIL or Python is (the test skips), or
  // empty.
  const std::string& missing() const { return missing_; }
  // The script's output when it failed for another reason (the test fails),
  // or empty.
  const std::string& failure() const { return failure_; }

  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }

  // The manifest's lines of `kind` ("decode", "resize", ...), split on spaces,
  // without the kind.
  std::vector<std::vector<std::string>> Lines(const std::string& kind) const {
    std::vector<std::vector<std::string>> lines;
    std::istringstream manifest(std::string(manifest_.begin(), manifest_.end()));
    for (std::string line; std::getline(manifest, line);) {
      std::istringstream words(line);
      std::vector<std::string> fields(std::istream_iterator<std::string>(words), {});
      if (fields.empty() || fields[0] != kind) continue;
      fields.erase(fields.begin());
      lines.push_back(fields);
    }
    return lines;
  }

 private:
  PilOracle() {
    const std::string python = "/usr/bin/python3";
    if (access(python.c_str(), X_OK) != 0) {
      missing_ = python + " does not exist";
      return;
    }
    const std::string cmd =
        python + " " + MIXQ_SOURCE_DIR + "/tests/common/image_oracle.py " + dir_.path() + " 2>&1";
    std::string output;
    FILE* pipe = popen(cmd.c_str(), "r");
    if (pipe == nullptr) {
      failure_ = "cannot run " + cmd;
      return;
    }
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) output.append(buf, n);
    const int status = pclose(pipe);
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    while (!output.empty() && output.back() == '\n') output.pop_back();
    if (code == 77) {
      missing_ = output;
    } else if (code != 0) {
      failure_ = cmd + " exited " + std::to_string(code) + ":\n" + output;
    } else {
      manifest_ = ReadAllBytes(Path("manifest.txt"));
    }
  }

  TempDir dir_;
  std::string missing_, failure_;
  std::vector<uint8_t> manifest_;
};

// In a test body: fails if image_oracle.py broke, skips (saying why) if
// /usr/bin/python3 has no PIL.
#define MIXQ_REQUIRE_PIL(oracle)                                                   \
  do {                                                                             \
    if (!(oracle).failure().empty()) FAIL() << (oracle).failure();                 \
    if (!(oracle).missing().empty()) {                                             \
      GTEST_SKIP() << "python3-pil is not installed (scripts/setup installs it): " \
                   << (oracle).missing();                                          \
    }                                                                              \
  } while (0)

// A PNG declaring `width` x `height` at `depth` bits of `color_type`, with
// `rows` (each with its filter byte) deflated into one IDAT. The declared
// size need not match the rows, for headers that lie.
inline std::vector<uint8_t> PngBytes(uint32_t width, uint32_t height, int depth, int color_type,
                                     const std::vector<uint8_t>& rows) {
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  const auto put32 = [&png](uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) png.push_back(static_cast<uint8_t>(v >> shift));
  };
  const auto chunk = [&](const char* kind, const std::vector<uint8_t>& data) {
    put32(static_cast<uint32_t>(data.size()));
    const size_t start = png.size();
    png.insert(png.end(), kind, kind + 4);
    png.insert(png.end(), data.begin(), data.end());
    put32(static_cast<uint32_t>(crc32(0, &png[start], static_cast<uInt>(png.size() - start))));
  };
  std::vector<uint8_t> ihdr;
  for (uint32_t v : {width, height}) {
    for (int shift = 24; shift >= 0; shift -= 8) ihdr.push_back(static_cast<uint8_t>(v >> shift));
  }
  ihdr.insert(ihdr.end(), {static_cast<uint8_t>(depth), static_cast<uint8_t>(color_type), 0, 0, 0});
  chunk("IHDR", ihdr);
  uLongf deflated_size = compressBound(static_cast<uLong>(rows.size()));
  std::vector<uint8_t> deflated(deflated_size);
  EXPECT_EQ(compress(deflated.data(), &deflated_size, rows.data(), static_cast<uLong>(rows.size())),
            Z_OK);
  deflated.resize(deflated_size);
  chunk("IDAT", deflated);
  chunk("IEND", {});
  return png;
}

// An 8-bit RGB PNG of `pixels` (HWC).
inline std::vector<uint8_t> RgbPngBytes(int height, int width, const std::vector<uint8_t>& pixels) {
  std::vector<uint8_t> rows;
  for (int y = 0; y < height; ++y) {
    rows.push_back(0);
    rows.insert(rows.end(), pixels.begin() + y * width * 3, pixels.begin() + (y + 1) * width * 3);
  }
  return PngBytes(width, height, 8, 2, rows);
}

// A JPEG of `pixels` (HWC, `components` per pixel in `space`: JCS_RGB,
// JCS_GRAYSCALE or JCS_CMYK) from libjpeg's encoder at quality 90. The input
// is always valid, so libjpeg's default error handling (exit) never runs.
inline std::vector<uint8_t> JpegBytes(int height, int width, int components, J_COLOR_SPACE space,
                                      const std::vector<uint8_t>& pixels,
                                      bool progressive = false) {
  jpeg_compress_struct info{};
  jpeg_error_mgr errors{};
  info.err = jpeg_std_error(&errors);
  jpeg_create_compress(&info);
  unsigned char* out = nullptr;
  unsigned long out_size = 0;
  jpeg_mem_dest(&info, &out, &out_size);
  info.image_width = static_cast<JDIMENSION>(width);
  info.image_height = static_cast<JDIMENSION>(height);
  info.input_components = components;
  info.in_color_space = space;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, 90, TRUE);
  if (progressive) jpeg_simple_progression(&info);
  jpeg_start_compress(&info, TRUE);
  while (info.next_scanline < info.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(&pixels[info.next_scanline * width * components]);
    jpeg_write_scanlines(&info, &row, 1);
  }
  jpeg_finish_compress(&info);
  jpeg_destroy_compress(&info);
  std::vector<uint8_t> jpeg(out, out + out_size);
  std::free(out);  // libjpeg's malloc
  return jpeg;
}

// A smooth `height` x `width` x `components` test pattern.
inline std::vector<uint8_t> Gradient(int height, int width, int components) {
  std::vector<uint8_t> pixels;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < components; ++c)
        pixels.push_back(static_cast<uint8_t>(x * 3 + y * 2 + c * 40));
    }
  }
  return pixels;
}

}  // namespace mixq::test

#endif  // MIXQ_TESTS_COMMON_IMAGE_FILES_H_
