// Test helpers for the dataset readers: a self-deleting temporary folder and
// builders that write real IDX, NPY and gzip files from bytes the tests
// spell out, so every reader test runs on files made independently of the
// code under test.
#ifndef MIXQ_TESTS_COMMON_DATA_FILES_H_
#define MIXQ_TESTS_COMMON_DATA_FILES_H_

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace mixq::test {

// A fresh folder under the system temp dir, removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "mixq_data_XXXXXX").string();
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    dir_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return dir_; }
  // `name` inside the folder; creates parent folders.
  std::string Path(const std::string& name) const {
    const std::filesystem::path p = std::filesystem::path(dir_) / name;
    std::filesystem::create_directories(p.parent_path());
    return p.string();
  }

 private:
  std::string dir_;
};

inline void WriteBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

inline void WriteText(const std::string& path, const std::string& text) {
  WriteBytes(path, std::vector<uint8_t>(text.begin(), text.end()));
}

inline std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void WriteGzip(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  if (!bytes.empty()) {
    ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
  }
  ASSERT_EQ(gzclose(f), Z_OK);
}

// Decompresses a gzip file in one go (the test's own reading, apart from
// the reader under test).
inline std::vector<uint8_t> Gunzip(const std::string& path) {
  std::vector<uint8_t> out;
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) return out;
  uint8_t buf[65536];
  int n;
  while ((n = gzread(f, buf, sizeof(buf))) > 0) out.insert(out.end(), buf, buf + n);
  gzclose(f);
  return out;
}

inline void AppendBigEndianU32(std::vector<uint8_t>* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<uint8_t>(v >> shift));
}

// An IDX file: magic 0x0000<type><rank>, big-endian dims, then `payload`
// (already big-endian for multi-byte types).
inline std::vector<uint8_t> IdxBytes(uint8_t type, const std::vector<uint32_t>& dims,
                                     const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> out = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) AppendBigEndianU32(&out, d);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

// A PNG file (8-bit grey when channels is 1, RGB when 3) of `pixels` (rows
// top to bottom, channels interleaved), written by the test's own encoder:
// zlib's deflate and CRC, no filtering. Decoders under test read it
// independently of how it was made.
inline std::vector<uint8_t> PngBytes(int width, int height, int channels,
                                     const std::vector<uint8_t>& pixels) {
  std::vector<uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  auto chunk = [&out](const char* kind, const std::vector<uint8_t>& body) {
    AppendBigEndianU32(&out, static_cast<uint32_t>(body.size()));
    std::vector<uint8_t> typed(kind, kind + 4);
    typed.insert(typed.end(), body.begin(), body.end());
    out.insert(out.end(), typed.begin(), typed.end());
    AppendBigEndianU32(
        &out, static_cast<uint32_t>(crc32(0, typed.data(), static_cast<uInt>(typed.size()))));
  };
  std::vector<uint8_t> header;
  AppendBigEndianU32(&header, static_cast<uint32_t>(width));
  AppendBigEndianU32(&header, static_cast<uint32_t>(height));
  header.insert(header.end(), {8, static_cast<uint8_t>(channels == 3 ? 2 : 0), 0, 0, 0});
  chunk("IHDR", header);
  std::vector<uint8_t> rows;
  const size_t row = static_cast<size_t>(width) * channels;
  for (int y = 0; y < height; ++y) {
    rows.push_back(0);  // filter: none
    rows.insert(rows.end(), pixels.begin() + y * row, pixels.begin() + (y + 1) * row);
  }
  uLongf packed_size = compressBound(static_cast<uLong>(rows.size()));
  std::vector<uint8_t> packed(packed_size);
  compress(packed.data(), &packed_size, rows.data(), static_cast<uLong>(rows.size()));
  packed.resize(packed_size);
  chunk("IDAT", packed);
  chunk("IEND", {});
  return out;
}

// The little-endian bytes of `values` (the host's order on x86-64).
template <typename T>
std::vector<uint8_t> LittleEndianBytes(const std::vector<T>& values) {
  std::vector<uint8_t> out(values.size() * sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

// An NPY file of format `major`.0 with header dict `dict` (padded with spaces
// and a newline to a multiple of 64 bytes, as numpy writes it) and `payload`.
inline std::vector<uint8_t> NpyBytes(const std::string& dict, const std::vector<uint8_t>& payload,
                                     int major = 1) {
  const size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(major), 0};
  const size_t len = header.size();
  out.push_back(static_cast<uint8_t>(len));
  out.push_back(static_cast<uint8_t>(len >> 8));
  if (major != 1) {
    out.push_back(static_cast<uint8_t>(len >> 16));
    out.push_back(static_cast<uint8_t>(len >> 24));
  }
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

// Writes an NPY 1.0 file of `values` as `descr` ('<i8', '<f4', ...) and
// `shape` (a Python tuple, "(3, 4)").
template <typename T>
void WriteNpy(const std::string& path, const std::string& descr, const std::string& shape,
              const std::vector<T>& values) {
  WriteBytes(
      path, NpyBytes("{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }",
                     LittleEndianBytes(values)));
}

}  // namespace mixq::test

#endif  // MIXQ_TESTS_COMMON_DATA_FILES_H_
