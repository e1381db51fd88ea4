// Writer for NumPy's .npy format, the counterpart of npy_reader.h: version
// 1.0 (2.0 when the header outgrows 1.0's 64 KiB), the dict {'descr': ...,
// 'fortran_order': False, 'shape': (...), } padded with spaces to a 64-byte
// boundary and ended by '\n', then the row-major data, little-endian, as
// numpy.load and npy_reader.h read it. `mixq infer` writes its outputs
// with it.
#ifndef MIXQ_COMMON_NPY_WRITER_H_
#define MIXQ_COMMON_NPY_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/tensor.h"

namespace mixq {

// The .npy bytes of `tensor`: descr '<f4', '<f8', '<f2', '<i8', '<i4', '|i1',
// '|u1' or '|b1' by its dtype.
std::vector<uint8_t> NpyBytes(const Tensor& tensor);

// Writes NpyBytes(tensor) to `path`; NotFound when it cannot be opened,
// DataLoss when the write fails, each naming the path.
Status WriteNpy(const std::string& path, const Tensor& tensor);

}  // namespace mixq

#endif  // MIXQ_COMMON_NPY_WRITER_H_
