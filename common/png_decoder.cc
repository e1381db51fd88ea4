// DecodePng (image_decoders.h) through libpng.
//
// libpng reports a fatal error by calling our error function, which keeps
// the message and longjmps (png_longjmp) back to the setjmp in the step that
// called the library (ReadInfo, PrepareRows, ReadRows). A longjmp skips
// destructors, so those steps hold nothing but plain C data; the C++ objects
// (the pixels, the session that frees libpng's memory) live in DecodePng, a
// frame the jump never crosses.
//
// libpng reshapes the rows as PIL's PNG reader does: grey below 8 bits scaled
// to 8 (0, 85, 170, 255 at 2 bits), palette indices unpacked to a byte each,
// 16-bit samples cut to their high byte, alpha dropped. 16-bit grey without
// alpha stays 16-bit here and is clipped to 0..255 afterwards, and palette
// indices are looked up afterwards (PIL's palette beyond the PLTE is grey).
#include <png.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/image_decoders.h"

namespace mixq {
namespace {

struct PngErrors {
  char message[256];
  bool truncated;
};

// The file's bytes, read by libpng through ReadFromMemory.
struct PngSource {
  const uint8_t* data;
  size_t size;
  size_t offset;
};

[[noreturn]] void OnError(png_structp png, png_const_charp message) {
  PngErrors* errors = static_cast<PngErrors*>(png_get_error_ptr(png));
  std::snprintf(errors->message, sizeof errors->message, "%s", message);
  png_longjmp(png, 1);
}

// libpng's warnings are about data it can do without (a bad ancillary
// chunk's CRC, extra compressed bytes), which PIL accepts too; data that
// ends early fails in ReadFromMemory.
void OnWarning(png_structp, png_const_charp) {}

void ReadFromMemory(png_structp png, png_bytep out, size_t length) {
  PngSource* source = static_cast<PngSource*>(png_get_io_ptr(png));
  if (source->size - source->offset < length) {
    static_cast<PngErrors*>(png_get_error_ptr(png))->truncated = true;
    png_error(png, "the file ends early");
  }
  std::memcpy(out, source->data + source->offset, length);
  source->offset += length;
}

// libpng's state for one decode, freed however DecodePng returns.
struct PngSession {
  PngSession(const uint8_t* data, size_t size) : source{data, size, 0} {
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &errors, OnError, OnWarning);
    if (png != nullptr) info = png_create_info_struct(png);
    if (info != nullptr) png_set_read_fn(png, &source, ReadFromMemory);
  }
  ~PngSession() { png_destroy_read_struct(&png, &info, nullptr); }
  PngSession(const PngSession&) = delete;
  PngSession& operator=(const PngSession&) = delete;

  PngErrors errors{};
  PngSource source;
  png_structp png = nullptr;
  png_infop info = nullptr;
};

// The steps that call libpng. Each returns false when libpng failed, with
// the session's errors saying why.
bool ReadInfo(png_structp png, png_infop info) {
  if (setjmp(png_jmpbuf(png)) != 0) return false;
  // libpng's own cap on a side (10^6) would fail first with a message that
  // names no file; CheckImageDimensions gives the limit instead.
  png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
  png_read_info(png, info);
  return true;
}

// Sets the transformations for the IHDR's colour type and bit depth (see
// the top of the file).
bool PrepareRows(png_structp png, png_infop info) {
  if (setjmp(png_jmpbuf(png)) != 0) return false;
  const int color_type = png_get_color_type(png, info);
  const int bit_depth = png_get_bit_depth(png, info);
  if (color_type == PNG_COLOR_TYPE_PALETTE) {
    png_set_packing(png);
  } else if (color_type == PNG_COLOR_TYPE_GRAY) {
    if (bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  } else {
    png_set_strip_16(png);  // the high byte, without rounding
    png_set_strip_alpha(png);
  }
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  return true;
}

bool ReadRows(png_structp png, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png)) != 0) return false;
  png_read_image(png, rows);
  return true;
}

Status Failure(const std::string& name, const PngErrors& errors) {
  if (errors.truncated) return DataLoss(name + ": truncated PNG (" + errors.message + ")");
  return DataLoss(name + ": corrupt PNG: " + errors.message);
}

