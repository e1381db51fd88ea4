// The limits on what a command line, a job file or a peer may ask of a mixq
// process, where more than one folder checks them. Each is checked before
// anything is allocated or started, and a refusal is one line naming the
// limit. README.md ("Limits") lists them with the others (kMaxThreads in
// common/hardware_info.h, kMaxTensorElements in common/tensor.h); a limit
// changes by changing its value here and rebuilding.
#ifndef MIXQ_COMMON_RESOURCE_LIMITS_H_
#define MIXQ_COMMON_RESOURCE_LIMITS_H_

#include <cstdint>

namespace mixq {

// The largest batch a command line (--batch) may name: 2^20. A batch whose
// input or activations pass kMaxTensorElements is refused below it, by the
// shape rules, before any buffer exists.
inline constexpr int64_t kMaxBatch = int64_t{1} << 20;

// The most samples a command line may name (--count, --samples, --begin):
// 2^40, past any dataset that fits in memory; a slice past the dataset's
// end is refused against its real size.
inline constexpr int64_t kMaxSamples = int64_t{1} << 40;

// The largest file a job may name (model, dataset file, calibration): 16
// GiB. The coordinator refuses a larger one when the job is submitted, before
// hashing it, and a worker refuses to fetch a blob announced larger.
inline constexpr uint64_t kMaxBlobBytes = uint64_t{16} << 30;

// The most bytes a dataset file may hold once decompressed: 16 GiB (as a
// blob). A gzip stream that inflates past it is refused as it is read.
inline constexpr uint64_t kMaxDataFileBytes = uint64_t{16} << 30;

// ZMQ_MAXMSGSIZE of the worker's and the clients' sockets: 64 MiB, 4 x the
// protocol's default limit on a message (kDefaultMaxMessageBytes). A larger
// frame is refused by ZeroMQ, which drops the connection, before any of it is
// read into memory; Decode() then holds the whole message to its own limit.
// (The coordinator's ROUTER takes 4 x its --max-message-bytes.)
inline constexpr int64_t kPeerMaxFrameBytes = int64_t{64} << 20;

// The most pixels a JPEG or PNG may declare (common/image_codec.h): 2^26,
// 8192 x 8192, 192 MiB as RGB. Checked from the file's header, before the
// decoder allocates anything for the pixels; so is a side of 0.
inline constexpr int64_t kMaxImagePixels = int64_t{1} << 26;

// The largest JPEG or PNG file read: 256 MiB, above an uncompressed 8-bit RGB PNG
// of kMaxImagePixels (192 MiB and its filter bytes), far above a JPEG of it.
// Checked from the file's size before it is read (as it is read where the
// file has no size, such as a pipe).
inline constexpr uint64_t kMaxImageFileBytes = uint64_t{256} << 20;

}  // namespace mixq

#endif  // MIXQ_COMMON_RESOURCE_LIMITS_H_
