#pragma once
// Tensors out of PyTorch's own file formats, for the one-time conversion to safetensors
// (`depictqa convert`); the app itself never opens these files. Internal (torch).
//
// Two formats, both zip archives:
//  - torch.save (PyTorch >= 1.6): data.pkl + data/<key> storage records. data.pkl is
//    read by a small pickle machine of our own that knows only what a state dict needs
//    (core/io/torch_pickle.h, torch-free so that it can be fuzzed); any Python global
//    other than torch's tensor-rebuild functions, storage types and OrderedDict is
//    refused, never called. Storages are read one at a time when a tensor is asked for,
//    so a 10 GB shard is never in memory at once.
//  - TorchScript (torch.jit.save, e.g. OpenAI's CLIP ViT-L-14.pt): its data.pkl (the
//    module tree) is read by the same pickle machine, each module's attributes as a
//    dictionary, so tensors get named_parameters()' names; the archive's code/ is neither
//    compiled nor run (torch::jit::load crashed on a damaged archive: fuzz_torch_archive).
#include <ATen/ATen.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/common/result.h"

namespace dqa::convert {

struct TensorInfo {
  std::string name;
  at::ScalarType dtype = at::kFloat;
  std::vector<int64_t> shape;
};

class TorchCheckpoint {
 public:
  // Reads either format (told apart by the archive's records). A dictionary nested in a
  // torch.save file is flattened with '.'; a single top-level "state_dict" / "model" /
  // "module" entry holding the dictionary is unwrapped. Errors say whether the file is
  // missing, truncated, of the legacy (pre-1.6) format or holds Python objects.
  static Result<std::shared_ptr<TorchCheckpoint>> open(const std::string& path);
  ~TorchCheckpoint();
  TorchCheckpoint(const TorchCheckpoint&) = delete;
  TorchCheckpoint& operator=(const TorchCheckpoint&) = delete;

  const std::string& path() const { return path_; }
  bool torchScript() const { return torchScript_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // in file order
  const TensorInfo* find(const std::string& name) const;
  // The tensor, contiguous, owning its memory (a storage record is read for each call).
  Result<at::Tensor> load(const std::string& name) const;
  // The num_heads attributes of TorchScript submodules, e.g. "visual.transformer.resblocks.0.
  // attn.num_heads" (present when the archive was scripted; traced archives drop them).
  const std::map<std::string, int64_t>& intAttributes() const { return intAttributes_; }
  // Entries that are not tensors (e.g. "epoch" in a training checkpoint): skipped.
  const std::vector<std::string>& skipped() const { return skipped_; }

  struct Impl;

 private:
  TorchCheckpoint() = default;
  std::string path_;
  bool torchScript_ = false;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, int64_t> intAttributes_;
  std::vector<std::string> skipped_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dqa::convert