// The palette as PIL holds it: the PLTE's colours, then grey (i, i, i) for
// every index the PLTE does not reach.
std::vector<uint8_t> PaletteColors(png_structp png, png_infop info) {
  std::vector<uint8_t> colors(256 * 3);
  for (int i = 0; i < 256; ++i) std::fill_n(&colors[i * 3], 3, static_cast<uint8_t>(i));
  png_colorp plte = nullptr;
  int count = 0;
  if (png_get_PLTE(png, info, &plte, &count) != 0) {
    for (int i = 0; i < std::min(count, 256); ++i) {
      colors[i * 3] = plte[i].red;
      colors[i * 3 + 1] = plte[i].green;
      colors[i * 3 + 2] = plte[i].blue;
    }
  }
  return colors;
}

}  // namespace

StatusOr<Image> DecodePng(const uint8_t* data, size_t size, const std::string& name,
                          int64_t max_pixels) {
  PngSession session(data, size);
  if (session.info == nullptr) return Internal(name + ": libpng could not start (out of memory?)");
  if (!ReadInfo(session.png, session.info)) return Failure(name, session.errors);
  png_structp png = session.png;
  png_infop info = session.info;
  MIXQ_RETURN_IF_ERROR(CheckImageDimensions(name, png_get_image_height(png, info),
                                            png_get_image_width(png, info), max_pixels));
  if (!PrepareRows(png, info)) return Failure(name, session.errors);

  const int color_type = png_get_color_type(png, info);
  const bool palette = color_type == PNG_COLOR_TYPE_PALETTE;
  const bool wide_grey = color_type == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) == 16;
  // After the transformations libpng delivers 1 sample per pixel (grey or a
  // palette index) or 3 (RGB), of 2 bytes for 16-bit grey, else 1.
  const int64_t stored_channels = png_get_channels(png, info);
  Image image;
  image.height = png_get_image_height(png, info);
  image.width = png_get_image_width(png, info);
  image.channels = palette ? 3 : stored_channels;
  const size_t row_bytes = png_get_rowbytes(png, info);
  if ((stored_channels != 1 && stored_channels != 3) ||
      row_bytes != static_cast<size_t>(image.width * stored_channels * (wide_grey ? 2 : 1))) {
    return Internal(name + ": libpng delivers rows of " + std::to_string(row_bytes) +
                    " bytes with " + std::to_string(stored_channels) + " samples per pixel for " +
                    std::to_string(image.width) + " pixels");
  }
  const int64_t samples = image.width * image.channels;
  // 8-bit grey and RGB rows are the pixels themselves; palette indices and
  // 16-bit grey go through a buffer of libpng's rows first.
  const bool direct = !palette && !wide_grey;
  std::vector<uint8_t> rows_buffer;
  if (direct) {
    image.pixels.resize(image.height * samples);
  } else {
    rows_buffer.resize(image.height * row_bytes);
  }
  uint8_t* base = direct ? image.pixels.data() : rows_buffer.data();
  std::vector<png_bytep> rows(image.height);
  for (int64_t y = 0; y < image.height; ++y) rows[y] = base + y * row_bytes;
  if (!ReadRows(png, rows.data())) return Failure(name, session.errors);
  if (direct) return image;

  image.pixels.resize(image.height * samples);
  uint8_t* out = image.pixels.data();
  if (palette) {
    const std::vector<uint8_t> colors = PaletteColors(png, info);
    for (int64_t y = 0; y < image.height; ++y) {
      const uint8_t* indices = &rows_buffer[y * row_bytes];
      for (int64_t x = 0; x < image.width; ++x) {
        std::copy_n(&colors[indices[x] * 3], 3, out + (y * image.width + x) * 3);
      }
    }
  } else {
    // Big-endian 16-bit samples; PIL's "I" to "L" clips rather than scales.
    for (int64_t y = 0; y < image.height; ++y) {
      const uint8_t* row = &rows_buffer[y * row_bytes];
      for (int64_t x = 0; x < image.width; ++x) {
        const int value = row[2 * x] << 8 | row[2 * x + 1];
        out[y * image.width + x] = static_cast<uint8_t>(std::min(value, 255));
      }
    }
  }
  return image;
}

}  // namespace mixq
