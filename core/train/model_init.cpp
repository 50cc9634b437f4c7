#include "core/train/model_init.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <cmath>

#include "core/data/kadid.h"
#include "core/io/safetensors.h"
#include "core/model/multimodal.h"
#include "core/model/quality_encoder.h"
#include "core/model/visual_tokens.h"
#include "core/train/model_io.h"

namespace dqa::train {
namespace {
int channels(const ModelShape& s) { return s.earlyFusion ? 3 * static_cast<int>(s.inputFeatures.size()) : 3; }

std::vector<std::string> typeNames(const ModelShape& s) {
  if (!s.distortionTypes.empty()) return s.distortionTypes;
  std::vector<std::string> names{"none"};
  for (int t = 1; t <= data::kNumTypes; ++t) names.push_back(data::typeInfo(t).name);
  return names;
}

nlohmann::json qualityVisionJson(const ModelShape& s) {
  nlohmann::json j = {{"model_type", "depictqa_quality_encoder"},
                      {"stage_widths", s.stageWidths},
                      {"stage_blocks", s.stageBlocks},
                      {"input_features", s.qualityInputs},
                      {"max_token_grid", s.maxTokenGrid},
                      {"head_width", s.headWidth},
                      {"distortion_types", typeNames(s)},
                      {"image_size", s.imageSize},
                      {"patch_size", 16},
                      {"hidden_size", s.stageWidths.empty() ? 0 : s.stageWidths.back()},
                      {"pair_scale", 3.0},
                      {"aspect_scores", s.aspectScores}};
  // Written only where it differs from the default, so the recipe's config.json is the
  // same as before the option existed.
  if (s.aspectScoreWidth > 0) j["aspect_score_width"] = s.aspectScoreWidth;
  return j;
}

std::string modelConfigJsonClip(const ModelShape& s) {
  nlohmann::json vision = {{"model_type", "clip_vision_model"},
                           {"hidden_size", s.visionWidth},
                           {"intermediate_size", s.visionMlp},
                           {"num_hidden_layers", s.visionLayers},
                           {"num_attention_heads", s.visionHeads},
                           {"image_size", s.imageSize},
                           {"patch_size", s.patchSize},
                           {"num_channels", channels(s)},
                           {"hidden_act", "quick_gelu"},
                           {"layer_norm_eps", 1e-5}};
  nlohmann::json text = {{"model_type", "llama"},
                         {"vocab_size", s.vocabSize},
                         {"hidden_size", s.width},
                         {"intermediate_size", s.mlp},
                         {"num_hidden_layers", s.layers},
                         {"num_attention_heads", s.heads},
                         {"num_key_value_heads", s.kvHeads},
                         {"head_dim", s.width / s.heads},
                         {"max_position_embeddings", s.contextLength},
                         {"rms_norm_eps", 1e-6},
                         {"rope_theta", 10000.0},
                         {"bos_token_id", 1},
                         {"eos_token_id", 2},
                         {"hidden_act", "silu"},
                         {"tie_word_embeddings", false}};
  nlohmann::json cfg = {{"architectures", {"LlavaForConditionalGeneration"}},
                        {"model_type", "llava"},
                        {"projector_type", "linear"},
                        {"multimodal_projector_bias", true},
                        {"vision_feature_layer", -1},
                        {"vision_feature_select_strategy", "default"},
                        {"vision_early_fusion", s.earlyFusion},
                        {"vision_input_features", s.earlyFusion ? s.inputFeatures : std::vector<std::string>{"image"}},
                        {"image_token_index", -1},
                        {"vision_config", vision},
                        {"text_config", text},
                        {"dtype", "float32"},
                        // The data engine's photos are loaded as sRGB (core/image).
                        {"working_colour_space", "sRGB"}};
  return cfg.dump(2);
}

}  // namespace

std::string modelConfigJson(const ModelShape& s) {
  if (s.visionKind == "quality") {
    nlohmann::json cfg = nlohmann::json::parse(modelConfigJsonClip(s));
    cfg["vision_config"] = qualityVisionJson(s);
    cfg.erase("vision_input_features");
    cfg["vision_early_fusion"] = true;
    return cfg.dump(2);
  }
  return modelConfigJsonClip(s);
}

Status writeInitialModel(const ModelShape& s, const std::string& dir, uint64_t seed) {
  if (s.visionKind != "quality" && s.visionKind != "clip")
    return makeError("unknown vision encoder kind '" + s.visionKind + "' (quality, clip)");
  if (s.visionKind == "clip")
    for (const auto& name : s.inputFeatures)
      if (auto f = io::parseVisionInputFeature(name); !f) return f.error();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return makeError("cannot create '" + dir + "': " + ec.message());
  at::Generator gen = at::detail::createCPUGenerator(seed);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  auto normal = [&](const std::string& name, std::vector<int64_t> shape, double stdev) {
    tensors.emplace_back(name, at::empty(shape, at::kFloat).normal_(0.0, stdev, gen));
  };
  auto constant = [&](const std::string& name, std::vector<int64_t> shape, double value) {
    tensors.emplace_back(name, at::full(shape, value, at::kFloat));
  };
  if (s.visionKind == "quality") {
    auto cfg = io::parseModelConfig(modelConfigJson(s));
    if (!cfg) return cfg.error();
    // He initialisation for GELU stacks; the second convolution of each residual block
    // starts small so that every block begins close to the identity.
    for (const auto& [name, shape] : model::QualityEncoder::weightShapes(cfg->vision)) {
      const std::string full = "vision_tower." + name;
      if (name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0) {
        constant(full, shape, 0.0);
        continue;
      }
      int64_t fanIn = 1;
      for (size_t i = 1; i < shape.size(); ++i) fanIn *= shape[i];
      double stdev = std::sqrt(2.0 / double(fanIn));
      if (name.find(".second.") != std::string::npos) stdev *= 0.1;
      // The heads' outputs start small; their hidden layers keep He's rule.
      if (name.rfind("heads.", 0) == 0 && name.find("hidden") == std::string::npos) stdev = 0.01;
      normal(full, shape, stdev);
    }
    const int64_t D = cfg->vision.hiddenSize, F = model::qualityTokenFeatureCount(cfg->vision);
    normal("multi_modal_projector.linear_1.weight", {s.width, D}, 0.02);
    constant("multi_modal_projector.linear_1.bias", {s.width}, 0.0);
    normal("multi_modal_projector.quality_token.weight", {s.width, F}, 0.02);
    constant("multi_modal_projector.quality_token.bias", {s.width}, 0.0);
  } else {
    const int64_t D = s.visionWidth, C = channels(s), P = s.patchSize, G = s.imageSize / s.patchSize;
    const std::string v = "vision_tower.";
    normal(v + "embeddings.class_embedding", {D}, 0.02);
    normal(v + "embeddings.patch_embedding.weight", {D, C, P, P}, 0.02);
    normal(v + "embeddings.position_embedding.weight", {1 + G * G, D}, 0.02);
    constant(v + "pre_layrnorm.weight", {D}, 1.0);
    constant(v + "pre_layrnorm.bias", {D}, 0.0);
    // Residual branches start small so that a deep stack begins close to identity.
    const double visionOut = 0.02 / std::sqrt(2.0 * s.visionLayers);
    for (int i = 0; i < s.visionLayers; ++i) {
      const std::string p = v + "encoder.layers." + std::to_string(i) + ".";
      for (const char* n : {"layer_norm1", "layer_norm2"}) {
        constant(p + n + ".weight", {D}, 1.0);
        constant(p + n + ".bias", {D}, 0.0);
      }
      for (const char* n : {"q_proj", "k_proj", "v_proj"}) {
        normal(p + "self_attn." + n + ".weight", {D, D}, 0.02);
        constant(p + "self_attn." + n + ".bias", {D}, 0.0);
      }
      normal(p + "self_attn.out_proj.weight", {D, D}, visionOut);
      constant(p + "self_attn.out_proj.bias", {D}, 0.0);
      normal(p + "mlp.fc1.weight", {s.visionMlp, D}, 0.02);
      constant(p + "mlp.fc1.bias", {s.visionMlp}, 0.0);
      normal(p + "mlp.fc2.weight", {D, s.visionMlp}, visionOut);
      constant(p + "mlp.fc2.bias", {D}, 0.0);
    }
    constant(v + "post_layernorm.weight", {D}, 1.0);
    constant(v + "post_layernorm.bias", {D}, 0.0);
    normal("multi_modal_projector.linear_1.weight", {s.width, D}, 0.02);
    constant("multi_modal_projector.linear_1.bias", {s.width}, 0.0);
  }
  const int64_t H = s.width, hd = s.width / s.heads, kv = int64_t(s.kvHeads) * hd;
  const std::string t = "language_model.model.";
  const double textOut = 0.02 / std::sqrt(2.0 * s.layers);
  normal(t + "embed_tokens.weight", {s.vocabSize, H}, 0.02);
  for (int i = 0; i < s.layers; ++i) {
    const std::string p = t + "layers." + std::to_string(i) + ".";
    constant(p + "input_layernorm.weight", {H}, 1.0);
    constant(p + "post_attention_layernorm.weight", {H}, 1.0);
    normal(p + "self_attn.q_proj.weight", {int64_t(s.heads) * hd, H}, 0.02);
    normal(p + "self_attn.k_proj.weight", {kv, H}, 0.02);
    normal(p + "self_attn.v_proj.weight", {kv, H}, 0.02);
    normal(p + "self_attn.o_proj.weight", {H, int64_t(s.heads) * hd}, textOut);
    normal(p + "mlp.gate_proj.weight", {s.mlp, H}, 0.02);
    normal(p + "mlp.up_proj.weight", {s.mlp, H}, 0.02);
    normal(p + "mlp.down_proj.weight", {H, s.mlp}, textOut);
  }
  constant(t + "norm.weight", {H}, 1.0);
  normal("language_model.lm_head.weight", {s.vocabSize, H}, 0.02);

  std::vector<io::TensorToWrite> out;
  for (auto& [name, tensor] : tensors) {
    tensor = tensor.contiguous();
    out.push_back({name, io::DType::F32, tensor.sizes().vec(), tensor.data_ptr(), size_t(tensor.nbytes())});
  }
  auto ok = io::writeSafetensors(dir + "/model.safetensors", out, {{"format", "pt"}});
  if (!ok) return ok;
  std::ofstream cfg(dir + "/config.json");
  cfg << modelConfigJson(s) << "\n";
  if (!cfg) return makeError("cannot write '" + dir + "/config.json'");
  return Ok{};
}

namespace {

// The model in `from`, if it has a quality encoder with a quality token (only such a model
// has an aspect-score head).
Result<std::shared_ptr<model::MultimodalModel>> modelWithQualityToken(const std::string& from) {
  auto loaded = model::MultimodalModel::load(from, {});
  if (!loaded) return loaded.error();
  const model::MultimodalModel& m = *loaded.value();
  if (!m.hasQualityEncoder() || !m.hasProjector() || !m.projector().hasQualityToken())
    return makeError("'" + from +
                     "' has no quality encoder with a quality token; only such a model takes an "
                     "aspect-score head");
  return loaded.value();
}

// Fresh weights of the per-aspect score head `vision` describes: its own GELU layer on the
// pooled map (aspect_score_width > 0, He's rule) or none, then 5 outputs that start small
// around the typical label.
void appendFreshAspectScoreHead(const io::VisionConfig& vision, uint64_t seed,
                                std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  int64_t inputs = vision.headWidth;
  if (vision.aspectScoreWidth > 0) {
    const int64_t pooled = 2 * int64_t(vision.stageWidths.at(3));  // QualityEncoder::pool: [N, 2D]
    inputs = vision.aspectScoreWidth;
    tensors.emplace_back("vision_tower.heads.aspect_scores_hidden.weight",
                         at::empty({inputs, pooled}, at::kFloat).normal_(0.0, std::sqrt(2.0 / double(pooled)), gen));
    tensors.emplace_back("vision_tower.heads.aspect_scores_hidden.bias", at::zeros({inputs}, at::kFloat));
  }
  tensors.emplace_back("vision_tower.heads.aspect_scores.weight",
                       at::empty({5, inputs}, at::kFloat).normal_(0.0, 0.01, gen));
  // Most aspects of most images are undistorted (label 4.6, i.e. 1.6 after the - 3).
  tensors.emplace_back("vision_tower.heads.aspect_scores.bias", at::full({5}, 1.5, at::kFloat));
}

std::string tokenizerOf(const model::MultimodalModel& m) {
  const std::string tokenizer = m.files().tokenizerPath;
  return std::filesystem::exists(tokenizer) ? tokenizer : "";
}

}  // namespace

Status addAspectScoreHead(const std::string& from, const std::string& directory, uint64_t seed) {
  auto loaded = modelWithQualityToken(from);
  if (!loaded) return loaded.error();
  model::MultimodalModel& m = *loaded.value();
  const io::VisionConfig& vision = m.config().vision;
  if (vision.aspectScores) return makeError("'" + from + "' already has an aspect-score head");
  io::VisionConfig grown = vision;
  grown.aspectScores = true;
  // Quality-token features (visual_tokens.cpp): [hidden, score, aspects, types, pair]
  // become [hidden, score, aspects, types, aspect scores (5), pair, weighted pair (3)].
  const int64_t before = int64_t(vision.headWidth) + 1 + 15 + int64_t(vision.distortionTypes.size());
  const int64_t oldCount = model::qualityTokenFeatureCount(vision), newCount = model::qualityTokenFeatureCount(grown);
  const int64_t addedInside = 5, addedAtEnd = newCount - oldCount - addedInside;
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (auto& [name, t] : m.namedParameters()) {
    at::Tensor w = t->detach().to(at::kFloat);
    if (name == "multi_modal_projector.quality_token.weight") {
      if (w.dim() != 2 || w.size(1) != oldCount)
        return makeError("'" + from + "': the quality-token linear has " + std::to_string(w.size(-1)) +
                         " inputs where the config implies " + std::to_string(oldCount));
      const int64_t width = w.size(0);  // [width, oldCount] -> [width, newCount]
      w = at::cat({w.narrow(1, 0, before), at::zeros({width, addedInside}), w.narrow(1, before, oldCount - before),
                   at::zeros({width, addedAtEnd})},
                  1);
    }
    tensors.emplace_back(name, w.contiguous());
  }
  appendFreshAspectScoreHead(grown, seed, tensors);
  return writeModelDirectory(tensors, m.files().configPath, {{"aspect_scores", true}}, tokenizerOf(m), directory);
}

Status freshAspectScoreHead(const std::string& from, const std::string& directory, int width, uint64_t seed) {
  if (width < 0 || width > 4096)
    return makeError("an aspect-score layer width must be 0 to 4096, got " + std::to_string(width));
  auto loaded = modelWithQualityToken(from);
  if (!loaded) return loaded.error();
  model::MultimodalModel& m = *loaded.value();
  io::VisionConfig fresh = m.config().vision;
  if (!fresh.aspectScores)
    return makeError("'" + from + "' has no aspect-score head to replace; add one first (--add-aspect-scores)");
  fresh.aspectScoreWidth = width;
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (auto& [name, t] : m.namedParameters())
    if (name.rfind("vision_tower.heads.aspect_scores", 0) != 0)
      tensors.emplace_back(name, t->detach().to(at::kFloat).contiguous());
  appendFreshAspectScoreHead(fresh, seed, tensors);
  return writeModelDirectory(tensors, m.files().configPath, {{"aspect_score_width", width}}, tokenizerOf(m), directory);
}

}  // namespace dqa::train
