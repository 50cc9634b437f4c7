#pragma once
// The state behind dqa::Engine, shared by the files that implement its methods
// (engine.cpp: one streamed question; batch.cpp: many small questions at once).
// Internal: includes torch headers, so ui/ must not include it.
#include <array>
#include <memory>

#include "core/generate/engine.h"
#include "core/model/feature_map_cache.h"
#include "core/model/multimodal.h"
#include "core/model/visual_tokens.h"
#include "core/text/prompt.h"
#include "core/text/tokenizer.h"

namespace dqa {

// A preference sentence as the aspect weights of the data engine (all 1 when there is
// none, or when data::parsePreference cannot read it).
std::array<double, 5> preferenceAspectWeights(const std::string& preference);

// The heads' judgement of item `item` of an encoded image, in the public API's terms.
ImageQuality imageQuality(const model::EncodedImage& e, const std::vector<std::string>& typeNames, int64_t item = 0);

struct Engine::Impl {
  EngineOptions options;
  ModelInfo info;
  std::shared_ptr<model::MultimodalModel> model;
  std::shared_ptr<const text::Tokenizer> tokenizer;
  text::VerdictTokens verdict;
  // The encoder's maps of the images asked about last: another question about the same
  // images (or a whole-image assessment of them) does not encode them again.
  model::FeatureMapCache featureMaps;

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
