#include "core/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

namespace dqa::io {
namespace {

// A header this large is not a model, it is an attack or a broken file.
constexpr uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024;
constexpr size_t kMaxRank = 8;

struct DTypeName {
  const char* name;
  DType dtype;
  size_t size;
};
constexpr DTypeName kDTypes[] = {{"F64", DType::F64, 8},   {"F32", DType::F32, 4}, {"F16", DType::F16, 2},
                                 {"BF16", DType::BF16, 2}, {"I64", DType::I64, 8}, {"I32", DType::I32, 4},
                                 {"I16", DType::I16, 2},   {"I8", DType::I8, 1},   {"U8", DType::U8, 1},
                                 {"BOOL", DType::Bool, 1}};

bool parseDType(const std::string& s, DType* out) {
  for (const auto& d : kDTypes) {
    if (s == d.name) {
      *out = d.dtype;
      return true;
    }
  }
  return false;
}

bool mulOverflows(uint64_t a, uint64_t b, uint64_t* out) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return true;
  *out = a * b;
  return false;
}

Error headerError(const std::string& what) {
  return makeError("invalid safetensors header: " + what +
                   ". The file is damaged or not a safetensors file; re-export or "
                   "re-download the model.");
}

}  // namespace

const char* dtypeName(DType dtype) {
  for (const auto& d : kDTypes)
    if (d.dtype == dtype) return d.name;
  return "?";
}

size_t dtypeSize(DType dtype) {
  for (const auto& d : kDTypes)
    if (d.dtype == dtype) return d.size;
  return 0;
}

int64_t TensorEntry::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Result<SafetensorsHeader> parseSafetensorsHeader(const uint8_t* bytes, size_t size, uint64_t fileSize) {
  if (size < 8 || fileSize < 8) return headerError("file shorter than 8 bytes");
  uint64_t headerLen = 0;
  for (int i = 7; i >= 0; --i) headerLen = (headerLen << 8) | bytes[i];
  if (headerLen > kMaxHeaderBytes)
    return headerError("declared header length " + std::to_string(headerLen) + " bytes is absurd (limit 100 MiB)");
  if (headerLen > fileSize - 8 || headerLen > size - 8)
    return headerError("declared header length " + std::to_string(headerLen) + " exceeds the file size " +
                       std::to_string(fileSize));
  nlohmann::json root = nlohmann::json::parse(bytes + 8, bytes + 8 + headerLen, nullptr,
                                              /*allow_exceptions=*/false);
  if (root.is_discarded()) return headerError("header is not valid JSON");
  if (!root.is_object()) return headerError("header is not a JSON object");

  SafetensorsHeader header;
  header.dataOffset = 8 + headerLen;
  const uint64_t dataSize = fileSize - header.dataOffset;
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) return headerError("__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) return headerError("__metadata__ values must be strings");
        header.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!v.is_object()) return headerError("entry '" + name + "' is not an object");
    TensorEntry e;
    e.name = name;
    auto dt = v.find("dtype");
    if (dt == v.end() || !dt->is_string() || !parseDType(dt->get<std::string>(), &e.dtype))
      return headerError("tensor '" + name + "' has a missing or unknown dtype");
    auto shape = v.find("shape");
    if (shape == v.end() || !shape->is_array() || shape->size() > kMaxRank)
      return headerError("tensor '" + name + "' has a missing or malformed shape");
    uint64_t numel = 1;
    for (const auto& d : *shape) {
      if (!d.is_number_unsigned()) return headerError("tensor '" + name + "' has a negative or non-integer dimension");
      uint64_t dim = d.get<uint64_t>();
      if (dim > (1ull << 40) || mulOverflows(numel, dim, &numel))
        return headerError("tensor '" + name + "' has an absurd shape");
      e.shape.push_back(static_cast<int64_t>(dim));
    }
    auto off = v.find("data_offsets");
    if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned())
      return headerError("tensor '" + name + "' has malformed data_offsets");
    e.begin = (*off)[0].get<uint64_t>();
    e.end = (*off)[1].get<uint64_t>();
    if (e.begin > e.end || e.end > dataSize)
      return headerError("tensor '" + name + "' points outside the file (offsets " + std::to_string(e.begin) + ".." +
                         std::to_string(e.end) + ", data section " + std::to_string(dataSize) +
                         " bytes), as in a truncated download");
    uint64_t nbytes = 0;
    if (mulOverflows(numel, dtypeSize(e.dtype), &nbytes) || nbytes != e.end - e.begin)
      return headerError("tensor '" + name + "' byte size does not match its shape and dtype");
    header.tensors.emplace(name, std::move(e));
  }
  // Overlapping tensors would alias memory: refuse them.
  std::vector<const TensorEntry*> byOffset;
  for (const auto& kv : header.tensors) byOffset.push_back(&kv.second);
  std::sort(byOffset.begin(), byOffset.end(),
            [](const TensorEntry* a, const TensorEntry* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < byOffset.size(); ++i) {
    if (byOffset[i]->begin < byOffset[i - 1]->end)
      return headerError("tensors '" + byOffset[i - 1]->name + "' and '" + byOffset[i]->name + "' overlap");
  }
  return header;
}

