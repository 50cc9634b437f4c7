#include "core/convert/depictqa_convert.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "core/convert/torch_archive.h"
#include "core/io/model_config.h"
#include "core/io/model_dir.h"
#include "core/io/safetensors.h"
#include "core/model/weights.h"
#include "core/text/tokenizer.h"

namespace dqa::convert {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Shape = std::vector<int64_t>;

bool startsWith(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }
bool endsWith(const std::string& s, const std::string& x) {
  return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}
std::string shapeStr(const Shape& s) { return model::shapeString(s); }

// "a, b, c and 7 more" for error messages about many names.
std::string someNames(const std::vector<std::string>& names, size_t show = 5) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < show; ++i) out += (i ? ", '" : "'") + names[i] + "'";
  if (names.size() > show) out += " and " + std::to_string(names.size() - show) + " more";
  return out;
}

// Collapses layer numbers ("resblocks.7.") to N, so that a 7B model's mapping prints in
// a screenful: "visual.transformer.resblocks.N.ln_1.weight -> ... (x24)".
std::string generalize(const std::string& s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    const bool segmentStart = i == 0 || s[i - 1] == '.';
    const bool segmentEnd = j == s.size() || s[j] == '.' || s[j] == ' ';
    if (j > i && segmentStart && segmentEnd) {
      out += 'N';
      i = j;
    } else {
      out += s[i++];
    }
  }
  return out;
}

class GroupedLines {
 public:
  void add(const std::string& line) {
    const std::string g = generalize(line);
    if (counts_[g]++ == 0) order_.push_back(g);
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    for (const auto& g : order_) {
      const int n = counts_.at(g);
      out.push_back(n > 1 ? g + " (x" + std::to_string(n) + ")" : g);
    }
    return out;
  }

 private:
  std::map<std::string, int> counts_;
  std::vector<std::string> order_;
};

Result<at::ScalarType> parseDtype(const std::string& s) {
  if (s == "keep" || s.empty()) return at::ScalarType::Undefined;
  if (s == "f32" || s == "float32") return at::kFloat;
  if (s == "f16" || s == "float16") return at::kHalf;
  if (s == "bf16" || s == "bfloat16") return at::kBFloat16;
  return makeError("unknown --dtype '" + s + "' (keep, f32, f16, bf16)");
}

Result<io::DType> ioDtype(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return io::DType::F32;
    case at::kHalf: return io::DType::F16;
    case at::kBFloat16: return io::DType::BF16;
    case at::kDouble: return io::DType::F64;
    default: return makeError(std::string("cannot store a weight of type ") + c10::toString(t));
  }
}

const char* hfDtypeName(at::ScalarType t) {
  switch (t) {
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kDouble: return "float64";
    default: return "float32";
  }
}

bool isFloating(at::ScalarType t) {
  return t == at::kFloat || t == at::kHalf || t == at::kBFloat16 || t == at::kDouble;
}

// One input file with tensors: a torch checkpoint or a safetensors file, read on demand.
struct Source {
  std::string path;
  std::vector<TensorInfo> tensors;
  std::function<Result<at::Tensor>(const std::string&)> load;  // owning, contiguous
};

Source fromCheckpoint(const std::shared_ptr<TorchCheckpoint>& ckpt) {
  return {ckpt->path(), ckpt->tensors(), [ckpt](const std::string& n) { return ckpt->load(n); }};
}

Result<Source> openSafetensors(const std::string& path) {
  auto file = io::SafetensorsFile::open(path);
  if (!file) return file.error();
  auto f = file.value();
  Source s;
  s.path = path;
  for (const auto& [name, e] : f->tensors()) s.tensors.push_back({name, model::toScalarType(e.dtype), e.shape});
  s.load = [f](const std::string& name) -> Result<at::Tensor> {
    const io::TensorEntry* e = f->find(name);
    if (!e) return makeError("'" + f->path() + "' has no tensor '" + name + "'");
    // A copy: the mapping is read-only and goes away with the file.
    return at::from_blob(const_cast<void*>(f->data(*e)), e->shape,
                         at::TensorOptions().dtype(model::toScalarType(e->dtype)))
        .clone();
  };
  return s;
}

// A tensor of the output: final name, dtype and shape, and how to produce its values.
struct Planned {
  std::string name;
  at::ScalarType dtype;
  Shape shape;
  std::function<Result<at::Tensor>()> make;
};

Status checkTensor(const std::string& file, const TensorInfo& t, const Shape& expected, const std::string& why) {
  if (t.shape != expected)
    return makeError("'" + file + "': tensor '" + t.name + "' has shape " + shapeStr(t.shape) + ", but " + why +
                     " needs " + shapeStr(expected) + "; the files do not belong together");
  if (!isFloating(t.dtype))
    return makeError("'" + file + "': tensor '" + t.name + "' is stored as " + c10::toString(t.dtype) +
                     ", not floating point; the file is damaged or not a checkpoint of weights");
  return Ok{};
}

// A tensor loaded from `src`, optionally a row slice [begin, begin + rows), cast to `dtype`.
std::function<Result<at::Tensor>()> loader(const std::shared_ptr<Source>& src, const std::string& name,
                                           at::ScalarType dtype, int64_t begin = 0, int64_t rows = -1) {
  return [src, name, dtype, begin, rows]() -> Result<at::Tensor> {
    auto t = src->load(name);
    if (!t) return t.error();
    at::Tensor v = rows >= 0 ? t.value().narrow(0, begin, rows) : t.value();
    return v.to(dtype).contiguous();
  };
}

