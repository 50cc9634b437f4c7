#pragma once
// A loaded model directory: CLIP vision encoder + projector + LLaMA decoder (LLaVA
// layout), or only one of them (CLIPVisionModel, LlamaForCausalLM). Immutable after
// load: per-run state (KV cache, captured attention) lives in the session.
#include <ATen/ATen.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/io/model_config.h"
#include "core/io/model_dir.h"
#include "core/model/clip_vision.h"
#include "core/model/llama.h"
#include "core/model/projector.h"
#include "core/model/quality_encoder.h"

namespace dqa::text {
class Tokenizer;
}

namespace dqa::model {

struct ModelLoadOptions {
  at::Device device = at::kCPU;
  at::ScalarType dtype = at::kFloat;
  std::string adapterDirectory;  // overrides an adapter found inside the model directory
  bool mergeLora = true;         // fold LoRA into the weights (faster); false keeps it separate
  bool requireTokenizer = false;
  // Overrides max_position_embeddings (0: keep). RoPE decoders run past their trained
  // length, with degrading quality; useful for test models with short configs.
  int contextLength = 0;
};

class MultimodalModel {
 public:
  static Result<std::shared_ptr<MultimodalModel>> load(const std::string& directory,
                                                       const ModelLoadOptions& options = {});

  const io::ModelConfig& config() const { return config_; }
  const io::ModelFiles& files() const { return files_; }
  bool hasVision() const { return vision_.has_value() || quality_.has_value(); }
  bool hasClipVision() const { return vision_.has_value(); }
  bool hasQualityEncoder() const { return quality_.has_value(); }
  bool hasDecoder() const { return decoder_.has_value(); }
  bool hasProjector() const { return projector_.has_value(); }
  const ClipVisionEncoder& vision() const { return *vision_; }        // hasClipVision()
  const QualityEncoder& qualityEncoder() const { return *quality_; }  // hasQualityEncoder()
  const LlamaDecoder& decoder() const { return *decoder_; }
  const Projector& projector() const { return *projector_; }
  std::shared_ptr<const text::Tokenizer> tokenizer() const { return tokenizer_; }
  at::Device device() const { return options_.device; }
  at::ScalarType dtype() const { return options_.dtype; }
  int64_t parameterCount() const { return parameters_; }

  // CLIP: visual tokens in the decoder's space for one or more images of equal size:
  // pixels [N, C, H, W] -> [N, tokens, textHidden]. (The quality encoder's tokens need
  // every image of the prompt at once: model::encodeImages, visual_tokens.h.)
  at::Tensor imageEmbeddings(const at::Tensor& pixels) const;

  // Mutable access for training; names are the LLaVA layout this model saves in.
  QualityEncoder& mutableQualityEncoder() { return *quality_; }
  LlamaDecoder& mutableDecoder() { return *decoder_; }
  Projector& mutableProjector() { return *projector_; }
  NamedParameters namedParameters();

 private:
  io::ModelConfig config_;
  io::ModelFiles files_;
  ModelLoadOptions options_;
  std::optional<ClipVisionEncoder> vision_;
  std::optional<QualityEncoder> quality_;
  std::optional<Projector> projector_;
  std::optional<LlamaDecoder> decoder_;
  std::shared_ptr<const text::Tokenizer> tokenizer_;
  int64_t parameters_ = 0;
};

// The first prefix in `candidates` under which `store` holds `probe`, or "" if none.
std::string findPrefix(const WeightStore& store, const std::vector<std::string>& candidates, const std::string& probe);

}  // namespace dqa::model
