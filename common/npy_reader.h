// Reader for NumPy's .npy format, versions 1.0, 2.0 and 3.0: the magic
// "\x93NUMPY", a version, a little-endian header length (uint16 in 1.0,
// uint32 after), a Python dict literal {'descr': '<f4', 'fortran_order':
// False, 'shape': (N, ...), } and the row-major data. Element types read:
// f4, f8, u1, i1, i4, i8, little-endian ('<'), big-endian ('>', swapped on
// read) or byte-sized ('|'). fortran_order True is refused: the readers
// only handle C order. Files may be gzip'd.
#ifndef MIXQ_COMMON_NPY_READER_H_
#define MIXQ_COMMON_NPY_READER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/raw_array.h"
#include "common/status.h"

namespace mixq {

// Parses .npy bytes. Errors: InvalidArgument for a bad magic or header,
// Unimplemented for fortran order or an unsupported descr, DataLoss for a
// truncated (or over-long) file, saying expected and actual bytes. `source`
// names the file in errors. Consumes `bytes` to avoid a copy.
StatusOr<RawArray> ParseNpy(std::vector<uint8_t> bytes, const std::string& source);

// Reads and parses a .npy file, gzip'd or plain.
StatusOr<RawArray> ReadNpy(const std::string& path);

}  // namespace mixq

#endif  // MIXQ_COMMON_NPY_READER_H_