// ---------------------------------------------------------------- CLIP (OpenAI -> HF)
struct VisionPlan {
  int64_t width = 0, layers = 0, heads = 0, patch = 0, grid = 0, mlp = 0;
  std::vector<Planned> tensors;
};

Result<VisionPlan> planVision(const std::shared_ptr<TorchCheckpoint>& clip, const ConvertOptions& o,
                              at::ScalarType requested, GroupedLines& mapped, GroupedLines& ignored) {
  const std::string& path = clip->path();
  auto src = std::make_shared<Source>(fromCheckpoint(clip));
  std::map<std::string, TensorInfo> visual;  // without "visual."
  for (const auto& t : clip->tensors()) {
    if (startsWith(t.name, "visual.")) visual[t.name.substr(7)] = t;
    else ignored.add(t.name + ": outside visual.*, CLIP's text tower (DepictQA uses only the image encoder)");
  }
  for (const auto& s : clip->skipped()) ignored.add(s + ": not a tensor");
  if (visual.empty())
    return makeError("'" + path + "' has no visual.* tensors; expected OpenAI's CLIP archive (ViT-L-14.pt)");
  if (visual.count("layer1.0.conv1.weight") || visual.count("attnpool.c_proj.weight"))
    return makeError("'" + path + "' is a ResNet CLIP (RN50 ...); DepictQA uses the ViT-L/14 encoder (ViT-L-14.pt)");
  auto conv = visual.find("conv1.weight");
  if (conv == visual.end() || conv->second.shape.size() != 4 || conv->second.shape[2] != conv->second.shape[3])
    return makeError("'" + path + "': visual.conv1.weight (the patch embedding, [width, 3, patch, patch]) is missing "
                     "or misshaped; is this OpenAI's CLIP ViT archive?");
  VisionPlan v;
  v.width = conv->second.shape[0];
  v.patch = conv->second.shape[2];
  if (conv->second.shape[1] != 3)
    return makeError("'" + path + "': visual.conv1.weight expects " + std::to_string(conv->second.shape[1]) +
                     " input channels; CLIP reads RGB (3)");
  auto pos = visual.find("positional_embedding");
  if (pos == visual.end() || pos->second.shape.size() != 2 || pos->second.shape[0] < 2)
    return makeError("'" + path + "': visual.positional_embedding ([1 + grid², width]) is missing or misshaped");
  const int64_t positions = pos->second.shape[0] - 1;
  v.grid = static_cast<int64_t>(std::llround(std::sqrt(double(positions))));
  if (v.grid * v.grid != positions)
    return makeError("'" + path + "': visual.positional_embedding has " + std::to_string(positions) +
                     " patch positions, not a square grid");
  std::set<int64_t> layerIds;
  static const std::regex kBlock(R"(^transformer\.resblocks\.(\d+)\..*)");
  for (const auto& [name, t] : visual) {
    std::smatch m;
    if (std::regex_match(name, m, kBlock)) layerIds.insert(std::stoll(m[1].str()));
  }
  if (layerIds.empty()) return makeError("'" + path + "' has no visual.transformer.resblocks.N.* tensors");
  v.layers = *layerIds.rbegin() + 1;
  if (static_cast<int64_t>(layerIds.size()) != v.layers)
    return makeError("'" + path + "': the visual transformer's blocks are not numbered 0.." + std::to_string(v.layers - 1) +
                     "; some are missing");
  auto fc = visual.find("transformer.resblocks.0.mlp.c_fc.weight");
  if (fc == visual.end() || fc->second.shape.size() != 2)
    return makeError("'" + path + "': visual.transformer.resblocks.0.mlp.c_fc.weight is missing or misshaped");
  v.mlp = fc->second.shape[0];
  const int64_t D = v.width, I = v.mlp;

  if (o.visionHeads > 0) {
    v.heads = o.visionHeads;
  } else if (auto a = clip->intAttributes().find("visual.transformer.resblocks.0.attn.num_heads");
             a != clip->intAttributes().end()) {
    v.heads = a->second;
  } else if (D % 64 == 0) {
    v.heads = D / 64;  // OpenAI's rule for every ViT CLIP: heads of width 64
  } else {
    return makeError("'" + path + "': cannot tell the attention heads of a width-" + std::to_string(D) +
                     " encoder (not a multiple of 64); pass --vision-heads");
  }
  if (v.heads <= 0 || D % v.heads != 0)
    return makeError("vision width " + std::to_string(D) + " is not divisible by " + std::to_string(v.heads) + " heads");

  // source (under visual.) -> target (under vision_tower.), expected shape
  struct Map { std::string from, to; Shape shape; };
  std::vector<Map> maps = {
      {"conv1.weight", "embeddings.patch_embedding.weight", {D, 3, v.patch, v.patch}},
      {"class_embedding", "embeddings.class_embedding", {D}},
      {"positional_embedding", "embeddings.position_embedding.weight", {1 + v.grid * v.grid, D}},
      {"ln_pre.weight", "pre_layrnorm.weight", {D}},
      {"ln_pre.bias", "pre_layrnorm.bias", {D}}};
  for (int64_t i = 0; i < v.layers; ++i) {
    const std::string s = "transformer.resblocks." + std::to_string(i) + ".";
    const std::string t = "encoder.layers." + std::to_string(i) + ".";
    for (const char* b : {"weight", "bias"}) {
      maps.push_back({s + "ln_1." + b, t + "layer_norm1." + b, {D}});
      maps.push_back({s + "ln_2." + b, t + "layer_norm2." + b, {D}});
    }
    maps.push_back({s + "attn.out_proj.weight", t + "self_attn.out_proj.weight", {D, D}});
    maps.push_back({s + "attn.out_proj.bias", t + "self_attn.out_proj.bias", {D}});
    maps.push_back({s + "mlp.c_fc.weight", t + "mlp.fc1.weight", {I, D}});
    maps.push_back({s + "mlp.c_fc.bias", t + "mlp.fc1.bias", {I}});
    maps.push_back({s + "mlp.c_proj.weight", t + "mlp.fc2.weight", {D, I}});
    maps.push_back({s + "mlp.c_proj.bias", t + "mlp.fc2.bias", {D}});
  }
  if (visual.count("ln_post.weight") || visual.count("ln_post.bias")) {
    maps.push_back({"ln_post.weight", "post_layernorm.weight", {D}});
    maps.push_back({"ln_post.bias", "post_layernorm.bias", {D}});
  }
  std::set<std::string> used;
  auto need = [&](const std::string& from, const Shape& shape) -> Result<TensorInfo> {
    auto it = visual.find(from);
    if (it == visual.end())
      return makeError("'" + path + "' lacks visual." + from + "; the archive is incomplete or not OpenAI's CLIP");
    auto ok = checkTensor(path, it->second, shape, "a CLIP ViT of width " + std::to_string(D));
    if (!ok) return ok.error();
    used.insert(from);
    return it->second;
  };
  auto dtypeOf = [&](const TensorInfo& t) { return requested == at::ScalarType::Undefined ? t.dtype : requested; };
  for (const auto& m : maps) {
    auto t = need(m.from, m.shape);
    if (!t) return t.error();
    v.tensors.push_back({"vision_tower." + m.to, dtypeOf(t.value()), m.shape, loader(src, "visual." + m.from, dtypeOf(t.value()))});
    mapped.add("visual." + m.from + " -> vision_tower." + m.to);
  }
  // nn.MultiheadAttention keeps q, k, v stacked: in_proj [3D, D] -> q_proj, k_proj, v_proj.
  for (int64_t i = 0; i < v.layers; ++i) {
    const std::string s = "transformer.resblocks." + std::to_string(i) + ".attn.";
    const std::string t = "vision_tower.encoder.layers." + std::to_string(i) + ".self_attn.";
    auto w = need(s + "in_proj_weight", {3 * D, D});
    if (!w) return w.error();
    auto b = need(s + "in_proj_bias", {3 * D});
    if (!b) return b.error();
    const char* names[] = {"q_proj", "k_proj", "v_proj"};
    for (int64_t k = 0; k < 3; ++k) {
      v.tensors.push_back({t + names[k] + ".weight", dtypeOf(w.value()), {D, D},
                           loader(src, "visual." + s + "in_proj_weight", dtypeOf(w.value()), k * D, D)});
      v.tensors.push_back({t + names[k] + ".bias", dtypeOf(b.value()), {D},
                           loader(src, "visual." + s + "in_proj_bias", dtypeOf(b.value()), k * D, D)});
    }
    mapped.add("visual." + s + "in_proj_weight -> " + t + "{q,k,v}_proj.weight");
    mapped.add("visual." + s + "in_proj_bias -> " + t + "{q,k,v}_proj.bias");
  }
  std::vector<std::string> extra;
  for (const auto& [name, t] : visual) {
    if (used.count(name)) continue;
    if (name == "proj")
      ignored.add("visual.proj: CLIP's joint-embedding projection (DepictQA feeds the last layer's patch "
                  "tokens, before ln_post and proj)");
    else
      extra.push_back("visual." + name);
  }
  if (!extra.empty())
    return makeError("'" + path + "' holds vision tensors a CLIP ViT does not have: " + someNames(extra) +
                     "; this converter knows OpenAI's layout only");
  return v;
}