Result<std::shared_ptr<SafetensorsFile>> SafetensorsFile::open(const std::string& path) {
  // O_NONBLOCK: a FIFO named *.safetensors must not block open() forever; fstat below
  // refuses everything that is not a regular file (where O_NONBLOCK changes nothing).
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return makeError("cannot open '" + path + "': " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return makeError("'" + path + "' is not a regular file");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    return makeError("'" + path + "' is too short to be a safetensors file (" + std::to_string(size) + " bytes)");
  }
  void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return makeError("cannot map '" + path + "' into memory: " + std::strerror(errno));
  auto header = parseSafetensorsHeader(static_cast<const uint8_t*>(map), size, size);
  if (!header) {
    munmap(map, size);
    return makeError(path + ": " + header.message());
  }
  std::shared_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;
  file->header_ = std::move(header.value());
  file->map_ = static_cast<const uint8_t*>(map);
  file->mapSize_ = size;
  return file;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) munmap(const_cast<uint8_t*>(map_), mapSize_);
}

const TensorEntry* SafetensorsFile::find(const std::string& name) const {
  auto it = header_.tensors.find(name);
  return it == header_.tensors.end() ? nullptr : &it->second;
}

const void* SafetensorsFile::data(const TensorEntry& entry) const { return map_ + header_.dataOffset + entry.begin; }

Status writeSafetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                        const std::map<std::string, std::string>& metadata) {
  std::vector<TensorSpec> specs;
  for (const auto& t : tensors) {
    uint64_t numel = 1;
    for (int64_t d : t.shape) numel *= static_cast<uint64_t>(d);
    if (numel * dtypeSize(t.dtype) != t.nbytes)
      return makeError("writeSafetensors: tensor '" + t.name + "' size does not match its shape");
    specs.push_back({t.name, t.dtype, t.shape});
  }
  return writeSafetensorsStreamed(
      path, specs,
      [&](size_t i) -> Result<TensorBytes> {
        return TensorBytes{tensors[i].data, tensors[i].nbytes};
      },
      metadata);
}

Status writeSafetensorsStreamed(const std::string& path, const std::vector<TensorSpec>& specs,
                                const std::function<Result<TensorBytes>(size_t index)>& produce,
                                const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  std::vector<uint64_t> sizes;
  for (const auto& t : specs) {
    if (t.name.empty() || t.name == "__metadata__" || header.contains(t.name))
      return makeError("writeSafetensors: tensor name '" + t.name + "' is empty, reserved or repeated");
    uint64_t numel = 1;
    for (int64_t d : t.shape) {
      if (d < 0) return makeError("writeSafetensors: tensor '" + t.name + "' has a negative dimension");
      numel *= static_cast<uint64_t>(d);
    }
    sizes.push_back(numel * dtypeSize(t.dtype));
    header[t.name] = {
        {"dtype", dtypeName(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + sizes.back()}}};
    offset += sizes.back();
  }
  std::string text = header.dump();
  while ((text.size() + 8) % 8 != 0) text.push_back(' ');  // keep tensor data aligned
  const std::string tmp = path + ".partial";
  auto failed = [&](std::string message) -> Status {
    std::remove(tmp.c_str());
    return makeError(std::move(message));
  };
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return makeError("cannot write '" + tmp + "'");
    uint64_t n = text.size();
    char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    out.write(len, 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (size_t i = 0; i < specs.size(); ++i) {
      auto bytes = produce(i);
      if (!bytes) return failed(bytes.message());
      if (bytes->nbytes != sizes[i])
        return failed("writeSafetensors: tensor '" + specs[i].name + "' came with " + std::to_string(bytes->nbytes) +
                      " bytes, its shape needs " + std::to_string(sizes[i]));
      out.write(static_cast<const char*>(bytes->data), static_cast<std::streamsize>(bytes->nbytes));
      if (!out) return failed("writing '" + tmp + "' failed (disk full?)");
    }
    out.flush();
    if (!out) return failed("writing '" + tmp + "' failed (disk full?)");
  }
  // Rename last, so an interrupted save never leaves a half-written model behind.
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return failed("cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(errno));
  return Ok{};
}

}  // namespace dqa::io
