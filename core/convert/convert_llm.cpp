// The LLaMA directory (Hugging Face layout) and DepictQA's delta checkpoint (LoRA A/B under
// peft names + the vision projector): every tensor checked against the LLM's config.json,
// the LoRA folded into the weights or kept for an adapter directory.
#include <algorithm>
#include <regex>

#include "core/convert/convert_plan.h"
#include "core/io/model_dir.h"

namespace dqa::convert::plan {

using nlohmann::json;

namespace {

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

Result<std::vector<std::string>> shardsFromIndex(const std::string& dir, const std::string& index) {
  auto text = io::readTextFile(dir + "/" + index);
  if (!text) return text.error();
  json j = json::parse(text.value(), nullptr, false);
  auto map = j.is_object() ? j.find("weight_map") : j.end();
  if (map == j.end() || !map->is_object())
    return makeError(dir + "/" + index + ": no weight_map; the index is damaged");
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
    if (!io::isRegularFile(dir + "/" + s))
      return makeError("shard '" + s + "' listed in " + dir + "/" + index + " is missing");
    out.push_back(dir + "/" + s);
  }
  return out;
}

// The LLM's weight files; safetensors win over pickles when a directory has both.
Result<std::vector<std::string>> llmWeightFiles(const std::string& dir) {
  if (io::isRegularFile(dir + "/model.safetensors.index.json"))
    return shardsFromIndex(dir, "model.safetensors.index.json");
  if (io::isRegularFile(dir + "/model.safetensors")) return std::vector<std::string>{dir + "/model.safetensors"};
  if (io::isRegularFile(dir + "/pytorch_model.bin.index.json"))
    return shardsFromIndex(dir, "pytorch_model.bin.index.json");
  if (io::isRegularFile(dir + "/pytorch_model.bin")) return std::vector<std::string>{dir + "/pytorch_model.bin"};
  std::vector<std::string> st, bin;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (endsWith(n, ".safetensors"))
      st.push_back(e.path().string());
    else if (startsWith(n, "pytorch_model") && endsWith(n, ".bin"))
      bin.push_back(e.path().string());
  }
  std::sort(st.begin(), st.end());
  std::sort(bin.begin(), bin.end());
  if (!st.empty()) return st;
  if (!bin.empty()) return bin;
  return makeError("'" + dir +
                   "' has no LLaMA weights: expected model.safetensors (or shards with "
                   "model.safetensors.index.json) or pytorch_model.bin (or shards with its index)");
}

}  // namespace

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
    if (n == "vision_proj.weight") {
      d.projWeight = t.name;
      continue;
    }
    if (n == "vision_proj.bias") {
      d.projBias = t.name;
      continue;
    }
    if (startsWith(n, "abstractor."))
      return makeError(
          "'" + path + "' comes from DepictQA with a vision abstractor (" + t.name +
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
    return makeError("'" + path +
                     "' holds tensors that are neither DepictQA's LoRA (peft names, e.g. "
                     "llm.base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight) nor its projector "
                     "(vision_proj.weight): " +
                     someNames(unknown) + ". Is this DepictQA's ckpt.pt?");
  if (adapterNames.size() > 1)
    return makeError("'" + path + "' holds LoRA weights of several adapters (" + std::to_string(adapterNames.size()) +
                     " names); expected one");
  if (d.projWeight.empty())
    return makeError("'" + path +
                     "' has no vision_proj.weight (the projector from CLIP into the LLM); "
                     "is this DepictQA's delta checkpoint (ckpt.pt)?");
  const TensorInfo& pw = *info[d.projWeight];
  if (pw.shape.size() == 2 && pw.shape[0] == text.hiddenSize && pw.shape[1] != visionWidth)
    return makeError("'" + path + "': vision_proj takes " + std::to_string(pw.shape[1]) +
                     " inputs, but CLIP's patch "
                     "tokens have " +
                     std::to_string(visionWidth) +
                     " (a checkpoint of vision_feature_type: global? "
                     "only DepictQA's local patch features are supported)");
  auto ok = checkTensor(
      path, pw, {text.hiddenSize, visionWidth},
      "projecting CLIP width " + std::to_string(visionWidth) + " to LLaMA width " + std::to_string(text.hiddenSize));
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
    ok = checkTensor(path, *info[mod.b], {w[0], d.rank},
                     "LoRA rank " + std::to_string(d.rank) + " on " + key + " " + shapeStr(w));
    if (!ok) return ok.error();
  }
  return d;
}