// ---------------------------------------------------------------- LLaMA (HF)
std::map<std::string, Shape> llamaShapes(const io::TextConfig& c) {
  const int64_t H = c.hiddenSize, I = c.intermediateSize, V = c.vocabSize;
  const int64_t q = int64_t(c.numHeads) * c.headDim, kv = int64_t(c.numKvHeads) * c.headDim;
  std::map<std::string, Shape> s;
  s["model.embed_tokens.weight"] = {V, H};
  for (int i = 0; i < c.numLayers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    s[p + "input_layernorm.weight"] = {H};
    s[p + "post_attention_layernorm.weight"] = {H};
    s[p + "self_attn.q_proj.weight"] = {q, H};
    s[p + "self_attn.k_proj.weight"] = {kv, H};
    s[p + "self_attn.v_proj.weight"] = {kv, H};
    s[p + "self_attn.o_proj.weight"] = {H, q};
    if (c.attentionBias) {
      s[p + "self_attn.q_proj.bias"] = {q};
      s[p + "self_attn.k_proj.bias"] = {kv};
      s[p + "self_attn.v_proj.bias"] = {kv};
      s[p + "self_attn.o_proj.bias"] = {H};
    }
    s[p + "mlp.gate_proj.weight"] = {I, H};
    s[p + "mlp.up_proj.weight"] = {I, H};
    s[p + "mlp.down_proj.weight"] = {H, I};
  }
  s["model.norm.weight"] = {H};
  s["lm_head.weight"] = {V, H};
  return s;
}

