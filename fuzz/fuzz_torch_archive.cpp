// TorchCheckpoint (core/convert/torch_archive.cpp) over arbitrary bytes as a file: what
// `depictqa convert` does with a checkpoint from a stranger. The zip container is
// libtorch's reader (PyTorchStreamReader, miniz), torch.save's data.pkl our restricted
// unpickler, and a TorchScript archive goes through torch::jit::load; every tensor an
// accepted file lists is then loaded. libtorch itself is Debian's, uninstrumented: a
// crash inside it still shows (SEGV handler, abort, RSS and time limits), but its
// branches do not guide the fuzzer; ours do.
// Besides "no crash, no exception escaping": every refusal names the file, and every
// tensor loaded has the dtype and shape the file listed and owns contiguous memory.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "core/convert/torch_archive.h"

namespace {

// One file per fuzzing process, in memory where /dev/shm exists.
const std::string& scratchPath() {
  static const std::string path = [] {
    char pattern[] = "/dev/shm/fuzz_torch_archive_XXXXXX";
    char fallback[] = "/tmp/fuzz_torch_archive_XXXXXX";
    int fd = mkstemp(pattern);
    if (fd >= 0) {
      close(fd);
      return std::string(pattern);
    }
    fd = mkstemp(fallback);
    if (fd < 0) __builtin_trap();
    close(fd);
    return std::string(fallback);
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using dqa::convert::TorchCheckpoint;
  const std::string& path = scratchPath();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) __builtin_trap();
  if (size && std::fwrite(data, 1, size, f) != size) __builtin_trap();
  std::fclose(f);

  auto opened = TorchCheckpoint::open(path);
  if (!opened) {
    if (opened.message().find(path) == std::string::npos) __builtin_trap();  // names the file
    return 0;
  }
  const TorchCheckpoint& ckpt = *opened.value();
  for (const auto& info : ckpt.tensors()) {
    auto tensor = ckpt.load(info.name);
    if (!tensor) {
      if (tensor.message().find(path) == std::string::npos) __builtin_trap();
      continue;
    }
    const at::Tensor& t = tensor.value();
    if (t.scalar_type() != info.dtype || t.sizes().vec() != info.shape || !t.is_contiguous()) __builtin_trap();
  }
  return 0;
}
