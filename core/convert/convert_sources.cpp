// Input files as tensor sources, and the checks every tensor passes on its way out.
#include <cctype>

#include "core/convert/convert_plan.h"
#include "core/model/weights.h"

namespace dqa::convert::plan {

bool startsWith(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }
bool endsWith(const std::string& s, const std::string& x) {
  return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}
std::string shapeStr(const Shape& s) { return model::shapeString(s); }

std::string someNames(const std::vector<std::string>& names, size_t show) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < show; ++i) out += (i ? ", '" : "'") + names[i] + "'";
  if (names.size() > show) out += " and " + std::to_string(names.size() - show) + " more";
  return out;
}

namespace {

// Collapses layer numbers ("resblocks.7.") to N.
std::string generalize(const std::string& s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    const bool segmentStart = i == 0 || s[i - 1] == '.';
    const bool segmentEnd = j == s.size() || s[j] == '.' || s[j] == ' ';
    if (j > i && segmentStart && segmentEnd) {
      out += 'N';
      i = j;
    } else {
      out += s[i++];
    }
  }
  return out;
}

bool isFloating(at::ScalarType t) {
  return t == at::kFloat || t == at::kHalf || t == at::kBFloat16 || t == at::kDouble;
}

}  // namespace

void GroupedLines::add(const std::string& line) {
  const std::string g = generalize(line);
  if (counts_[g]++ == 0) order_.push_back(g);
}

std::vector<std::string> GroupedLines::lines() const {
  std::vector<std::string> out;
  for (const auto& g : order_) {
    const int n = counts_.at(g);
    out.push_back(n > 1 ? g + " (x" + std::to_string(n) + ")" : g);
  }
  return out;
}

Result<at::ScalarType> parseDtype(const std::string& s) {
  if (s == "keep" || s.empty()) return at::ScalarType::Undefined;
  if (s == "f32" || s == "float32") return at::kFloat;
  if (s == "f16" || s == "float16") return at::kHalf;
  if (s == "bf16" || s == "bfloat16") return at::kBFloat16;
  return makeError("unknown --dtype '" + s + "' (keep, f32, f16, bf16)");
}

Result<io::DType> ioDtype(at::ScalarType t) {
  switch (t) {
    case at::kFloat:
      return io::DType::F32;
    case at::kHalf:
      return io::DType::F16;
    case at::kBFloat16:
      return io::DType::BF16;
    case at::kDouble:
      return io::DType::F64;
    default:
      return makeError(std::string("cannot store a weight of type ") + c10::toString(t));
  }
}

const char* hfDtypeName(at::ScalarType t) {
  switch (t) {
    case at::kHalf:
      return "float16";
    case at::kBFloat16:
      return "bfloat16";
    case at::kDouble:
      return "float64";
    default:
      return "float32";
  }
}

Source fromCheckpoint(const std::shared_ptr<TorchCheckpoint>& ckpt) {
  return {ckpt->path(), ckpt->tensors(), [ckpt](const std::string& n) { return ckpt->load(n); }};
}

Result<Source> openSafetensors(const std::string& path) {
  auto file = io::SafetensorsFile::open(path);
  if (!file) return file.error();
  auto f = file.value();
  Source s;
  s.path = path;
  for (const auto& [name, e] : f->tensors()) s.tensors.push_back({name, model::toScalarType(e.dtype), e.shape});
  s.load = [f](const std::string& name) -> Result<at::Tensor> {
    const io::TensorEntry* e = f->find(name);
    if (!e) return makeError("'" + f->path() + "' has no tensor '" + name + "'");
    // A copy: the mapping is read-only and goes away with the file.
    return at::from_blob(const_cast<void*>(f->data(*e)), e->shape,
                         at::TensorOptions().dtype(model::toScalarType(e->dtype)))
        .clone();
  };
  return s;
}

Status checkTensor(const std::string& file, const TensorInfo& t, const Shape& expected, const std::string& why) {
  if (t.shape != expected)
    return makeError("'" + file + "': tensor '" + t.name + "' has shape " + shapeStr(t.shape) + ", but " + why +
                     " needs " + shapeStr(expected) + "; the files do not belong together");
  if (!isFloating(t.dtype))
    return makeError("'" + file + "': tensor '" + t.name + "' is stored as " + c10::toString(t.dtype) +
                     ", not floating point; the file is damaged or not a checkpoint of weights");
  return Ok{};
}

std::function<Result<at::Tensor>()> loader(const std::shared_ptr<Source>& src, const std::string& name,
                                           at::ScalarType dtype, int64_t begin, int64_t rows) {
  return [src, name, dtype, begin, rows]() -> Result<at::Tensor> {
    auto t = src->load(name);
    if (!t) return t.error();
    at::Tensor v = rows >= 0 ? t.value().narrow(0, begin, rows) : t.value();
    return v.to(dtype).contiguous();
  };
}

}  // namespace dqa::convert::plan