// config.json of the LLM -> our text_config (the same object, minus what names the class)
// and its parsed form.
Result<std::pair<json, io::TextConfig>> readLlmConfig(const std::string& dir) {
  const std::string path = dir + "/config.json";
  auto text = io::readTextFile(path);
  if (!text) return makeError("'" + dir + "' is not a Hugging Face model directory: " + text.message());
  json j = json::parse(text.value(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return makeError(path + " is not a JSON object");
  const std::string type = j.value("model_type", std::string());
  if (type != "llama")
    return makeError(path + " describes model_type \"" + type + "\"; DepictQA's LLM is a LLaMA (Vicuna-7B)");
  for (const char* k : {"architectures", "_name_or_path", "auto_map"}) j.erase(k);
  auto cfg = io::parseModelConfig(j.dump());
  if (!cfg) return makeError(path + ": " + cfg.message());
  return std::make_pair(j, cfg->text);
}

Result<std::vector<std::string>> shardsFromIndex(const std::string& dir, const std::string& index) {
  auto text = io::readTextFile(dir + "/" + index);
  if (!text) return text.error();
  json j = json::parse(text.value(), nullptr, false);
  auto map = j.is_object() ? j.find("weight_map") : j.end();
  if (map == j.end() || !map->is_object()) return makeError(dir + "/" + index + ": no weight_map; the index is damaged");
  std::set<std::string> shards;
  for (auto it = map->begin(); it != map->end(); ++it) {
    if (!it->is_string()) return makeError(dir + "/" + index + ": weight_map values must be file names");
    const std::string s = it->get<std::string>();
    if (s.empty() || s.find('/') != std::string::npos || s.find("..") != std::string::npos)
      return makeError(dir + "/" + index + ": shard name '" + s + "' must be a plain file name");
    shards.insert(s);
  }
  std::vector<std::string> out;
  for (const auto& s : shards) {
    if (!io::isRegularFile(dir + "/" + s)) return makeError("shard '" + s + "' listed in " + dir + "/" + index + " is missing");
    out.push_back(dir + "/" + s);
  }
  return out;
}

// The LLM's weight files; safetensors win over pickles when a directory has both.
Result<std::vector<std::string>> llmWeightFiles(const std::string& dir) {
  if (io::isRegularFile(dir + "/model.safetensors.index.json")) return shardsFromIndex(dir, "model.safetensors.index.json");
  if (io::isRegularFile(dir + "/model.safetensors")) return std::vector<std::string>{dir + "/model.safetensors"};
  if (io::isRegularFile(dir + "/pytorch_model.bin.index.json")) return shardsFromIndex(dir, "pytorch_model.bin.index.json");
  if (io::isRegularFile(dir + "/pytorch_model.bin")) return std::vector<std::string>{dir + "/pytorch_model.bin"};
  std::vector<std::string> st, bin;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (endsWith(n, ".safetensors")) st.push_back(e.path().string());
    else if (startsWith(n, "pytorch_model") && endsWith(n, ".bin")) bin.push_back(e.path().string());
  }
  std::sort(st.begin(), st.end());
  std::sort(bin.begin(), bin.end());
  if (!st.empty()) return st;
  if (!bin.empty()) return bin;
  return makeError("'" + dir + "' has no LLaMA weights: expected model.safetensors (or shards with "
                   "model.safetensors.index.json) or pytorch_model.bin (or shards with its index)");
}

// ---------------------------------------------------------------- DepictQA's delta
struct LoraModule {
  std::string a, b;  // names in ckpt.pt
  int layer = 0;
  std::string sub, proj;  // "self_attn", "q_proj"
};

struct DeltaPlan {
  std::shared_ptr<Source> src;
  std::map<std::string, LoraModule> lora;  // "model.layers.3.self_attn.q_proj" -> A, B
  int rank = 0;
  std::string projWeight, projBias;        // names in ckpt.pt ("" = absent)
};

Result<DeltaPlan> planDelta(const std::shared_ptr<TorchCheckpoint>& ckpt, const io::TextConfig& text,
                            int64_t visionWidth, GroupedLines& ignored) {
  const std::string& path = ckpt->path();
  DeltaPlan d;
  d.src = std::make_shared<Source>(fromCheckpoint(ckpt));
  for (const auto& s : ckpt->skipped()) ignored.add(s + ": not a tensor");
  static const std::regex kLora(
      R"(^model\.layers\.(\d+)\.(self_attn|mlp)\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)\.lora_(A|B)(\.[A-Za-z0-9_-]+)?\.weight$)");
  const auto shapes = llamaShapes(text);
  std::vector<std::string> unknown;
  std::set<std::string> adapterNames;
  std::map<std::string, const TensorInfo*> info;
  for (const auto& t : ckpt->tensors()) {
    info[t.name] = &t;
    std::string n = t.name;
    // Wrappers: DataParallel / deepspeed ("module."), DepictQA's attribute ("llm."),
    // peft's PeftModel + LoraModel ("base_model.model.").
    if (startsWith(n, "module.")) n = n.substr(7);
    if (n == "vision_proj.weight") { d.projWeight = t.name; continue; }
    if (n == "vision_proj.bias") { d.projBias = t.name; continue; }
    if (startsWith(n, "abstractor."))
      return makeError("'" + path + "' comes from DepictQA with a vision abstractor (" + t.name +
                       "), which this app does not implement; use a checkpoint trained without one (DQ495K, DepictQA-Wild)");
    if (startsWith(n, "llm.")) n = n.substr(4);
    if (startsWith(n, "base_model.model.")) n = n.substr(17);
    std::smatch m;
    if (!std::regex_match(n, m, kLora)) {
      unknown.push_back(t.name);
      continue;
    }
    const std::string key = "model.layers." + m[1].str() + "." + m[2].str() + "." + m[3].str();
    LoraModule& mod = d.lora[key];
    mod.layer = std::stoi(m[1].str());
    mod.sub = m[2].str();
    mod.proj = m[3].str();
    adapterNames.insert(m[5].str());
    std::string& slot = m[4].str() == "A" ? mod.a : mod.b;
    if (!slot.empty()) return makeError("'" + path + "' holds two LoRA " + m[4].str() + " matrices for " + key);
    slot = t.name;
  }
  if (!unknown.empty())
    return makeError("'" + path + "' holds tensors that are neither DepictQA's LoRA (peft names, e.g. "
                     "llm.base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight) nor its projector "
                     "(vision_proj.weight): " + someNames(unknown) + ". Is this DepictQA's ckpt.pt?");
  if (adapterNames.size() > 1)
    return makeError("'" + path + "' holds LoRA weights of several adapters (" + std::to_string(adapterNames.size()) +
                     " names); expected one");
  if (d.projWeight.empty())
    return makeError("'" + path + "' has no vision_proj.weight (the projector from CLIP into the LLM); "
                     "is this DepictQA's delta checkpoint (ckpt.pt)?");
  const TensorInfo& pw = *info[d.projWeight];
  if (pw.shape.size() == 2 && pw.shape[0] == text.hiddenSize && pw.shape[1] != visionWidth)
    return makeError("'" + path + "': vision_proj takes " + std::to_string(pw.shape[1]) + " inputs, but CLIP's patch "
                     "tokens have " + std::to_string(visionWidth) + " (a checkpoint of vision_feature_type: global? "
                     "only DepictQA's local patch features are supported)");
  auto ok = checkTensor(path, pw, {text.hiddenSize, visionWidth}, "projecting CLIP width " +
                        std::to_string(visionWidth) + " to LLaMA width " + std::to_string(text.hiddenSize));
  if (!ok) return ok.error();
  if (!d.projBias.empty()) {
    ok = checkTensor(path, *info[d.projBias], {text.hiddenSize}, "the projector");
    if (!ok) return ok.error();
  }
  for (const auto& [key, mod] : d.lora) {
    if (mod.a.empty() || mod.b.empty())
      return makeError("'" + path + "': the LoRA of " + key + " has " + (mod.a.empty() ? "no A" : "no B") +
                       " matrix; the checkpoint is incomplete");
    if (mod.layer >= text.numLayers)
      return makeError("'" + path + "': LoRA for layer " + std::to_string(mod.layer) + ", but the LLM has " +
                       std::to_string(text.numLayers) + " layers; the files do not belong together");
    const Shape& w = shapes.at(key + ".weight");  // [out, in]
    const TensorInfo& a = *info[mod.a];
    if (a.shape.size() != 2 || a.shape[0] < 1)
      return makeError("'" + path + "': " + mod.a + " has shape " + shapeStr(a.shape) + ", expected [rank, " +
                       std::to_string(w[1]) + "]");
    if (d.rank == 0) d.rank = static_cast<int>(a.shape[0]);
    ok = checkTensor(path, a, {d.rank, w[1]}, "LoRA rank " + std::to_string(d.rank) + " on " + key + " " + shapeStr(w));
    if (!ok) return ok.error();
    ok = checkTensor(path, *info[mod.b], {w[0], d.rank}, "LoRA rank " + std::to_string(d.rank) + " on " + key + " " + shapeStr(w));
    if (!ok) return ok.error();
  }
  return d;
}

// ---------------------------------------------------------------- output directory
bool isWithin(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin(), o = outer.begin();
  for (; o != outer.end(); ++o, ++i)
    if (i == inner.end() || *i != *o) return false;
  return true;
}

fs::path normalizedDirectory(const std::string& p) {
  fs::path out = fs::absolute(fs::path(p)).lexically_normal();
  if (!out.has_filename()) out = out.parent_path();  // "out/" -> "out"
  return out;
}

// Removes the temporary directory unless the conversion got to the end.
struct TempDirGuard {
  fs::path dir;
  bool keep = false;
  ~TempDirGuard() {
    std::error_code ec;
    if (!keep && !dir.empty()) fs::remove_all(dir, ec);
  }
};

Status writeText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.flush();
  if (!out) return makeError("cannot write '" + path.string() + "' (disk full?)");
  return Ok{};
}