namespace {

Result<std::shared_ptr<Source>> openLlmFile(const std::string& f, GroupedLines& ignored) {
  if (endsWith(f, ".safetensors")) {
    auto s = openSafetensors(f);
    if (!s) return s.error();
    return std::make_shared<Source>(std::move(s.value()));
  }
  auto c = TorchCheckpoint::open(f);
  if (!c) return c.error();
  for (const auto& s : c.value()->skipped()) ignored.add(s + ": not a tensor");
  return std::make_shared<Source>(fromCheckpoint(c.value()));
}

// W' = W + (alpha / r) B A, computed in float32 whatever the stored type.
Planned mergedWithLora(const std::shared_ptr<Source>& src, const TensorInfo& t, const std::string& target,
                       at::ScalarType dtype, const std::shared_ptr<Source>& deltaSrc, const LoraModule& mod,
                       double scaling) {
  const std::string name = t.name;
  return {target, dtype, t.shape, [src, deltaSrc, name, mod, scaling, dtype]() -> Result<at::Tensor> {
            auto w = src->load(name);
            if (!w) return w.error();
            auto a = deltaSrc->load(mod.a);  // [r, in]
            if (!a) return a.error();
            auto b = deltaSrc->load(mod.b);  // [out, r]
            if (!b) return b.error();
            at::Tensor merged =
                w.value().to(at::kFloat) + at::matmul(b.value().to(at::kFloat), a.value().to(at::kFloat)) * scaling;
            return merged.to(dtype).contiguous();  // [out, in]
          }};
}

// What config.json promised and the files did not hold, or held beyond it.
Status checkLlmComplete(const std::string& llmDirectory, const io::TextConfig& text,
                        const std::map<std::string, Shape>& shapes, const std::set<std::string>& seen,
                        const std::vector<std::string>& unexpected) {
  if (!unexpected.empty())
    return makeError("the LLM's weights hold tensors a LLaMA with this config.json does not have: " +
                     someNames(unexpected) + "; is " + llmDirectory + " a LLaMA / Vicuna checkpoint?");
  std::vector<std::string> missing;
  for (const auto& [name, shape] : shapes)
    if (!seen.count(name) && !(name == "lm_head.weight" && text.tieWordEmbeddings)) missing.push_back(name);
  if (!missing.empty())
    return makeError("the LLM's weights lack " + someNames(missing) + " (" + std::to_string(missing.size()) +
                     " tensors); a shard is missing or the checkpoint does not match its config.json");
  return Ok{};
}

}  // namespace

Result<LlmPlan> planLlm(const std::string& llmDirectory, const io::TextConfig& text, const DeltaPlan& delta,
                        const LoraApplication& lora, GroupedLines& mapped, GroupedLines& ignored,
                        const ConvertLog& log) {
  auto files = llmWeightFiles(llmDirectory);
  if (!files) return files.error();
  const auto shapes = llamaShapes(text);
  std::set<std::string> seen;
  std::vector<std::string> unexpected;
  LlmPlan plan;
  for (const auto& f : files.value()) {
    if (log) log("reading LLM weights " + f);
    auto src = openLlmFile(f, ignored);
    if (!src) return src.error();
    for (const auto& t : src.value()->tensors) {
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
      auto ok = checkTensor(f, t, it->second, "the LLaMA that " + llmDirectory + "/config.json describes");
      if (!ok) return ok.error();
      if (t.name == "model.embed_tokens.weight") plan.embedDtype = t.dtype;
      const std::string target = "language_model." + t.name;
      const at::ScalarType dtype = lora.castTo(t.dtype);
      const std::string module = t.name.substr(0, t.name.size() - std::string(".weight").size());
      auto mod = delta.lora.find(module);
      if (lora.merge && endsWith(t.name, ".weight") && mod != delta.lora.end()) {
        plan.tensors.push_back(mergedWithLora(src.value(), t, target, dtype, delta.src, mod->second, lora.scaling));
        mapped.add(t.name + " + LoRA(" + mod->second.a + ", " + mod->second.b + ") -> " + target);
      } else {
        plan.tensors.push_back({target, dtype, t.shape, loader(src.value(), t.name, dtype)});
        mapped.add(t.name + " -> " + target);
      }
    }
  }
  auto complete = checkLlmComplete(llmDirectory, text, shapes, seen, unexpected);
  if (!complete) return complete.error();
  return plan;
}

}  // namespace dqa::convert::plan
