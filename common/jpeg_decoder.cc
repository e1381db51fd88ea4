// DecodeJpeg (image_decoders.h) through libjpeg-turbo.
//
// libjpeg reports a fatal error by calling error_exit, which by default
// prints and calls exit(). Ours formats the message and longjmps back to the
// setjmp in the step that called the library (ReadHeader, StartDecompress,
// ReadScanlines). A longjmp skips destructors, so those steps hold nothing
// but plain C data; the C++ objects (the Image, the session that frees
// libjpeg's memory) live in DecodeJpeg, a frame the jump never crosses.
#include <csetjmp>
#include <string>

#include "common/image_decoders.h"

// jpeglib.h uses FILE and size_t without including their headers.
// clang-format off
#include <cstdio>
#include <jpeglib.h>
#include <jerror.h>
// clang-format on

namespace mixq {
namespace {

// libjpeg's error manager (first, so libjpeg's pointer to it is a pointer to
// the whole) with where to jump and why.
struct JpegErrors {
  jpeg_error_mgr base;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool truncated;
};

[[noreturn]] void JumpOnError(j_common_ptr info) {
  JpegErrors* errors = reinterpret_cast<JpegErrors*>(info->err);
  info->err->format_message(info, errors->message);
  std::longjmp(errors->jump, 1);
}

// Warnings (level -1) are damaged data libjpeg repairs, which PIL accepts,
// except one: at the end of the data libjpeg warns, inserts an end marker
// and returns grey for every row not yet decoded. PIL refuses such a file as
// truncated, and so do we. Trace messages (level >= 0) are dropped.
void OnMessage(j_common_ptr info, int level) {
  if (level == -1 && info->err->msg_code == JWRN_JPEG_EOF) {
    reinterpret_cast<JpegErrors*>(info->err)->truncated = true;
    JumpOnError(info);
  }
}

// libjpeg's state for one decode, freed however DecodeJpeg returns.
// jpeg_destroy_decompress is safe on the zeroed struct if creating it
// failed.
struct JpegSession {
  JpegSession() {
    info.err = jpeg_std_error(&errors.base);
    errors.base.error_exit = JumpOnError;
    errors.base.emit_message = OnMessage;
  }
  ~JpegSession() { jpeg_destroy_decompress(&info); }
  JpegSession(const JpegSession&) = delete;
  JpegSession& operator=(const JpegSession&) = delete;

  jpeg_decompress_struct info{};
  JpegErrors errors{};
};

// The steps that call libjpeg. Each returns false when libjpeg failed, with
// errors->message saying why.
bool ReadHeader(jpeg_decompress_struct* info, JpegErrors* errors, const uint8_t* data,
                size_t size) {
  if (setjmp(errors->jump) != 0) return false;
  jpeg_create_decompress(info);
  jpeg_mem_src(info, data, static_cast<unsigned long>(size));
  jpeg_read_header(info, TRUE);
  return true;
}

bool StartDecompress(jpeg_decompress_struct* info, JpegErrors* errors, J_COLOR_SPACE out) {
  if (setjmp(errors->jump) != 0) return false;
  info->out_color_space = out;
  jpeg_start_decompress(info);
  return true;
}

bool ReadScanlines(jpeg_decompress_struct* info, JpegErrors* errors, uint8_t* pixels,
                   size_t row_bytes) {
  if (setjmp(errors->jump) != 0) return false;
  while (info->output_scanline < info->output_height) {
    JSAMPROW row = pixels + info->output_scanline * row_bytes;
    // Only a suspending data source returns no row; ours has all the data.
    if (jpeg_read_scanlines(info, &row, 1) != 1) return false;
  }
  // Reads on to the end marker: a file cut after its last row still fails.
  jpeg_finish_decompress(info);
  return true;
}

Status Failure(const std::string& name, const JpegErrors& errors) {
  if (errors.truncated) return DataLoss(name + ": truncated JPEG (" + errors.message + ")");
  return DataLoss(name + ": corrupt JPEG: " +
                  (errors.message[0] != '\0' ? errors.message : "libjpeg returned no rows"));
}

const char* ColorSpaceName(J_COLOR_SPACE space) {
  switch (space) {
    case JCS_CMYK:
      return "CMYK";
    case JCS_YCCK:
      return "YCCK";
    default:
      return "unknown";
  }
}

}  // namespace

StatusOr<Image> DecodeJpeg(const uint8_t* data, size_t size, const std::string& name,
                           int64_t max_pixels) {
  JpegSession session;
  jpeg_decompress_struct& info = session.info;
  if (!ReadHeader(&info, &session.errors, data, size)) return Failure(name, session.errors);

  // libjpeg converts YCbCr to RGB itself, as it does for PIL; PIL opens a
  // 4-component JPEG as CMYK, which has no single right RGB without a
  // colour profile.
  int64_t channels = 0;
  J_COLOR_SPACE out = JCS_UNKNOWN;
  switch (info.jpeg_color_space) {
    case JCS_GRAYSCALE:
      channels = 1;
      out = JCS_GRAYSCALE;
      break;
    case JCS_YCbCr:
    case JCS_RGB:
      channels = 3;
      out = JCS_RGB;
      break;
    default:
      return Unimplemented(name + ": JPEG in colour space " +
                           ColorSpaceName(info.jpeg_color_space) + " (" +
                           std::to_string(info.num_components) +
                           " components) is not supported; only grey, YCbCr and RGB are");
  }
  MIXQ_RETURN_IF_ERROR(CheckImageDimensions(name, info.image_height, info.image_width, max_pixels));

  if (!StartDecompress(&info, &session.errors, out)) return Failure(name, session.errors);
  if (info.output_components != channels || info.output_width != info.image_width ||
      info.output_height != info.image_height) {
    return Internal(name + ": libjpeg decodes " + std::to_string(info.output_width) + "x" +
                    std::to_string(info.output_height) + "x" +
                    std::to_string(info.output_components) + ", not the header's size");
  }
  Image image;
  image.height = info.output_height;
  image.width = info.output_width;
  image.channels = channels;
  image.pixels.resize(image.height * image.width * channels);
  if (!ReadScanlines(&info, &session.errors, image.pixels.data(),
                     static_cast<size_t>(image.width * channels))) {
    return Failure(name, session.errors);
  }
  return image;
}

}  // namespace mixq
