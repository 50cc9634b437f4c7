#pragma once
// Memory-mapped reader for the safetensors format: an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}}, then raw tensor bytes.
// The files come from strangers, so every field is validated before it is used.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/common/result.h"

namespace dqa::io {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool };

const char* dtypeName(DType dtype);
size_t dtypeSize(DType dtype);

struct TensorEntry {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets into the data section
  uint64_t end = 0;
  int64_t numel() const;
};

struct SafetensorsHeader {
  std::map<std::string, TensorEntry> tensors;
  std::map<std::string, std::string> metadata;
  uint64_t dataOffset = 0;  // where the data section starts in the file
};

// Parses and validates a header against the total file size. Pure function over
// bytes: the fuzz target and the reader share it.
Result<SafetensorsHeader> parseSafetensorsHeader(const uint8_t* bytes, size_t size, uint64_t fileSize);

class SafetensorsFile {
 public:
  static Result<std::shared_ptr<SafetensorsFile>> open(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::map<std::string, TensorEntry>& tensors() const { return header_.tensors; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  const TensorEntry* find(const std::string& name) const;
  // Start of a tensor's bytes inside the mapping (valid while this object lives).
  const void* data(const TensorEntry& entry) const;

 private:
  SafetensorsFile() = default;
  std::string path_;
  SafetensorsHeader header_;
  const uint8_t* map_ = nullptr;
  size_t mapSize_ = 0;
};

// Writes tensors given as raw bytes (used by the trainer and the tests).
struct TensorToWrite {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const void* data;
  size_t nbytes;
};
Status writeSafetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                        const std::map<std::string, std::string>& metadata = {});

// The same file, written tensor by tensor so that a model bigger than memory can be
// converted: the header is written from `specs` first, then `produce(i)` is called once
// per spec, in order, and returns that tensor's bytes (which must stay valid until the
// next call and match the spec's dtype and shape exactly). Written to `path`.partial and
// renamed at the end; on any error the partial file is removed.
struct TensorSpec {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
};
struct TensorBytes {
  const void* data = nullptr;
  size_t nbytes = 0;
};
Status writeSafetensorsStreamed(const std::string& path, const std::vector<TensorSpec>& specs,
                                const std::function<Result<TensorBytes>(size_t index)>& produce,
                                const std::map<std::string, std::string>& metadata = {});

}  // namespace dqa::io
