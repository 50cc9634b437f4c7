#include "core/convert/depictqa_convert.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "core/convert/convert_plan.h"
#include "core/io/model_config.h"
#include "core/io/model_dir.h"
#include "core/text/tokenizer.h"

namespace dqa::convert {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace plan;

std::string tokenizerPathOf(const ConvertOptions& o) {
  return o.tokenizerPath.empty() ? o.llmDirectory + "/tokenizer.model" : o.tokenizerPath;
}

// Every input is there and the output may be written: refused before minutes of reading.
Status checkInputs(const ConvertOptions& o) {
  if (o.clipPath.empty() || o.llmDirectory.empty() || o.deltaPath.empty() || o.outputDirectory.empty())
    return makeError(
        "convert needs the CLIP archive (--clip), the LLM directory (--llm), DepictQA's delta "
        "checkpoint (--delta) and an output directory (--output)");
  if (!io::isRegularFile(o.clipPath))
    return makeError("CLIP archive '" + o.clipPath + "' does not exist or is not a file");
  if (!io::isDirectory(o.llmDirectory))
    return makeError("LLM directory '" + o.llmDirectory + "' does not exist or is not a directory");
  if (!io::isRegularFile(o.deltaPath))
    return makeError("delta checkpoint '" + o.deltaPath + "' does not exist or is not a file");
  if (!io::isRegularFile(tokenizerPathOf(o)))
    return makeError("no SentencePiece tokenizer at '" + tokenizerPathOf(o) +
                     "'; Vicuna ships tokenizer.model next to "
                     "config.json, or pass --tokenizer FILE");
  return Ok{};
}

// The output: not a file, empty unless --force, and never holding an input.
Status checkOutput(const ConvertOptions& o, const fs::path& out) {
  std::error_code ec;
  if (fs::exists(out, ec)) {
    if (!fs::is_directory(out, ec)) return makeError("output '" + out.string() + "' exists and is not a directory");
    if (!fs::is_empty(out, ec) && !o.force)
      return makeError("output directory '" + out.string() + "' exists and is not empty; pass --force to replace it");
  }
  for (const std::string& input : {o.clipPath, o.llmDirectory, o.deltaPath, tokenizerPathOf(o)}) {
    const fs::path in = fs::weakly_canonical(fs::absolute(input), ec);
    const fs::path outCanonical = fs::weakly_canonical(out, ec);
    if (isWithin(in, outCanonical))
      return makeError("the output directory '" + out.string() + "' holds the input '" + input +
                       "'; choose an output directory of its own");
  }
  return Ok{};
}

Status checkTokenizer(const std::string& tokenizerPath, const io::TextConfig& text) {
  auto tok = text::Tokenizer::load(tokenizerPath);
  if (!tok) return makeError("tokenizer '" + tokenizerPath + "': " + tok.message());
  if (tok.value()->vocabSize() > text.vocabSize)
    return makeError("tokenizer '" + tokenizerPath + "' has " + std::to_string(tok.value()->vocabSize()) +
                     " pieces but the LLM's vocab_size is " + std::to_string(text.vocabSize) +
                     "; they do not belong together");
  return Ok{};
}

Result<LoraApplication> loraApplication(const ConvertOptions& o, const DeltaPlan& dp, at::ScalarType requested) {
  LoraApplication lora;
  lora.alpha = o.loraAlpha > 0 ? o.loraAlpha : dp.rank;
  lora.scaling = dp.rank > 0 ? lora.alpha / dp.rank : 0.0;
  lora.merge = o.mergeLora && !dp.lora.empty();
  lora.castTo = [requested](at::ScalarType stored) {
    return requested == at::ScalarType::Undefined ? stored : requested;
  };
  if (!lora.merge && !dp.lora.empty()) {
    // Our loader (like peft) finds the adapter's name prefix from layer 0's attention.
    bool layer0 = false;
    for (const auto& [key, mod] : dp.lora) layer0 |= mod.layer == 0 && mod.sub == "self_attn";
    if (!layer0)
      return makeError("'" + o.deltaPath +
                       "' has no LoRA on layer 0's attention, which an adapter directory needs; "
                       "convert with --merge-lora");
  }
  return lora;
}

std::vector<Planned> planProjector(const TorchCheckpoint& deltaFile, const DeltaPlan& dp, const LoraApplication& lora,
                                   GroupedLines& mapped) {
  std::vector<Planned> out;
  const TensorInfo& w = *deltaFile.find(dp.projWeight);
  out.push_back({"multi_modal_projector.linear_1.weight", lora.castTo(w.dtype), w.shape,
                 loader(dp.src, dp.projWeight, lora.castTo(w.dtype))});
  mapped.add(dp.projWeight + " -> multi_modal_projector.linear_1.weight");
  if (!dp.projBias.empty()) {
    const TensorInfo& b = *deltaFile.find(dp.projBias);
    out.push_back({"multi_modal_projector.linear_1.bias", lora.castTo(b.dtype), b.shape,
                   loader(dp.src, dp.projBias, lora.castTo(b.dtype))});
    mapped.add(dp.projBias + " -> multi_modal_projector.linear_1.bias");
  }
  return out;
}

// The LoRA as an adapter directory (peft layout under our LLaVA names); nothing when merged.
std::vector<Planned> planAdapter(const TorchCheckpoint& deltaFile, const DeltaPlan& dp, const LoraApplication& lora,
                                 GroupedLines& mapped) {
  std::vector<Planned> adapter;
  if (lora.merge) return adapter;
  for (const auto& [key, mod] : dp.lora) {
    const std::string base = "base_model.model.language_model." + key;
    for (const auto& [from, suffix] : {std::pair{mod.a, ".lora_A.weight"}, std::pair{mod.b, ".lora_B.weight"}}) {
      const TensorInfo& t = *deltaFile.find(from);
      adapter.push_back({base + suffix, lora.castTo(t.dtype), t.shape, loader(dp.src, from, lora.castTo(t.dtype))});
      mapped.add(from + " -> adapter/" + base + suffix);
    }
  }
  return adapter;
}

json adapterConfig(const DeltaPlan& dp, const LoraApplication& lora) {
  std::set<std::string> targetModules;
  for (const auto& [key, mod] : dp.lora) targetModules.insert(mod.proj);
  return {{"peft_type", "LORA"},
          {"task_type", "CAUSAL_LM"},
          {"r", dp.rank},
          {"lora_alpha", lora.alpha},
          {"lora_dropout", 0.0},
          {"bias", "none"},
          {"fan_in_fan_out", false},
          {"target_modules", std::vector<std::string>(targetModules.begin(), targetModules.end())},
          {"inference_mode", true}};
}

// config.json (LLaVA layout), checked by the same parser the Engine uses before anything
// is written.
Result<json> modelConfig(const ConvertOptions& o, const json& llmConfig, const VisionPlan& vision, const DeltaPlan& dp,
                         const LoraApplication& lora, at::ScalarType textDtype) {
  json visionConfig = {{"model_type", "clip_vision_model"},   {"hidden_size", vision.width},
                       {"intermediate_size", vision.mlp},     {"num_hidden_layers", vision.layers},
                       {"num_attention_heads", vision.heads}, {"image_size", vision.grid * vision.patch},
                       {"patch_size", vision.patch},          {"num_channels", 3},
                       {"hidden_act", "quick_gelu"},          {"layer_norm_eps", 1e-5}};
  json textConfig = llmConfig;
  textConfig.erase("torch_dtype");
  json config = {{"architectures", {"LlavaForConditionalGeneration"}},
                 {"model_type", "llava"},
                 {"projector_type", "linear"},
                 {"multimodal_projector_bias", !dp.projBias.empty()},
                 {"vision_feature_layer", -1},
                 {"vision_feature_select_strategy", "default"},
                 {"vision_early_fusion", false},
                 {"image_token_index", -1},
                 {"vision_config", visionConfig},
                 {"text_config", textConfig},
                 {"dtype", hfDtypeName(textDtype)},
                 {"depictqa_convert",
                  {{"clip", fs::path(o.clipPath).filename().string()},
                   {"llm", normalizedDirectory(o.llmDirectory).filename().string()},
                   {"delta", fs::path(o.deltaPath).filename().string()},
                   {"lora_rank", dp.rank},
                   {"lora_alpha", lora.alpha},
                   {"lora", dp.lora.empty() ? "none"
                            : lora.merge    ? "merged"
                                            : "adapter"}}}};
  auto parsed = io::parseModelConfig(config.dump());
  if (!parsed) return makeError("the converted config.json would not load: " + parsed.message());
  return config;
}

void describe(ConvertReport& report, const VisionPlan& vision, const io::TextConfig& text, const DeltaPlan& dp,
              const LoraApplication& lora) {
  report.visionWidth = static_cast<int>(vision.width);
  report.visionLayers = static_cast<int>(vision.layers);
  report.visionHeads = static_cast<int>(vision.heads);
  report.patchSize = static_cast<int>(vision.patch);
  report.imageSize = static_cast<int>(vision.grid * vision.patch);
  report.textHidden = text.hiddenSize;
  report.textLayers = text.numLayers;
  report.vocabSize = text.vocabSize;
  report.loraRank = dp.rank;
  report.loraModules = static_cast<int>(dp.lora.size());
  report.loraAlpha = dp.lora.empty() ? 0 : lora.alpha;
  report.loraMerged = lora.merge;
}

// Read and check every input into plans, then write: nothing is written before every
// tensor's name and shape has been checked.
Result<ConvertReport> convertImpl(const ConvertOptions& o, const ConvertLog& logFn) {
  auto log = [&](const std::string& s) {
    if (logFn) logFn(s);
  };
  auto requested = parseDtype(o.dtype);
  if (!requested) return requested.error();
  if (auto ok = checkInputs(o); !ok) return ok.error();
  const fs::path out = normalizedDirectory(o.outputDirectory);
  if (auto ok = checkOutput(o, out); !ok) return ok.error();

  GroupedLines mapped, ignored;
  log("reading LLM config " + o.llmDirectory + "/config.json");
  auto llmConfig = readLlmConfig(o.llmDirectory);
  if (!llmConfig) return llmConfig.error();
  const io::TextConfig& text = llmConfig->second;
  if (auto ok = checkTokenizer(tokenizerPathOf(o), text); !ok) return ok.error();

  log("reading CLIP " + o.clipPath);
  auto clip = TorchCheckpoint::open(o.clipPath);
  if (!clip) return clip.error();
  auto vision = planVision(clip.value(), o, requested.value(), mapped, ignored);
  if (!vision) return vision.error();

  log("reading DepictQA delta " + o.deltaPath);
  auto deltaFile = TorchCheckpoint::open(o.deltaPath);
  if (!deltaFile) return deltaFile.error();
  auto delta = planDelta(deltaFile.value(), text, vision->width, ignored);
  if (!delta) return delta.error();
  auto lora = loraApplication(o, delta.value(), requested.value());
  if (!lora) return lora.error();

  OutputPlan output;
  output.model = vision->tensors;
  for (auto& p : planProjector(*deltaFile.value(), delta.value(), lora.value(), mapped))
    output.model.push_back(std::move(p));
  auto llm = planLlm(o.llmDirectory, text, delta.value(), lora.value(), mapped, ignored, logFn);
  if (!llm) return llm.error();
  for (auto& p : llm->tensors) output.model.push_back(std::move(p));
  output.adapter = planAdapter(*deltaFile.value(), delta.value(), lora.value(), mapped);
  auto config =
      modelConfig(o, llmConfig->first, vision.value(), delta.value(), lora.value(), lora->castTo(llm->embedDtype));
  if (!config) return config.error();
  output.config = config.value();
  output.adapterConfig = adapterConfig(delta.value(), lora.value());
  output.tokenizerPath = tokenizerPathOf(o);

  ConvertReport report;
  if (auto ok = writeModelDirectory(out, output, report, logFn); !ok) return ok.error();
  report.outputDirectory = out.string();
  report.mapped = mapped.lines();
  report.ignored = ignored.lines();
  describe(report, vision.value(), text, delta.value(), lora.value());
  return report;
}

}  // namespace

Result<ConvertReport> convertDepictQA(const ConvertOptions& options, const ConvertLog& log) {
  // Nothing may escape: libtorch throws c10::Error, the filesystem std::filesystem_error,
  // a 7B model on a small machine std::bad_alloc.
  try {
    return convertImpl(options, log);
  } catch (const c10::Error& e) {
    return makeError(std::string("conversion failed: ") + e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    return makeError(
        "conversion ran out of memory; a 7B LLM needs RAM for its largest tensor plus CLIP "
        "(about 2 GB), more with --merge-lora");
  } catch (const std::exception& e) { return makeError(std::string("conversion failed: ") + e.what()); }
}

}  // namespace dqa::convert
