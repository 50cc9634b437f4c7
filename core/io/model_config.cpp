#include "core/io/model_config.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/stat.h>

namespace dqa::io {
namespace {

using nlohmann::json;

// Reads an integer field with bounds; config.json files come from strangers.
Status readInt(const json& j, const char* key, int* out, int lo, int hi, bool required) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) return makeError(std::string("config.json lacks \"") + key + "\"");
    return Ok{};
  }
  if (!it->is_number_integer()) return makeError(std::string("config.json: \"") + key + "\" must be an integer");
  // Unsigned values above INT64_MAX would wrap to negative numbers in the message.
  const bool hugeUnsigned =
      it->is_number_unsigned() && (hi < 0 || it->get<unsigned long long>() > static_cast<unsigned long long>(hi));
  long long v = hugeUnsigned ? 0 : it->get<long long>();
  if (hugeUnsigned)
    return makeError(std::string("config.json: \"") + key + "\" = " + std::to_string(it->get<unsigned long long>()) +
                     " is outside the supported range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  if (v < lo || v > hi)
    return makeError(std::string("config.json: \"") + key + "\" = " + std::to_string(v) +
                     " is outside the supported range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  *out = static_cast<int>(v);
  return Ok{};
}

Status readDouble(const json& j, const char* key, double* out, double lo, double hi) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Ok{};
  if (!it->is_number()) return makeError(std::string("config.json: \"") + key + "\" must be a number");
  double v = it->get<double>();
  if (!(v >= lo && v <= hi)) return makeError(std::string("config.json: \"") + key + "\" is out of range");
  *out = v;
  return Ok{};
}

std::string readString(const json& j, const char* key, const std::string& fallback) {
  auto it = j.find(key);
  return (it != j.end() && it->is_string()) ? it->get<std::string>() : fallback;
}

bool readBool(const json& j, const char* key, bool fallback) {
  auto it = j.find(key);
  return (it != j.end() && it->is_boolean()) ? it->get<bool>() : fallback;
}

#define DQA_TRY(expr)           \
  do {                          \
    auto _s = (expr);           \
    if (!_s) return _s.error(); \
  } while (0)

constexpr int kMaxDim = 1 << 16;

constexpr std::pair<VisionInputFeature, const char*> kFeatureNames[] = {
    {VisionInputFeature::Image, "image"},
    {VisionInputFeature::Difference, "difference"},
    {VisionInputFeature::AbsDifference, "abs_difference"},
    {VisionInputFeature::HighpassMagnitude, "highpass_magnitude"},
};

constexpr struct {
  QualityInput input;
  const char* name;
  int channels;
  float scale;  // brings the feature to a range of about +-1 for typical distortions
} kQualityInputs[] = {
    {QualityInput::Image, "image", 3, 1.f},
    {QualityInput::RefDiff, "ref_diff", 3, 4.f},
    {QualityInput::RefAbsDiff, "ref_absdiff", 3, 8.f},
    {QualityInput::RefGms, "ref_gms", 3, 4.f},
    {QualityInput::Highpass, "highpass", 3, 8.f},
    {QualityInput::OtherDiff, "other_diff", 3, 4.f},
    {QualityInput::OtherAbsDiff, "other_absdiff", 3, 8.f},
    {QualityInput::OtherGms, "other_gms", 3, 4.f},
    {QualityInput::Flags, "flags", 2, 1.f},
    {QualityInput::RefGradRatio, "ref_gradratio", 3, 1.f},
    {QualityInput::OtherGradRatio, "other_gradratio", 3, 1.f},
    {QualityInput::OtherHighpass, "other_highpass", 3, 8.f},
    {QualityInput::Mscn, "mscn", 4, 1.f},
    {QualityInput::OtherMscn, "other_mscn", 4, 1.f},
    {QualityInput::RefSsim, "ref_ssim", 3, 2.f},
};

