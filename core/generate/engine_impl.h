#pragma once
// The state behind dqa::Engine, shared by the files that implement its methods
// (engine.cpp: one streamed question; batch.cpp: many small questions at once).
// Internal: includes torch headers, so ui/ must not include it.
#include <memory>

#include "core/generate/engine.h"
#include "core/model/multimodal.h"
#include "core/text/prompt.h"
#include "core/text/tokenizer.h"

namespace dqa {

struct Engine::Impl {
  EngineOptions options;
  ModelInfo info;
  std::shared_ptr<model::MultimodalModel> model;
  std::shared_ptr<const text::Tokenizer> tokenizer;
  text::VerdictTokens verdict;

  // Questions about images need vision, projector, decoder and a tokenizer.
  Status requireMultimodal() const {
    if (!model->hasVision() || !model->hasDecoder() || !model->hasProjector())
      return makeError("the model in '" + options.modelDirectory + "' is a " + info.architecture +
                       " model; answering questions about images needs a multimodal (LLaVA-style) model");
    if (!tokenizer) return makeError("the model has no tokenizer.model; pass one with --tokenizer");
    return Ok{};
  }
};

}  // namespace dqa
