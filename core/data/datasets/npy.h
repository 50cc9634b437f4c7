#pragma once
// NumPy's .npy files, read without numpy: "\x93NUMPY", version, a header length, a
// Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (1,), } and the
// raw array. BAPPS ships its human judgements this way. Little-endian float32/float64
// only (what BAPPS uses); anything else is an error naming the file.
#include <string>
#include <vector>

#include "core/common/result.h"

namespace dqa::data::datasets {

Result<std::vector<double>> readNpy(const std::string& path);
// The same from the file's bytes (`name` for messages).
Result<std::vector<double>> parseNpy(const std::string& bytes, const std::string& name);

}  // namespace dqa::data::datasets