std::string humanBytes(uint64_t b) {
  char buf[32];
  if (b >= (1ull << 30)) std::snprintf(buf, sizeof(buf), "%.2f GB", double(b) / double(1ull << 30));
  else std::snprintf(buf, sizeof(buf), "%.1f MB", double(b) / double(1ull << 20));
  return buf;
}

Result<ConvertReport> convertImpl(const ConvertOptions& o, const ConvertLog& logFn) {
  auto log = [&](const std::string& s) { if (logFn) logFn(s); };
  auto requested = parseDtype(o.dtype);
  if (!requested) return requested.error();
  if (o.clipPath.empty() || o.llmDirectory.empty() || o.deltaPath.empty() || o.outputDirectory.empty())
    return makeError("convert needs the CLIP archive (--clip), the LLM directory (--llm), DepictQA's delta "
                     "checkpoint (--delta) and an output directory (--output)");
  if (!io::isRegularFile(o.clipPath)) return makeError("CLIP archive '" + o.clipPath + "' does not exist or is not a file");
  if (!io::isDirectory(o.llmDirectory)) return makeError("LLM directory '" + o.llmDirectory + "' does not exist or is not a directory");
  if (!io::isRegularFile(o.deltaPath)) return makeError("delta checkpoint '" + o.deltaPath + "' does not exist or is not a file");
  const std::string tokenizerPath = o.tokenizerPath.empty() ? o.llmDirectory + "/tokenizer.model" : o.tokenizerPath;
  if (!io::isRegularFile(tokenizerPath))
    return makeError("no SentencePiece tokenizer at '" + tokenizerPath + "'; Vicuna ships tokenizer.model next to "
                     "config.json, or pass --tokenizer FILE");

  // The output: refuse early, before minutes of reading, and never inside an input.
  const fs::path out = normalizedDirectory(o.outputDirectory);
  std::error_code ec;
  if (fs::exists(out, ec)) {
    if (!fs::is_directory(out, ec)) return makeError("output '" + out.string() + "' exists and is not a directory");
    if (!fs::is_empty(out, ec) && !o.force)
      return makeError("output directory '" + out.string() + "' exists and is not empty; pass --force to replace it");
  }
  for (const std::string& input : {o.clipPath, o.llmDirectory, o.deltaPath, tokenizerPath}) {
    const fs::path in = fs::weakly_canonical(fs::absolute(input), ec);
    const fs::path outCanonical = fs::weakly_canonical(out, ec);
    if (isWithin(in, outCanonical))
      return makeError("the output directory '" + out.string() + "' holds the input '" + input +
                       "'; choose an output directory of its own");
  }

  ConvertReport report;
  GroupedLines mapped, ignored;

  log("reading LLM config " + o.llmDirectory + "/config.json");
  auto llmConfig = readLlmConfig(o.llmDirectory);
  if (!llmConfig) return llmConfig.error();
  const io::TextConfig& text = llmConfig->second;
  {
    auto tok = text::Tokenizer::load(tokenizerPath);
    if (!tok) return makeError("tokenizer '" + tokenizerPath + "': " + tok.message());
    if (tok.value()->vocabSize() > text.vocabSize)
      return makeError("tokenizer '" + tokenizerPath + "' has " + std::to_string(tok.value()->vocabSize()) +
                       " pieces but the LLM's vocab_size is " + std::to_string(text.vocabSize) +
                       "; they do not belong together");
  }

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
  const DeltaPlan& dp = delta.value();
  const double alpha = o.loraAlpha > 0 ? o.loraAlpha : dp.rank;
  const double scaling = dp.rank > 0 ? alpha / dp.rank : 0.0;
  const bool merge = o.mergeLora && !dp.lora.empty();
  if (!merge && !dp.lora.empty()) {
    // Our loader (like peft) finds the adapter's name prefix from layer 0's attention.
    bool layer0 = false;
    for (const auto& [key, mod] : dp.lora) layer0 |= mod.layer == 0 && mod.sub == "self_attn";
    if (!layer0)
      return makeError("'" + o.deltaPath + "' has no LoRA on layer 0's attention, which an adapter directory needs; "
                       "convert with --merge-lora");
  }
  auto castTo = [&](at::ScalarType stored) { return requested.value() == at::ScalarType::Undefined ? stored : requested.value(); };

  std::vector<Planned> planned = vision->tensors;
  {
    const TensorInfo& w = *deltaFile.value()->find(dp.projWeight);
    planned.push_back({"multi_modal_projector.linear_1.weight", castTo(w.dtype), w.shape, loader(dp.src, dp.projWeight, castTo(w.dtype))});
    mapped.add(dp.projWeight + " -> multi_modal_projector.linear_1.weight");
    if (!dp.projBias.empty()) {
      const TensorInfo& b = *deltaFile.value()->find(dp.projBias);
      planned.push_back({"multi_modal_projector.linear_1.bias", castTo(b.dtype), b.shape, loader(dp.src, dp.projBias, castTo(b.dtype))});
      mapped.add(dp.projBias + " -> multi_modal_projector.linear_1.bias");
    }
  }

  // The LLM: every tensor checked against config.json, LoRA folded in where asked.
  auto files = llmWeightFiles(o.llmDirectory);
  if (!files) return files.error();
  const auto shapes = llamaShapes(text);
  std::set<std::string> seen;
  std::vector<std::string> unexpected;
  std::vector<std::shared_ptr<Source>> sources;
  for (const auto& f : files.value()) {
    log("reading LLM weights " + f);
    std::shared_ptr<Source> src;
    if (endsWith(f, ".safetensors")) {
      auto s = openSafetensors(f);
      if (!s) return s.error();
      src = std::make_shared<Source>(std::move(s.value()));
    } else {
      auto c = TorchCheckpoint::open(f);
      if (!c) return c.error();
      for (const auto& s : c.value()->skipped()) ignored.add(s + ": not a tensor");
      src = std::make_shared<Source>(fromCheckpoint(c.value()));
    }
    sources.push_back(src);
    for (const auto& t : src->tensors) {
      if (endsWith(t.name, ".rotary_emb.inv_freq")) {
        ignored.add(t.name + ": RoPE frequencies, recomputed from rope_theta");
        continue;
      }
      auto it = shapes.find(t.name);
      if (it == shapes.end()) {
        unexpected.push_back(t.name);
        continue;
      }
      if (!seen.insert(t.name).second)
        return makeError("tensor '" + t.name + "' appears in more than one LLM weight file (" + f + ")");
      auto ok = checkTensor(f, t, it->second, "the LLaMA that " + o.llmDirectory + "/config.json describes");
      if (!ok) return ok.error();
      const std::string target = "language_model." + t.name;
      const at::ScalarType dtype = castTo(t.dtype);
      const std::string module = t.name.substr(0, t.name.size() - std::string(".weight").size());
      auto lora = dp.lora.find(module);
      if (merge && endsWith(t.name, ".weight") && lora != dp.lora.end()) {
        const LoraModule mod = lora->second;
        auto deltaSrc = dp.src;
        const std::string name = t.name;
        // W' = W + (alpha / r) B A, in float32 whatever the stored type.
        planned.push_back({target, dtype, t.shape, [src, deltaSrc, name, mod, scaling, dtype]() -> Result<at::Tensor> {
                             auto w = src->load(name);
                             if (!w) return w.error();
                             auto a = deltaSrc->load(mod.a);  // [r, in]
                             if (!a) return a.error();
                             auto b = deltaSrc->load(mod.b);  // [out, r]
                             if (!b) return b.error();
                             at::Tensor merged = w.value().to(at::kFloat) +
                                                 at::matmul(b.value().to(at::kFloat), a.value().to(at::kFloat)) * scaling;
                             return merged.to(dtype).contiguous();  // [out, in]
                           }});
        mapped.add(t.name + " + LoRA(" + mod.a + ", " + mod.b + ") -> " + target);
      } else {
        planned.push_back({target, dtype, t.shape, loader(src, t.name, dtype)});
        mapped.add(t.name + " -> " + target);
      }
    }
  }
  if (!unexpected.empty())
    return makeError("the LLM's weights hold tensors a LLaMA with this config.json does not have: " +
                     someNames(unexpected) + "; is " + o.llmDirectory + " a LLaMA / Vicuna checkpoint?");
  std::vector<std::string> missing;
  for (const auto& [name, shape] : shapes)
    if (!seen.count(name) && !(name == "lm_head.weight" && text.tieWordEmbeddings)) missing.push_back(name);
  if (!missing.empty())
    return makeError("the LLM's weights lack " + someNames(missing) + " (" + std::to_string(missing.size()) +
                     " tensors); a shard is missing or the checkpoint does not match its config.json");

  // The LoRA: an adapter directory (peft layout under our LLaVA names), or merged above.
  std::vector<Planned> adapter;
  std::set<std::string> targetModules;
  for (const auto& [key, mod] : dp.lora) {
    targetModules.insert(mod.proj);
    if (merge) continue;
    const std::string base = "base_model.model.language_model." + key;
    for (const auto& [from, suffix] : {std::pair{mod.a, ".lora_A.weight"}, std::pair{mod.b, ".lora_B.weight"}}) {
      const TensorInfo& t = *deltaFile.value()->find(from);
      adapter.push_back({base + suffix, castTo(t.dtype), t.shape, loader(dp.src, from, castTo(t.dtype))});
      mapped.add(from + " -> adapter/" + base + suffix);
    }
  }

  // config.json, checked by the same parser the Engine uses before anything is written.
  at::ScalarType embedDtype = at::kFloat;
  for (const auto& src : sources)
    for (const auto& t : src->tensors)
      if (t.name == "model.embed_tokens.weight") embedDtype = t.dtype;
  const at::ScalarType textDtype = castTo(embedDtype);
  json visionConfig = {{"model_type", "clip_vision_model"}, {"hidden_size", vision->width},
                       {"intermediate_size", vision->mlp}, {"num_hidden_layers", vision->layers},
                       {"num_attention_heads", vision->heads}, {"image_size", vision->grid * vision->patch},
                       {"patch_size", vision->patch}, {"num_channels", 3}, {"hidden_act", "quick_gelu"},
                       {"layer_norm_eps", 1e-5}};
  json textConfig = llmConfig->first;
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
                   {"lora_alpha", alpha},
                   {"lora", dp.lora.empty() ? "none" : merge ? "merged" : "adapter"}}}};
  auto parsed = io::parseModelConfig(config.dump());
  if (!parsed) return makeError("the converted config.json would not load: " + parsed.message());

  // Write into a hidden sibling directory; rename it into place at the end.
  fs::create_directories(out.parent_path(), ec);
  if (ec) return makeError("cannot create '" + out.parent_path().string() + "': " + ec.message());
  TempDirGuard tmp;
  tmp.dir = out.parent_path() / ("." + out.filename().string() + ".partial-" + std::to_string(::getpid()));
  fs::remove_all(tmp.dir, ec);
  if (!fs::create_directory(tmp.dir, ec))
    return makeError("cannot create '" + tmp.dir.string() + "': " + (ec ? ec.message() : "exists"));

  auto writeAll = [&](const fs::path& file, const std::vector<Planned>& tensors, bool progress) -> Status {
    std::vector<io::TensorSpec> specs;
    uint64_t total = 0;
    for (const auto& p : tensors) {
      auto d = ioDtype(p.dtype);
      if (!d) return makeError(p.name + ": " + d.message());
      specs.push_back({p.name, d.value(), p.shape});
      uint64_t n = c10::elementSize(p.dtype);
      for (int64_t s : p.shape) n *= static_cast<uint64_t>(s);
      total += n;
    }
    if (progress) log("writing " + std::to_string(tensors.size()) + " tensors (" + humanBytes(total) + ") to " + file.string());
    at::Tensor current;  // alive until the writer asks for the next one
    uint64_t written = 0;
    int lastDecile = 0;
    auto produce = [&](size_t i) -> Result<io::TensorBytes> {
      auto t = tensors[i].make();
      if (!t) return t.error();
      current = t.value();
      if (current.scalar_type() != tensors[i].dtype || current.sizes().vec() != tensors[i].shape)
        return makeError("internal: " + tensors[i].name + " came out as " + c10::toString(current.scalar_type()) + " " +
                         shapeStr(current.sizes().vec()));
      written += static_cast<uint64_t>(current.nbytes());
      const int decile = total ? static_cast<int>(10 * written / total) : 10;
      if (progress && decile > lastDecile && decile < 10) {
        lastDecile = decile;
        log("  " + std::to_string(decile * 10) + "% (" + humanBytes(written) + ")");
      }
      return io::TensorBytes{current.data_ptr(), static_cast<size_t>(current.nbytes())};
    };
    auto ok = io::writeSafetensorsStreamed(file.string(), specs, produce, {{"format", "pt"}});
    if (!ok) return ok;
    report.tensorsWritten += static_cast<int64_t>(tensors.size());
    report.bytesWritten += total;
    return Ok{};
  };

  auto ok = writeAll(tmp.dir / "model.safetensors", planned, true);
  if (!ok) return ok.error();
  if (!adapter.empty()) {
    fs::create_directory(tmp.dir / "adapter", ec);
    ok = writeAll(tmp.dir / "adapter" / "adapter_model.safetensors", adapter, false);
    if (!ok) return ok.error();
    json adapterConfig = {{"peft_type", "LORA"},
                          {"task_type", "CAUSAL_LM"},
                          {"r", dp.rank},
                          {"lora_alpha", alpha},
                          {"lora_dropout", 0.0},
                          {"bias", "none"},
                          {"fan_in_fan_out", false},
                          {"target_modules", std::vector<std::string>(targetModules.begin(), targetModules.end())},
                          {"inference_mode", true}};
    ok = writeText(tmp.dir / "adapter" / "adapter_config.json", adapterConfig.dump(2) + "\n");
    if (!ok) return ok.error();
  }
  ok = writeText(tmp.dir / "config.json", config.dump(2) + "\n");
  if (!ok) return ok.error();
  fs::copy_file(tokenizerPath, tmp.dir / "tokenizer.model", fs::copy_options::overwrite_existing, ec);
  if (ec) return makeError("cannot copy the tokenizer '" + tokenizerPath + "': " + ec.message());
  // A read-only source (a package, a shared fixture) must not make the copy read-only.
  fs::permissions(tmp.dir / "tokenizer.model", fs::perms::owner_read | fs::perms::owner_write |
                  fs::perms::group_read | fs::perms::others_read, ec);

  // What the Engine will see: the files it discovers, the config it parses, the header.
  {
    auto found = io::discoverModelFiles(tmp.dir.string());
    if (!found) return makeError("the converted directory does not look like a model: " + found.message());
    if (found->adapterDirectory.empty() != adapter.empty())
      return makeError("internal: the converted adapter directory is not where the loader looks");
    auto file = io::SafetensorsFile::open((tmp.dir / "model.safetensors").string());
    if (!file) return makeError("the written model.safetensors does not read back: " + file.message());
    if (file.value()->tensors().size() != planned.size())
      return makeError("internal: model.safetensors holds " + std::to_string(file.value()->tensors().size()) +
                       " tensors, planned " + std::to_string(planned.size()));
  }

  // Into place: an existing (empty, or --force) output is moved aside first and removed
  // only once the new one is there.
  fs::path old;
  if (fs::exists(out, ec)) {
    old = out.parent_path() / ("." + out.filename().string() + ".replaced-" + std::to_string(::getpid()));
    fs::remove_all(old, ec);
    fs::rename(out, old, ec);
    if (ec) return makeError("cannot move the old '" + out.string() + "' aside: " + ec.message());
  }
  fs::rename(tmp.dir, out, ec);
  if (ec) {
    std::error_code ignore;
    if (!old.empty()) fs::rename(old, out, ignore);
    return makeError("cannot rename '" + tmp.dir.string() + "' to '" + out.string() + "': " + ec.message());
  }
  tmp.keep = true;
  if (!old.empty()) fs::remove_all(old, ec);

  report.outputDirectory = out.string();
  report.mapped = mapped.lines();
  report.ignored = ignored.lines();
  report.visionWidth = static_cast<int>(vision->width);
  report.visionLayers = static_cast<int>(vision->layers);
  report.visionHeads = static_cast<int>(vision->heads);
  report.patchSize = static_cast<int>(vision->patch);
  report.imageSize = static_cast<int>(vision->grid * vision->patch);
  report.textHidden = text.hiddenSize;
  report.textLayers = text.numLayers;
  report.vocabSize = text.vocabSize;
  report.loraRank = dp.rank;
  report.loraModules = static_cast<int>(dp.lora.size());
  report.loraAlpha = dp.lora.empty() ? 0 : alpha;
  report.loraMerged = merge;
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
    return makeError("conversion ran out of memory; a 7B LLM needs RAM for its largest tensor plus CLIP "
                     "(about 2 GB), more with --merge-lora");
  } catch (const std::exception& e) {
    return makeError(std::string("conversion failed: ") + e.what());
  }
}

}  // namespace dqa::convert