Status readIntList(const json& j, const char* key, std::vector<int>* out, size_t count, int lo, int hi) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_array() || it->size() != count)
    return makeError(std::string("config.json: vision_config \"") + key + "\" must be a list of " +
                     std::to_string(count) + " integers");
  out->clear();
  for (const auto& v : *it) {
    if (!v.is_number_integer() || v.get<long long>() < lo || v.get<long long>() > hi)
      return makeError(std::string("config.json: vision_config \"") + key + "\" holds a value outside [" +
                       std::to_string(lo) + ", " + std::to_string(hi) + "]");
    out->push_back(v.get<int>());
  }
  return Ok{};
}

// DepictQA desktop's convolutional quality encoder (core/model/quality_encoder.h).
Result<VisionConfig> parseQualityVision(const json& j) {
  VisionConfig v;
  v.kind = VisionKind::QualityConv;
  v.patchSize = 16;
  v.imageSize = 96;
  v.numLayers = 0;
  v.numHeads = 0;
  v.dropClassToken = false;  // the quality token comes first, like a class token
  DQA_TRY(readIntList(j, "stage_widths", &v.stageWidths, 4, 1, 4096));
  DQA_TRY(readIntList(j, "stage_blocks", &v.stageBlocks, 4, 0, 16));
  DQA_TRY(readInt(j, "image_size", &v.imageSize, 16, 8192, false));
  DQA_TRY(readInt(j, "max_token_grid", &v.maxTokenGrid, 1, 64, false));
  DQA_TRY(readInt(j, "head_width", &v.headWidth, 1, 4096, false));
  DQA_TRY(readDouble(j, "pair_scale", &v.pairScale, 1e-3, 1e3));
  v.aspectScores = readBool(j, "aspect_scores", false);
  DQA_TRY(readInt(j, "aspect_score_width", &v.aspectScoreWidth, 0, 4096, false));
  v.hiddenSize = v.stageWidths[3];
  v.numLayers = 0;
  for (int b : v.stageBlocks) v.numLayers += b;
  auto f = j.find("input_features");
  if (f == j.end() || !f->is_array() || f->empty() || f->size() > 16)
    return makeError("config.json: vision_config \"input_features\" must list 1 to 16 feature names");
  v.numChannels = 0;
  for (const auto& name : *f) {
    if (!name.is_string()) return makeError("config.json: vision_config \"input_features\" must hold strings");
    auto input = parseQualityInput(name.get<std::string>());
    if (!input) return input.error();
    v.qualityInputs.push_back(input.value());
    v.numChannels += qualityInputChannels(input.value());
  }
  if (auto s = j.find("input_scales"); s != j.end()) {
    if (!s->is_array() || s->size() != v.qualityInputs.size())
      return makeError("config.json: vision_config \"input_scales\" must have one number per input feature");
    for (const auto& x : *s) {
      if (!x.is_number() || !(x.get<double>() > 0 && x.get<double>() < 1e4))
        return makeError("config.json: vision_config \"input_scales\" must hold positive numbers");
      v.inputScales.push_back(x.get<float>());
    }
  } else {
    for (QualityInput q : v.qualityInputs)
      for (const auto& k : kQualityInputs)
        if (k.input == q) v.inputScales.push_back(k.scale);
  }
  auto t = j.find("distortion_types");
  if (t == j.end() || !t->is_array() || t->size() < 1 || t->size() > 1024)
    return makeError(
        "config.json: vision_config \"distortion_types\" must list the type head's classes (\"none\" first)");
  for (const auto& name : *t) {
    if (!name.is_string() || name.get<std::string>().empty() || name.get<std::string>().size() > 64)
      return makeError("config.json: vision_config \"distortion_types\" must hold short names");
    v.distortionTypes.push_back(name.get<std::string>());
  }
  return v;
}

