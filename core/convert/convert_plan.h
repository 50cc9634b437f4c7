#pragma once
// The stages of `depictqa convert` (internal, torch): each input is read into a plan (the
// output tensors with their final names, dtypes and shapes, and how to produce the values)
// before anything is written; then the plans are streamed into a temporary directory that
// is renamed into place. depictqa_convert.cpp runs the stages in order:
//
//   convert_sources.cpp   input files as tensor sources; name and shape checks
//   convert_vision.cpp    OpenAI's CLIP ViT archive -> vision_tower.*
//   convert_llm.cpp       the LLaMA directory -> language_model.*, DepictQA's delta
//                         (LoRA + projector), LoRA merged or kept as an adapter
//   convert_output.cpp    safetensors streaming, the temporary directory, rename
#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/common/result.h"
#include "core/convert/depictqa_convert.h"
#include "core/convert/torch_archive.h"
#include "core/io/model_config.h"
#include "core/io/safetensors.h"

namespace dqa::convert::plan {

using Shape = std::vector<int64_t>;

// ---------------------------------------------------------------- sources
bool startsWith(const std::string& s, const std::string& prefix);
bool endsWith(const std::string& s, const std::string& suffix);
std::string shapeStr(const Shape& s);
// "'a', 'b', 'c' and 7 more" for error messages about many names.
std::string someNames(const std::vector<std::string>& names, size_t show = 5);

// Mapping lines with layer numbers collapsed to N, counted, in first-seen order, so that a
// 7B model's mapping prints in a screenful: "...resblocks.N.ln_1.weight -> ... (x24)".
class GroupedLines {
 public:
  void add(const std::string& line);
  std::vector<std::string> lines() const;

 private:
  std::map<std::string, int> counts_;
  std::vector<std::string> order_;
};

// --dtype: keep (Undefined) | f32 | f16 | bf16.
Result<at::ScalarType> parseDtype(const std::string& s);
Result<io::DType> ioDtype(at::ScalarType t);
const char* hfDtypeName(at::ScalarType t);

// One input file with tensors: a torch checkpoint or a safetensors file, read on demand.
struct Source {
  std::string path;
  std::vector<TensorInfo> tensors;
  std::function<Result<at::Tensor>(const std::string&)> load;  // owning, contiguous
};
Source fromCheckpoint(const std::shared_ptr<TorchCheckpoint>& ckpt);
Result<Source> openSafetensors(const std::string& path);

// A tensor of the output: final name, dtype and shape, and how to produce its values.
struct Planned {
  std::string name;
  at::ScalarType dtype;
  Shape shape;
  std::function<Result<at::Tensor>()> make;
};

// The shape a model needs, and floating point; `why` names what needs it.
Status checkTensor(const std::string& file, const TensorInfo& t, const Shape& expected, const std::string& why);
// A tensor loaded from `src`, optionally a row slice [begin, begin + rows), cast to `dtype`.
std::function<Result<at::Tensor>()> loader(const std::shared_ptr<Source>& src, const std::string& name,
                                           at::ScalarType dtype, int64_t begin = 0, int64_t rows = -1);

// ---------------------------------------------------------------- CLIP (OpenAI -> HF)
struct VisionPlan {
  int64_t width = 0, layers = 0, heads = 0, patch = 0, grid = 0, mlp = 0;
  std::vector<Planned> tensors;
};
// `requested` Undefined keeps each tensor's stored dtype.
Result<VisionPlan> planVision(const std::shared_ptr<TorchCheckpoint>& clip, const ConvertOptions& o,
                              at::ScalarType requested, GroupedLines& mapped, GroupedLines& ignored);

// ---------------------------------------------------------------- LLaMA and the delta
// config.json of the LLM -> our text_config (the same object, minus what names the class)
// and its parsed form.
Result<std::pair<nlohmann::json, io::TextConfig>> readLlmConfig(const std::string& dir);

struct LoraModule {
  std::string a, b;  // names in ckpt.pt
  int layer = 0;
  std::string sub, proj;  // "self_attn", "q_proj"
};

struct DeltaPlan {
  std::shared_ptr<Source> src;
  std::map<std::string, LoraModule> lora;  // "model.layers.3.self_attn.q_proj" -> A, B
  int rank = 0;
  std::string projWeight, projBias;  // names in ckpt.pt ("" = absent)
};
Result<DeltaPlan> planDelta(const std::shared_ptr<TorchCheckpoint>& ckpt, const io::TextConfig& text,
                            int64_t visionWidth, GroupedLines& ignored);

// How the delta's LoRA is applied: folded into the LLM's weights (merge) or written as a
// peft adapter; `castTo` gives the output dtype of a stored one.
struct LoraApplication {
  bool merge = false;
  double alpha = 0, scaling = 0;
  std::function<at::ScalarType(at::ScalarType)> castTo;
};

struct LlmPlan {
  std::vector<Planned> tensors;            // language_model.*
  at::ScalarType embedDtype = at::kFloat;  // as stored: the model's dtype in config.json
};
// Every tensor of the LLM directory checked against config.json; LoRA folded in where the
// application says so.
Result<LlmPlan> planLlm(const std::string& llmDirectory, const io::TextConfig& text, const DeltaPlan& delta,
                        const LoraApplication& lora, GroupedLines& mapped, GroupedLines& ignored,
                        const ConvertLog& log);

// ---------------------------------------------------------------- output
namespace fs = std::filesystem;
bool isWithin(const fs::path& inner, const fs::path& outer);
fs::path normalizedDirectory(const std::string& p);
std::string humanBytes(uint64_t b);

// The files of the converted directory, before they are written.
struct OutputPlan {
  std::vector<Planned> model;    // model.safetensors
  std::vector<Planned> adapter;  // adapter/adapter_model.safetensors; empty when merged
  nlohmann::json config, adapterConfig;
  std::string tokenizerPath;
};

// Writes everything into a hidden sibling of `out`, checks it as the Engine will see it,
// then renames it into place (an existing `out` is moved aside first and removed last).
// Adds the tensors and bytes written to `report`.
Status writeModelDirectory(const fs::path& out, const OutputPlan& plan, ConvertReport& report, const ConvertLog& log);

}  // namespace dqa::convert::plan
