#pragma once
// `depictqa convert`: the published DepictQA-Wild files -> one model directory that the
// Engine loads unchanged (LLaVA layout, safetensors). Done once; the app never opens
// pickled files itself (they can run code when Python loads them).
//
// Inputs, as DepictQA's experiments/*/config.yaml names them:
//   vision_encoder_path  OpenAI CLIP ViT-L-14.pt (TorchScript archive, `visual.*` names;
//                        a torch.save state dict with the same names works too)
//   llm_path             Vicuna-7B in Hugging Face layout: config.json, *.safetensors
//                        (+ index) or pytorch_model*.bin (+ index), tokenizer.model
//   delta_path           DepictQA's ckpt.pt: LoRA A/B (peft names) + vision_proj
// Output: config.json (LLaVA: CLIP's last layer, CLS dropped, linear projector),
// model.safetensors, tokenizer.model and, unless the LoRA is merged, adapter/ (peft).
// Torch-free header: the CLI includes it.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/common/result.h"

namespace dqa::convert {

struct ConvertOptions {
  std::string clipPath;         // ViT-L-14.pt
  std::string llmDirectory;     // vicuna-7b-v1.5/
  std::string deltaPath;        // ckpt.pt
  std::string outputDirectory;  // created; must not exist or be empty unless `force`
  std::string tokenizerPath;    // default: <llmDirectory>/tokenizer.model
  // LoRA scaling is alpha / rank. The rank is read from the tensors; ckpt.pt does not
  // record alpha. <= 0: alpha = rank (DepictQA's configs: r 16, alpha 16).
  double loraAlpha = 0;
  bool mergeLora = false;      // W += (alpha / r) B A in float32, instead of adapter/
  bool force = false;          // replace an existing non-empty output directory
  std::string dtype = "keep";  // keep (each tensor as stored) | f32 | f16 | bf16
  int visionHeads = 0;         // 0: from the archive, else OpenAI's rule width / 64
};

struct ConvertReport {
  std::string outputDirectory;
  std::vector<std::string> mapped;   // "source pattern -> target pattern (xN)", grouped
  std::vector<std::string> ignored;  // "source pattern (xN): why", grouped
  int visionWidth = 0, visionLayers = 0, visionHeads = 0, patchSize = 0, imageSize = 0;
  int textHidden = 0, textLayers = 0, vocabSize = 0;
  int loraRank = 0, loraModules = 0;  // modules: q/k/v/o of every layer = 4 x layers
  double loraAlpha = 0;
  bool loraMerged = false;
  int64_t tensorsWritten = 0;
  uint64_t bytesWritten = 0;
};

// Progress lines ("reading ...", "writing ...") for a person watching a long run.
using ConvertLog = std::function<void(const std::string&)>;

// Checks every input and every tensor's name and shape before writing anything, then
// streams the weights tensor by tensor into a temporary directory next to the output
// and renames it into place. Memory: one tensor at a time from pickles and safetensors,
// plus CLIP's TorchScript module (~0.9 GB for ViT-L/14 in float16).
Result<ConvertReport> convertDepictQA(const ConvertOptions& options, const ConvertLog& log = {});

}  // namespace dqa::convert