Result<VisionConfig> parseVision(const json& j) {
  if (readString(j, "model_type", "") == "depictqa_quality_encoder") return parseQualityVision(j);
  VisionConfig v;
  DQA_TRY(readInt(j, "hidden_size", &v.hiddenSize, 1, kMaxDim, true));
  DQA_TRY(readInt(j, "intermediate_size", &v.intermediateSize, 1, 4 * kMaxDim, true));
  DQA_TRY(readInt(j, "num_hidden_layers", &v.numLayers, 1, 256, true));
  DQA_TRY(readInt(j, "num_attention_heads", &v.numHeads, 1, 1024, true));
  DQA_TRY(readInt(j, "image_size", &v.imageSize, 1, 8192, false));
  DQA_TRY(readInt(j, "patch_size", &v.patchSize, 1, 512, true));
  DQA_TRY(readInt(j, "num_channels", &v.numChannels, 1, 16, false));
  DQA_TRY(readDouble(j, "layer_norm_eps", &v.layerNormEps, 0, 1));
  v.hiddenAct = readString(j, "hidden_act", "quick_gelu");
  if (v.hiddenAct != "quick_gelu" && v.hiddenAct != "gelu")
    return makeError("vision hidden_act \"" + v.hiddenAct + "\" is not supported (quick_gelu, gelu)");
  if (v.hiddenSize % v.numHeads != 0) return makeError("vision hidden_size is not divisible by num_attention_heads");
  if (v.imageSize % v.patchSize != 0) return makeError("vision image_size is not a multiple of patch_size");
  return v;
}

Result<TextConfig> parseText(const json& j) {
  TextConfig t;
  DQA_TRY(readInt(j, "vocab_size", &t.vocabSize, 1, 1 << 22, true));
  DQA_TRY(readInt(j, "hidden_size", &t.hiddenSize, 1, kMaxDim, true));
  DQA_TRY(readInt(j, "intermediate_size", &t.intermediateSize, 1, 4 * kMaxDim, true));
  DQA_TRY(readInt(j, "num_hidden_layers", &t.numLayers, 1, 512, true));
  DQA_TRY(readInt(j, "num_attention_heads", &t.numHeads, 1, 1024, true));
  t.numKvHeads = t.numHeads;
  DQA_TRY(readInt(j, "num_key_value_heads", &t.numKvHeads, 1, 1024, false));
  t.headDim = t.hiddenSize / t.numHeads;
  DQA_TRY(readInt(j, "head_dim", &t.headDim, 1, 4096, false));
  DQA_TRY(readInt(j, "max_position_embeddings", &t.maxPositions, 1, 1 << 22, false));
  DQA_TRY(readDouble(j, "rms_norm_eps", &t.rmsNormEps, 0, 1));
  DQA_TRY(readInt(j, "bos_token_id", &t.bosId, 0, t.vocabSize - 1, false));
  DQA_TRY(readInt(j, "eos_token_id", &t.eosId, 0, t.vocabSize - 1, false));
  t.tieWordEmbeddings = readBool(j, "tie_word_embeddings", false);
  t.attentionBias = readBool(j, "attention_bias", false);
  // transformers 5 nests rope settings in rope_parameters; 4.x keeps rope_theta on top.
  DQA_TRY(readDouble(j, "rope_theta", &t.ropeTheta, 1, 1e12));
  for (const char* key : {"rope_parameters", "rope_scaling"}) {
    auto rp = j.find(key);
    if (rp == j.end() || rp->is_null()) continue;
    if (!rp->is_object()) return makeError(std::string("config.json: ") + key + " must be an object");
    DQA_TRY(readDouble(*rp, "rope_theta", &t.ropeTheta, 1, 1e12));
    std::string type = readString(*rp, "rope_type", readString(*rp, "type", "default"));
    if (type != "default") return makeError("RoPE scaling type \"" + type + "\" is not supported yet (only default)");
  }
  const std::string act = readString(j, "hidden_act", "silu");
  if (act != "silu") return makeError("LLaMA hidden_act \"" + act + "\" is not supported (silu)");
  // The defaults (1, 2) apply when the file names no ids; they must fit the vocabulary too.
  if (t.bosId >= t.vocabSize || t.eosId >= t.vocabSize)
    return makeError("config.json: bos/eos token ids (" + std::to_string(t.bosId) + ", " + std::to_string(t.eosId) +
                     ") are outside the vocabulary of " + std::to_string(t.vocabSize));
  if (t.numHeads % t.numKvHeads != 0) return makeError("num_attention_heads must be a multiple of num_key_value_heads");
  if (t.headDim % 2 != 0) return makeError("head_dim must be even for RoPE");
  return t;
}

}  // namespace

