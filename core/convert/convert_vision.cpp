// OpenAI's CLIP ViT archive (visual.*) -> Hugging Face's CLIPVisionModel names
// (vision_tower.*), every tensor's shape checked against the width, depth and grid the
// archive itself implies.
#include <cmath>
#include <regex>

#include "core/convert/convert_plan.h"

namespace dqa::convert::plan {

namespace {

using VisualTensors = std::map<std::string, TensorInfo>;  // names without "visual."

// Width, patch, grid, depth and MLP size, as the archive's own tensors imply them.
Result<VisionPlan> visionGeometry(const std::string& path, const VisualTensors& visual) {
  auto conv = visual.find("conv1.weight");
  if (conv == visual.end() || conv->second.shape.size() != 4 || conv->second.shape[2] != conv->second.shape[3])
    return makeError("'" + path +
                     "': visual.conv1.weight (the patch embedding, [width, 3, patch, patch]) is missing "
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
    return makeError("'" + path + "': the visual transformer's blocks are not numbered 0.." +
                     std::to_string(v.layers - 1) + "; some are missing");
  auto fc = visual.find("transformer.resblocks.0.mlp.c_fc.weight");
  if (fc == visual.end() || fc->second.shape.size() != 2)
    return makeError("'" + path + "': visual.transformer.resblocks.0.mlp.c_fc.weight is missing or misshaped");
  v.mlp = fc->second.shape[0];
  return v;
}

// Attention heads: --vision-heads, the attribute a scripted archive keeps, or OpenAI's rule.
Status visionHeads(const TorchCheckpoint& clip, const ConvertOptions& o, VisionPlan& v) {
  if (o.visionHeads > 0) {
    v.heads = o.visionHeads;
  } else if (auto a = clip.intAttributes().find("visual.transformer.resblocks.0.attn.num_heads");
             a != clip.intAttributes().end()) {
    v.heads = a->second;
  } else if (v.width % 64 == 0) {
    v.heads = v.width / 64;  // OpenAI's rule for every ViT CLIP: heads of width 64
  } else {
    return makeError("'" + clip.path() + "': cannot tell the attention heads of a width-" + std::to_string(v.width) +
                     " encoder (not a multiple of 64); pass --vision-heads");
  }
  if (v.heads <= 0 || v.width % v.heads != 0)
    return makeError("vision width " + std::to_string(v.width) + " is not divisible by " + std::to_string(v.heads) +
                     " heads");

  return Ok{};
}

// source (under visual.) -> target (under vision_tower.), expected shape; the stacked
// q/k/v projections are split separately.
struct Rename {
  std::string from, to;
  Shape shape;
};

std::vector<Rename> visionRenames(const VisionPlan& v, const VisualTensors& visual) {
  const int64_t D = v.width, I = v.mlp;
  std::vector<Rename> maps = {
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
  return maps;
}

// Every visual tensor must have been used, except CLIP's joint-embedding projection.
Status checkNothingLeft(const std::string& path, const VisualTensors& visual, const std::set<std::string>& used,
                        GroupedLines& ignored) {
  std::vector<std::string> extra;
  for (const auto& [name, t] : visual) {
    if (used.count(name)) continue;
    if (name == "proj")
      ignored.add(
          "visual.proj: CLIP's joint-embedding projection (DepictQA feeds the last layer's patch "
          "tokens, before ln_post and proj)");
    else
      extra.push_back("visual." + name);
  }
  if (!extra.empty())
    return makeError("'" + path + "' holds vision tensors a CLIP ViT does not have: " + someNames(extra) +
                     "; this converter knows OpenAI's layout only");
  return Ok{};
}

}  // namespace

Result<VisionPlan> planVision(const std::shared_ptr<TorchCheckpoint>& clip, const ConvertOptions& o,
                              at::ScalarType requested, GroupedLines& mapped, GroupedLines& ignored) {
  const std::string& path = clip->path();
  auto src = std::make_shared<Source>(fromCheckpoint(clip));
  std::map<std::string, TensorInfo> visual;  // without "visual."
  for (const auto& t : clip->tensors()) {
    if (startsWith(t.name, "visual."))
      visual[t.name.substr(7)] = t;
    else
      ignored.add(t.name + ": outside visual.*, CLIP's text tower (DepictQA uses only the image encoder)");
  }
  for (const auto& s : clip->skipped()) ignored.add(s + ": not a tensor");
  if (visual.empty())
    return makeError("'" + path + "' has no visual.* tensors; expected OpenAI's CLIP archive (ViT-L-14.pt)");
  if (visual.count("layer1.0.conv1.weight") || visual.count("attnpool.c_proj.weight"))
    return makeError("'" + path + "' is a ResNet CLIP (RN50 ...); DepictQA uses the ViT-L/14 encoder (ViT-L-14.pt)");
  auto geometry = visionGeometry(path, visual);
  if (!geometry) return geometry.error();
  VisionPlan v = std::move(geometry.value());
  if (auto ok = visionHeads(*clip, o, v); !ok) return ok.error();
  const int64_t D = v.width;
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
  for (const auto& m : visionRenames(v, visual)) {
    auto t = need(m.from, m.shape);
    if (!t) return t.error();
    v.tensors.push_back(
        {"vision_tower." + m.to, dtypeOf(t.value()), m.shape, loader(src, "visual." + m.from, dtypeOf(t.value()))});
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
      v.tensors.push_back({t + names[k] + ".weight",
                           dtypeOf(w.value()),
                           {D, D},
                           loader(src, "visual." + s + "in_proj_weight", dtypeOf(w.value()), k * D, D)});
      v.tensors.push_back({t + names[k] + ".bias",
                           dtypeOf(b.value()),
                           {D},
                           loader(src, "visual." + s + "in_proj_bias", dtypeOf(b.value()), k * D, D)});
    }
    mapped.add("visual." + s + "in_proj_weight -> " + t + "{q,k,v}_proj.weight");
    mapped.add("visual." + s + "in_proj_bias -> " + t + "{q,k,v}_proj.bias");
  }
  if (auto ok = checkNothingLeft(path, visual, used, ignored); !ok) return ok.error();
  return v;
}

}  // namespace dqa::convert::plan
