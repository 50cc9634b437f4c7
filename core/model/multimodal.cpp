#include "core/model/multimodal.h"

#include "core/model/visual_tokens.h"
#include "core/text/tokenizer.h"

namespace dqa::model {

std::string findPrefix(const WeightStore& store, const std::vector<std::string>& candidates, const std::string& probe) {
  for (const auto& c : candidates)
    if (store.has(c + probe)) return c;
  return "\x01";  // not found marker (an empty prefix is a valid answer)
}

namespace {
bool found(const std::string& prefix) { return prefix != "\x01"; }
}  // namespace

Result<std::shared_ptr<MultimodalModel>> MultimodalModel::load(const std::string& directory,
                                                               const ModelLoadOptions& options) {
  auto files = io::discoverModelFiles(directory);
  if (!files) return files.error();
  auto config = io::loadModelConfig(files->configPath);
  if (!config) return config.error();
  auto store = WeightStore::open(files->weightFiles);
  if (!store) return store.error();

  auto model = std::shared_ptr<MultimodalModel>(new MultimodalModel());
  model->config_ = config.value();
  if (options.contextLength > 0) model->config_.text.maxPositions = options.contextLength;
  model->files_ = files.value();
  model->options_ = options;
  const LoadContext ctx{&store.value(), options.dtype, options.device};
  const auto& cfg = model->config_;
  try {
    if (cfg.architecture == io::Architecture::Llava && cfg.vision.kind == io::VisionKind::QualityConv) {
      if (!store->hasPrefix("vision_tower.stem."))
        return makeError(directory +
                         ": config.json describes a quality encoder but no vision_tower.stem weights were found");
      auto q = QualityEncoder::load(ctx, cfg.vision, "vision_tower.");
      if (!q) return makeError(directory + ": " + q.message());
      model->quality_ = std::move(q.value());
    } else if (cfg.architecture != io::Architecture::Llama) {
      const std::string prefix = findPrefix(store.value(),
                                            {"", "vision_model.", "vision_tower.vision_model.", "vision_tower.",
                                             "model.vision_tower.vision_model.", "model.vision_tower."},
                                            "embeddings.patch_embedding.weight");
      if (!found(prefix))
        return makeError(directory + ": no CLIP vision weights (embeddings.patch_embedding.weight) found");
      auto v = ClipVisionEncoder::load(ctx, cfg.vision, prefix);
      if (!v) return makeError(directory + ": " + v.message());
      model->vision_ = std::move(v.value());
    }
    if (cfg.architecture != io::Architecture::ClipVision) {
      std::string prefix, head;
      if (cfg.architecture == io::Architecture::Llama) {
        prefix = "model.";
        head = "lm_head.weight";
      } else if (store->has("language_model.model.embed_tokens.weight")) {
        prefix = "language_model.model.";
        head = "language_model.lm_head.weight";
      } else {
        prefix = "model.language_model.";
        head = "lm_head.weight";
      }
      auto d = LlamaDecoder::load(ctx, cfg.text, prefix, head);
      if (!d) return makeError(directory + ": " + d.message());
      model->decoder_ = std::move(d.value());
    }
    if (cfg.architecture == io::Architecture::Llava) {
      const std::string prefix =
          findPrefix(store.value(), {"multi_modal_projector.", "model.multi_modal_projector."}, "linear_1.weight");
      if (!found(prefix)) return makeError(directory + ": no projector weights (multi_modal_projector.linear_1) found");
      const int64_t qualityFeatures = model->quality_ ? qualityTokenFeatureCount(cfg.vision) : 0;
      auto p = Projector::load(ctx, cfg.projector, cfg.vision.hiddenSize, cfg.text.hiddenSize, prefix, qualityFeatures);
      if (!p) return makeError(directory + ": " + p.message());
      model->projector_ = std::move(p.value());
    }
  } catch (const c10::Error& e) { return makeError(directory + ": loading failed: " + e.what_without_backtrace()); }
  auto unused = store->unusedNames();
  // Only the vision tower's unused post-LN / feature layers past the selected one may be left.
  for (const auto& n : unused) {
    const bool visionLeftover =
        n.find("post_layernorm") != std::string::npos ||
        (cfg.architecture == io::Architecture::Llava && n.find("encoder.layers.") != std::string::npos);
    if (!visionLeftover)
      return makeError(directory + ": weight '" + n + "' is not used by a " + cfg.modelType +
                       " model as config.json describes it; the files do not belong together");
  }
  const std::string adapterDir = options.adapterDirectory.empty() ? files->adapterDirectory : options.adapterDirectory;
  if (!adapterDir.empty()) {
    if (!model->decoder_) return makeError("a LoRA adapter was given but the model has no decoder");
    auto ok = io::checkAdapterDirectory(adapterDir);
    if (!ok) return ok.error();
    auto lc = io::loadLoraConfig(adapterDir + "/adapter_config.json");
    if (!lc) return lc.error();
    auto adapter = WeightStore::open({adapterDir + "/adapter_model.safetensors"});
    if (!adapter) return adapter.error();
    auto applied = model->decoder_->applyLora(adapter.value(), lc.value(), options.mergeLora);
    if (!applied) return makeError(adapterDir + ": " + applied.message());
  }
  if (!files->tokenizerPath.empty()) {
    auto tok = text::Tokenizer::load(files->tokenizerPath);
    if (!tok) return makeError(directory + ": " + tok.message());
    model->tokenizer_ = tok.value();
  } else if (options.requireTokenizer) {
    return makeError(directory + ": tokenizer.model is missing; this model cannot read text");
  }
  model->parameters_ = store->totalElements();
  return model;
}

NamedParameters MultimodalModel::namedParameters() {
  NamedParameters out;
  const bool llava = config_.architecture == io::Architecture::Llava;
  if (vision_) {
    auto v = vision_->namedParameters(llava ? "vision_tower." : "");
    out.insert(out.end(), v.begin(), v.end());
  }
  if (quality_) {
    auto q = quality_->namedParameters("vision_tower.");
    out.insert(out.end(), q.begin(), q.end());
  }
  if (projector_) {
    auto p = projector_->namedParameters("multi_modal_projector.");
    out.insert(out.end(), p.begin(), p.end());
  }
  if (decoder_) {
    auto d = llava ? decoder_->namedParameters("language_model.model.", "language_model.lm_head.weight")
                   : decoder_->namedParameters("model.", "lm_head.weight");
    out.insert(out.end(), d.begin(), d.end());
  }
  return out;
}

at::Tensor MultimodalModel::imageEmbeddings(const at::Tensor& pixels) const {
  at::Tensor features = vision_->features(pixels.to(options_.device, options_.dtype));  // [N, tokens, Dv]
  return projector_ ? (*projector_)(features) : features;                               // [N, tokens, Dt]
}

}  // namespace dqa::model