Result<std::string> readTextFile(const std::string& path, size_t maxBytes) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return makeError("'" + path + "' does not exist");
  if (!S_ISREG(st.st_mode)) return makeError("'" + path + "' is not a regular file");
  if (static_cast<size_t>(st.st_size) > maxBytes)
    return makeError("'" + path + "' is implausibly large (" + std::to_string(st.st_size) + " bytes)");
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError("cannot read '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<ModelConfig> parseModelConfig(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return makeError("config.json is not a valid JSON object");
  ModelConfig cfg;
  cfg.modelType = readString(j, "model_type", "");
  if (auto w = j.find("working_colour_space"); w != j.end()) {
    if (!w->is_string()) return makeError("working_colour_space must be a colour space's name, such as \"sRGB\"");
    auto space = parseWorkingSpace(w->get<std::string>());
    if (!space) return space.error();
    cfg.workingSpace = space.value();
  }
  std::string arch;
  if (auto a = j.find("architectures"); a != j.end() && a->is_array() && !a->empty() && (*a)[0].is_string())
    arch = (*a)[0].get<std::string>();

  const bool isLlava =
      cfg.modelType == "llava" || cfg.modelType == "depictqa" || arch.find("Llava") != std::string::npos;
  if (isLlava) {
    cfg.architecture = Architecture::Llava;
    auto vc = j.find("vision_config");
    auto tc = j.find("text_config");
    if (vc == j.end() || !vc->is_object() || tc == j.end() || !tc->is_object())
      return makeError("config.json of a LLaVA-style model needs vision_config and text_config objects");
    auto v = parseVision(*vc);
    if (!v) return v.error();
    auto t = parseText(*tc);
    if (!t) return t.error();
    cfg.vision = v.value();
    cfg.text = t.value();
    DQA_TRY(readInt(j, "vision_feature_layer", &cfg.vision.featureLayer, -cfg.vision.numLayers - 1, -1, false));
    std::string strategy = readString(j, "vision_feature_select_strategy", "default");
    if (strategy != "default" && strategy != "full")
      return makeError("vision_feature_select_strategy \"" + strategy + "\" is not supported");
    cfg.vision.dropClassToken = strategy == "default";
    DQA_TRY(readInt(j, "image_token_index", &cfg.imageTokenIndex, -1, 1 << 22, false));
    std::string projector = readString(j, "projector_type", readString(j, "mm_projector_type", "mlp2x_gelu"));
    if (projector == "linear") {
      cfg.projector.kind = ProjectorKind::Linear;
    } else if (projector == "mlp2x_gelu") {
      cfg.projector.kind = ProjectorKind::MlpGelu;
      std::string act = readString(j, "projector_hidden_act", "gelu");
      if (act != "gelu") return makeError("projector_hidden_act \"" + act + "\" is not supported");
    } else {
      return makeError("projector_type \"" + projector + "\" is not supported (linear, mlp2x_gelu)");
    }
    cfg.projector.bias = readBool(j, "multimodal_projector_bias", true);
    DQA_TRY(readDouble(j, "verdict_temperature", &cfg.verdictTemperature, 0.05, 20));
    DQA_TRY(readDouble(j, "verdict_temperature_no_reference", &cfg.verdictTemperatureNoReference, 0.05, 20));
    cfg.visionEarlyFusion = readBool(j, "vision_early_fusion", false);
    if (cfg.vision.kind == VisionKind::QualityConv) {
      cfg.visionEarlyFusion = true;  // its input features say what it sees
      return cfg;
    }
    if (cfg.visionEarlyFusion) {
      cfg.visionInputFeatures = {VisionInputFeature::Image, VisionInputFeature::Difference};
      if (auto f = j.find("vision_input_features"); f != j.end()) {
        if (!f->is_array() || f->empty() || f->size() > 5)
          return makeError("vision_input_features must be a list of 1 to 5 feature names");
        cfg.visionInputFeatures.clear();
        for (const auto& name : *f) {
          if (!name.is_string()) return makeError("vision_input_features must hold strings");
          auto feature = parseVisionInputFeature(name.get<std::string>());
          if (!feature) return feature.error();
          cfg.visionInputFeatures.push_back(feature.value());
        }
      }
      cfg.vision.numChannels = 3 * static_cast<int>(cfg.visionInputFeatures.size());
    }
    return cfg;
  }
  if (cfg.modelType == "clip_vision_model" || arch == "CLIPVisionModel") {
    cfg.architecture = Architecture::ClipVision;
    auto v = parseVision(j);
    if (!v) return v.error();
    cfg.vision = v.value();
    return cfg;
  }
  if (cfg.modelType == "llama" || arch == "LlamaForCausalLM") {
    cfg.architecture = Architecture::Llama;
    auto t = parseText(j);
    if (!t) return t.error();
    cfg.text = t.value();
    return cfg;
  }
  return makeError("config.json describes model_type \"" + cfg.modelType + "\" (" + arch +
                   "); supported: llava, llama, clip_vision_model");
}

Result<ModelConfig> loadModelConfig(const std::string& path) {
  auto text = readTextFile(path);
  if (!text) return text.error();
  auto cfg = parseModelConfig(text.value());
  if (!cfg) return makeError(path + ": " + cfg.message());
  return cfg;
}

WorkingSpace workingSpaceOfModel(const std::string& modelDirectory) {
  auto cfg = loadModelConfig(modelDirectory + "/config.json");
  return cfg ? cfg->workingSpace : WorkingSpace::Srgb;
}

Result<LoraConfig> parseLoraConfig(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return makeError("adapter_config.json is not a JSON object");
  if (readString(j, "peft_type", "LORA") != "LORA")
    return makeError("adapter_config.json: only LoRA adapters are supported");
  LoraConfig c;
  DQA_TRY(readInt(j, "r", &c.rank, 1, 4096, true));
  DQA_TRY(readDouble(j, "lora_alpha", &c.alpha, 0, 1e6));
  if (readBool(j, "use_dora", false)) return makeError("DoRA adapters are not supported");
  if (readBool(j, "use_rslora", false)) c.alpha = c.alpha * c.rank / std::sqrt(double(c.rank));
  if (readBool(j, "fan_in_fan_out", false)) return makeError("fan_in_fan_out LoRA is not supported");
  if (auto t = j.find("target_modules"); t != j.end() && t->is_array())
    for (const auto& m : *t)
      if (m.is_string()) c.targetModules.push_back(m.get<std::string>());
  return c;
}

Result<LoraConfig> loadLoraConfig(const std::string& path) {
  auto text = readTextFile(path);
  if (!text) return text.error();
  auto cfg = parseLoraConfig(text.value());
  if (!cfg) return makeError(path + ": " + cfg.message());
  return cfg;
}

int qualityInputChannels(QualityInput input) {
  for (const auto& k : kQualityInputs)
    if (k.input == input) return k.channels;
  return 0;
}

Result<QualityInput> parseQualityInput(const std::string& name) {
  std::string known;
  for (const auto& k : kQualityInputs) {
    if (name == k.name) return k.input;
    known += (known.empty() ? "" : ", ") + std::string(k.name);
  }
  return makeError("unknown quality encoder input feature \"" + name + "\" (" + known + ")");
}

Result<VisionInputFeature> parseVisionInputFeature(const std::string& name) {
  for (const auto& [feature, label] : kFeatureNames)
    if (name == label) return feature;
  return makeError("unknown vision input feature \"" + name +
                   "\" (image, difference, abs_difference, highpass_magnitude)");
}

}  // namespace dqa::io
