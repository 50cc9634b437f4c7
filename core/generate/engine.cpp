#include "core/generate/engine.h"
#include "core/generate/engine_impl.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/data/answer_grammar.h"
#include "core/data/labels.h"
#include "core/data/parser.h"
#include "core/data/questionnaire.h"
#include "core/generate/session.h"
#include "core/image/preprocess.h"
#include "core/model/fusion.h"
#include "core/model/multimodal.h"
#include "core/model/vision_input.h"
#include "core/model/visual_tokens.h"
#include "core/text/tokenizer.h"

namespace dqa {
namespace {

Result<at::ScalarType> parseDType(const std::string& name, const at::Device& device) {
  if (name == "auto") return device.is_cuda() ? at::kBFloat16 : at::kFloat;
  if (name == "f32" || name == "float32") return at::kFloat;
  if (name == "bf16" || name == "bfloat16") return at::kBFloat16;
  if (name == "f16" || name == "float16") return at::kHalf;
  return makeError("unknown dtype '" + name + "' (auto, f32, bf16, f16)");
}

const char* dtypeLabel(at::ScalarType t) { return t == at::kBFloat16 ? "bf16" : t == at::kHalf ? "f16" : "f32"; }

const char* architectureName(io::Architecture a) {
  switch (a) {
    case io::Architecture::Llava:
      return "llava";
    case io::Architecture::Llama:
      return "llama";
    case io::Architecture::ClipVision:
      return "clip_vision_model";
  }
  return "?";
}

// The pixels of one role as given in the request.
const cv::Mat& imageForRole(const AskRequest& r, text::ImageRole role) {
  switch (role) {
    case text::ImageRole::Reference:
      return r.reference;
    case text::ImageRole::B:
      return r.imageB;
    case text::ImageRole::A:
    case text::ImageRole::Single:
      return r.imageA;
  }
  return r.imageA;
}

// Encoding options that let the prompt fit the context window with room for an answer:
// large images are downscaled (CLIP) or pooled into fewer tokens (quality encoder)
// further rather than refused (a 600-pixel photo and three images would otherwise
// overflow a small model's 1024 positions). Stops at the smallest setting; if even that
// does not fit, generation reports it.
model::EncodeOptions fitContext(const AskRequest& request, const text::Prompt& prompt,
                                const std::vector<text::TokenizedChunk>& chunks, const io::ModelConfig& cfg,
                                int maxNewTokens) {
  int64_t textTokens = 1;  // BOS
  for (const auto& chunk : chunks) textTokens += int64_t(chunk.ids.size());
  const int64_t budget = int64_t(cfg.text.maxPositions) - textTokens - std::clamp(maxNewTokens, 1, 64);
  model::EncodeOptions o;
  const bool quality = cfg.vision.kind == io::VisionKind::QualityConv;
  const image::PreprocessOptions defaults;
  o.clipMaxSide = std::max(3 * cfg.vision.imageSize, defaults.minSide);
  o.maxTokenGrid = cfg.vision.maxTokenGrid;
  for (;;) {
    int64_t tokens = 0;
    for (text::ImageRole role : prompt.images()) {
      const cv::Mat& m = imageForRole(request, role);
      if (!m.empty()) tokens += model::visualTokenCount(cfg, m.cols, m.rows, o);
    }
    if (tokens <= budget) return o;
    if (quality) {
      if (o.maxTokenGrid == 1) return o;
      --o.maxTokenGrid;
    } else {
      if (o.clipMaxSide == defaults.minSide) return o;
      o.clipMaxSide = std::max(defaults.minSide, o.clipMaxSide - cfg.vision.patchSize);
    }
  }
}

ImageGeometry geometryOf(const model::EncodedImage& e, const cv::Mat& source) {
  ImageGeometry g;
  g.role = e.role;
  g.sourceWidth = source.cols;
  g.sourceHeight = source.rows;
  g.contentWidth = e.contentWidth;
  g.contentHeight = e.contentHeight;
  g.paddedWidth = e.paddedWidth;
  g.paddedHeight = e.paddedHeight;
  g.gridWidth = e.gridWidth;
  g.gridHeight = e.gridHeight;
  g.patchSize = e.cellSize;
  return g;
}

}  // namespace

std::array<double, 5> preferenceAspectWeights(const std::string& preference) {
  std::array<double, 5> w{1, 1, 1, 1, 1};
  if (preference.empty()) return w;
  const auto parsed = data::parsePreference(preference);
  if (!parsed) return w;  // free text the parser cannot read: the decoder alone weighs it
  const auto weights = data::preferenceWeights(parsed.value());
  for (size_t a = 0; a < w.size(); ++a) w[a] = weights[a];
  return w;
}

ImageQuality imageQuality(const model::EncodedImage& e, const std::vector<std::string>& typeNames, int64_t item) {
  ImageQuality q;
  q.role = e.role;
  q.mos = float(std::clamp(e.score[item].item<double>() + 3.0, 1.0, 5.0));
  if (e.aspectScores.defined())
    for (int a = 0; a < 5; ++a)
      q.aspectMos[size_t(a)] = float(std::clamp(e.aspectScores[item][a].item<double>() + 3.0, 1.0, 5.0));
  const at::Tensor aspects = e.aspects[item].softmax(-1).contiguous();  // [5, 3]
  for (int a = 0; a < 5; ++a)
    for (int l = 0; l < 3; ++l) q.aspects[size_t(a)][size_t(l)] = aspects[a][l].item<float>();
  const at::Tensor types = e.types[item].softmax(-1);  // [T]
  const int64_t best = types.argmax().item<int64_t>();
  q.dominantType = best < int64_t(typeNames.size()) ? typeNames[size_t(best)] : std::to_string(best);
  q.dominantTypeProbability = types[best].item<float>();
  return q;
}

int ImageQuality::worstAspect() const {
  int worst = -1;
  float worstSeverity = 0.5f;  // expected severity above "half way to mild"
  for (int a = 0; a < 5; ++a) {
    const float severity = aspects[size_t(a)][1] + 2 * aspects[size_t(a)][2];
    if (severity > worstSeverity) {
      worst = a;
      worstSeverity = severity;
    }
  }
  return worst;
}

char parseWinner(const std::string& text) {
  const auto a = text.find("Image A"), b = text.find("Image B");
  if (a == std::string::npos && b == std::string::npos) return 0;
  if (b == std::string::npos || (a != std::string::npos && a < b)) return 'A';
  return 'B';
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;
const ModelInfo& Engine::info() const { return impl_->info; }

Result<std::unique_ptr<Engine>> Engine::load(const EngineOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  RuntimeReport runtime = configureRuntime(options.threads);
  try {
    at::Device device(options.device);
    if (device.is_cuda() && !at::hasCUDA())
      return makeError("device '" + options.device +
                       "' was asked for, but this build of libtorch has no "
                       "CUDA support (or no GPU is visible); use --device cpu");
    auto dtype = parseDType(options.dtype, device);
    if (!dtype) return dtype.error();
    model::ModelLoadOptions mo;
    mo.device = device;
    mo.dtype = dtype.value();
    mo.adapterDirectory = options.adapterDirectory;
    mo.mergeLora = options.mergeLora;
    mo.contextLength = options.contextLength;
    auto m = model::MultimodalModel::load(options.modelDirectory, mo);
    if (!m) return m.error();
    impl->model = m.value();
    impl->tokenizer = impl->model->tokenizer();
    if (!options.tokenizerPath.empty()) {
      auto tok = text::Tokenizer::load(options.tokenizerPath);
      if (!tok) return tok.error();
      impl->tokenizer = tok.value();
    }
    const auto& cfg = impl->model->config();
    ModelInfo& info = impl->info;
    info.directory = options.modelDirectory;
    info.architecture = architectureName(cfg.architecture);
    info.device = device.str();
    info.dtype = dtypeLabel(dtype.value());
    info.parameters = impl->model->parameterCount();
    info.visionLayers = impl->model->hasVision() ? cfg.vision.numLayers : 0;
    info.decoderLayers = impl->model->hasDecoder() ? cfg.text.numLayers : 0;
    info.decoderHeads = impl->model->hasDecoder() ? cfg.text.numHeads : 0;
    info.contextLength = impl->model->hasDecoder() ? cfg.text.maxPositions : 0;
    info.patchSize = impl->model->hasVision() ? cfg.vision.patchSize : 0;
    info.imageSize = impl->model->hasVision() ? cfg.vision.imageSize : 0;
    info.earlyFusion = cfg.visionEarlyFusion;
    info.qualityHeads = impl->model->hasQualityEncoder();
    info.visionKind = impl->model->hasQualityEncoder() ? "quality_encoder" : impl->model->hasClipVision() ? "clip" : "";
    info.workingSpace = cfg.workingSpace;
    info.hasTokenizer = impl->tokenizer != nullptr;
    info.warning = runtime.warning;
    if (impl->tokenizer) {
      if (impl->model->hasDecoder() && impl->tokenizer->vocabSize() > cfg.text.vocabSize)
        return makeError("the tokenizer has " + std::to_string(impl->tokenizer->vocabSize()) +
                         " pieces but the model's vocabulary is " + std::to_string(cfg.text.vocabSize) +
                         "; they do not belong together");
      impl->verdict = text::verdictTokens(*impl->tokenizer);
    }
  } catch (const c10::Error& e) {
    return makeError("cannot load the model: " + std::string(e.what_without_backtrace()));
  } catch (const std::bad_alloc&) {
    return makeError("not enough memory to load the model in '" + options.modelDirectory + "'");
  }
  impl->info.loadMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

namespace {

using EncodedImages = std::map<text::ImageRole, model::EncodedImage>;

// The pixels of every image the prompt names; an error names the one missing.
Result<model::RoleImages> promptImages(const AskRequest& request, const text::Prompt& prompt) {
  model::RoleImages images;
  for (text::ImageRole role : prompt.images()) {
    const cv::Mat& pixels = imageForRole(request, role);
    if (pixels.empty())
      return makeError(std::string("this question needs the ") +
                       (role == text::ImageRole::Reference ? "reference image"
                        : role == text::ImageRole::B       ? "image B"
                                                           : "image A") +
                       ", which was not given");
    images[role] = {pixels};
  }
  return images;
}

// The prompt's chunks as the decoder reads them: text ids, and each image's visual tokens
// where its tag stands. Records each image's geometry and, with heads, its quality.
std::vector<model::FusionPiece> fusionPieces(const std::vector<text::TokenizedChunk>& chunks,
                                             const EncodedImages& encoded, const AskRequest& request,
                                             const io::ModelConfig& cfg, Answer& answer) {
  std::vector<model::FusionPiece> pieces;
  for (const auto& chunk : chunks) {
    model::FusionPiece piece;
    if (chunk.kind == text::PromptChunk::Kind::Text) {
      piece.ids = chunk.ids;
      pieces.push_back(std::move(piece));
      continue;
    }
    const model::EncodedImage& e = encoded.at(chunk.role);
    piece.visual = e.tokens[0];  // [tokens, hidden]
    piece.role = chunk.role;
    piece.gridHeight = e.gridHeight;
    piece.gridWidth = e.gridWidth;
    piece.hasClassToken = e.hasClassToken;
    answer.images.push_back(geometryOf(e, imageForRole(request, chunk.role)));
    if (e.hasHeads) answer.quality.push_back(imageQuality(e, cfg.vision.distortionTypes));
    pieces.push_back(std::move(piece));
  }
  return pieces;
}

// Where the heads give one image at least this probability of being the better one, a
// reasoning's verdict names it rather than calling the pair too close (the guard:
// core/data/answer_grammar.h). Chosen on validation reasonings the evaluation does not
// ask (docs/model.md, "Verdict ties"): the decoder's own tie calls are mostly right where
// the heads are less sure, and mostly wrong where they are this sure.
constexpr float kClearWinnerProbability = 0.9f;
// Per aspect: +1 where the heads see Image A clearly better, -1 Image B, 0 neither or
// unknown (no pair, no aspect scores). "Clearly" is the data engine's own rule for the
// training texts' comparisons (data::compareMos: scores 0.3 or more apart).
std::array<int, 5> headsAspectBetter(const std::vector<ImageQuality>& quality) {
  std::array<int, 5> better{};
  const ImageQuality *a = nullptr, *b = nullptr;
  for (const auto& q : quality) {
    if (q.role == text::ImageRole::A) a = &q;
    if (q.role == text::ImageRole::B) b = &q;
  }
  if (!a || !b) return better;
  for (size_t k = 0; k < better.size(); ++k) {
    if (a->aspectMos[k] <= 0 || b->aspectMos[k] <= 0) continue;  // no aspect scores
    const int c = int(data::compareMos(a->aspectMos[k], b->aspectMos[k]));
    better[k] = (c > 0) - (c < 0);
  }
  return better;
}

// Where the heads give an aspect of an image at least this probability of being
// undistorted, a description does not name a distortion of that aspect (the guard).
// Chosen on validation descriptions the evaluation does not ask (docs/model.md,
// "Described distortions"): 0.6 and 0.8 did less, and below 0.6 the heads call more
// images wholly undistorted, where the guard leaves the names to the decoder.
constexpr float kCleanAspectProbability = 0.7f;
// Where the heads give every aspect of an image that a reasoning's clause about it has not
// named at least this probability of being undistorted, the clause's list of distortions
// ends (the guard). At 0.5 the lists of 300 real-size reasonings held fewer wrong items,
// but the reasonings' verdicts on unseen types lost 1.1 points (docs/model.md, "Lists of
// distortions and comparisons owed"). Where every aspect of an image is this sure, the
// clause that first names it names no distortion.
constexpr float kSurelyCleanAspectProbability = 0.8f;
// Per image (0: Image A or the single image, 1: Image B), per aspect: whether the heads'
// P(undistorted) passes `test` (all false without heads).
template <typename Test>
std::array<std::array<bool, 5>, 2> headsPerAspect(const std::vector<ImageQuality>& quality, Test test) {
  std::array<std::array<bool, 5>, 2> passes{};
  for (const auto& q : quality) {
    const int image = q.role == text::ImageRole::B ? 1 : q.role == text::ImageRole::Reference ? -1 : 0;
    if (image < 0) continue;
    for (size_t k = 0; k < passes[size_t(image)].size(); ++k) passes[size_t(image)][k] = test(q.aspects[k][0]);
  }
  return passes;
}
// ... at least `probability` of being undistorted.
std::array<std::array<bool, 5>, 2> headsAspectClean(const std::vector<ImageQuality>& quality,
                                                    float probability = kCleanAspectProbability) {
  return headsPerAspect(quality, [probability](float undistorted) { return undistorted >= probability; });
}

// Where the heads give some aspect of an image less than this probability of being
// undistorted (it is more likely distorted than not), a reasoning does not call the image
// undistorted (the guard). 0.3 and 0.7 measured alike on validation reasonings the
// evaluation does not ask (docs/model.md, "Described distortions").
constexpr float kDistortedAspectProbability = 0.5f;
// Per image (0: A, 1: B): the heads see some aspect of it distorted.
std::array<bool, 2> headsImageDistorted(const std::vector<ImageQuality>& quality) {
  const auto aspects =
      headsPerAspect(quality, [](float undistorted) { return undistorted < kDistortedAspectProbability; });
  std::array<bool, 2> distorted{};
  for (size_t image = 0; image < distorted.size(); ++image)
    distorted[image] = std::any_of(aspects[image].begin(), aspects[image].end(), [](bool d) { return d; });
  return distorted;
}

// P(A better) from the quality heads (-1 without a pair or without heads). With aspect
// scores the comparison weighs the aspects by the stated preference.
float headProbabilityA(const text::Prompt& prompt, const EncodedImages& encoded, const io::ModelConfig& cfg) {
  if (prompt.images().size() <= 1 || !encoded.count(text::ImageRole::A) || !encoded.count(text::ImageRole::B))
    return -1.f;
  const auto& a = encoded.at(text::ImageRole::A);
  const auto& b = encoded.at(text::ImageRole::B);
  if (!a.hasHeads || !b.hasHeads) return -1.f;
  const bool weighted = a.preferenceScore.defined() && b.preferenceScore.defined();
  const double d = weighted ? a.preferenceScore[0].item<double>() - b.preferenceScore[0].item<double>()
                            : a.score[0].item<double>() - b.score[0].item<double>();
  return float(1.0 / (1.0 + std::exp(-cfg.vision.pairScale * d)));
}

// The verdict letter: the A/B token after the "Image" prefix that starts the verdict
// sentence (the first one of a brief answer; in reasoning, the last sentence's, not the
// first image the reasoning happens to name). The winner is what that sentence says. A
// sentence that names the loser first ("In conclusion, Image B is worse than Image A")
// was announced as one before its letter, so the letter's probabilities are those of
// each image being the loser: P(A wins) is then B's letter. `watchOffset`: where the two
// letters are among the watched ids; `temperature`: the model's verdict calibration.
Verdict readVerdict(const gen::GenerationResult& generation, const text::VerdictTokens& tokens, size_t watchOffset,
                    double temperature) {
  Verdict verdict;
  const data::VerdictMention mention = data::findVerdictMention(generation.text);
  const auto& ids = generation.ids;
  const std::vector<int> letters = text::imageLetterIndices(ids, tokens);
  const size_t which = static_cast<size_t>(std::max(mention.index, 0));
  verdict.tie = mention.tie;
  if (!mention.tie && which < letters.size()) {
    const size_t i = static_cast<size_t>(letters[which]);
    const auto& w = generation.watchedProbabilities[i];
    const char letter = tokens.letterOf(ids[i]);
    const bool namesLoser =
        mention.index >= 0 && mention.letter == letter && mention.winner && mention.winner != letter;
    const auto [pA, pB] = gen::temperedLetterProbabilities(w[watchOffset], w[watchOffset + 1], temperature);
    verdict.present = true;
    verdict.winner = namesLoser ? mention.winner : letter;
    verdict.probabilityA = namesLoser ? pB : pA;
    verdict.probabilityB = namesLoser ? pA : pB;
    // The winner's share of the two letters: what the temperature calibrates (and the
    // evaluation's ECE measures). The letters alone may hold much less of that step's
    // probability (other words take the rest), so the letter's own probability,
    // DepictQA-Wild's confidence, understated sure verdicts (docs/model.md, "Confidence").
    verdict.confidence = verdict.winner == 'A' ? gen::shareOfTwo(verdict.probabilityA, verdict.probabilityB)
                                               : gen::shareOfTwo(verdict.probabilityB, verdict.probabilityA);
    verdict.tokenIndex = static_cast<int>(i);
  }
  if (!verdict.present && !mention.tie) {
    const char w = mention.winner ? mention.winner : parseWinner(generation.text);
    if (w) {
      verdict.present = true;
      verdict.winner = w;
    }
  }
  return verdict;
}

}  // namespace

Result<Answer> Engine::ask(const AskRequest& request, const gen::GenerationCallbacks& callbacks) {
  Impl& s = *impl_;
  if (auto ok = s.requireMultimodal(); !ok) return ok.error();
  auto prompt = text::buildPrompt(request.prompt);
  if (!prompt) return prompt.error();
  Answer answer;
  answer.prompt = prompt.value();
  answer.preferenceStated = !request.prompt.preference.empty();
  const auto& cfg = s.model->config();
  try {
    c10::InferenceMode guard;
    const auto tVision = std::chrono::steady_clock::now();
    const auto chunks = text::tokenizePrompt(answer.prompt, *s.tokenizer);
    model::EncodeOptions encodeOptions = fitContext(request, answer.prompt, chunks, cfg, request.sampling.maxNewTokens);
    encodeOptions.aspectWeights = preferenceAspectWeights(request.prompt.preference);
    encodeOptions.featureMapCache = &s.featureMaps;
    auto images = promptImages(request, answer.prompt);
    if (!images) return images.error();
    auto encoded = model::encodeImages(*s.model, images.value(), encodeOptions);
    if (!encoded) return encoded.error();
    const std::vector<model::FusionPiece> pieces = fusionPieces(chunks, encoded.value(), request, cfg, answer);
    answer.headProbabilityA = headProbabilityA(answer.prompt, encoded.value(), cfg);
    answer.headProbabilityWeighsPreference =
        answer.headProbabilityA >= 0 && encoded->at(text::ImageRole::A).preferenceScore.defined();
    const double visionMs =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - tVision).count();
    auto fused = model::fuse(s.model->decoder(), s.tokenizer->bosId(), pieces);
    if (!fused) return fused.error();

    gen::GenerationCallbacks cb = callbacks;
    const bool watchVerdict = s.verdict.a >= 0 && request.prompt.task != text::Task::Description;
    const size_t watchOffset = cb.watchIds.size();
    if (watchVerdict) {
      cb.watchIds.push_back(s.verdict.a);
      cb.watchIds.push_back(s.verdict.b);
    }
    gen::GenerationSession session(s.model->decoder(), s.tokenizer);
    gen::SamplingParams sampling = request.sampling;
    // The grammar is the data engine's, which only models trained here with the quality
    // encoder have learnt; a converted DepictQA checkpoint (CLIP) writes in its own words.
    sampling.guardAnswerGrammar = request.sampling.guardAnswerGrammar && s.model->hasQualityEncoder();
    sampling.preferenceStated = data::statesPreference(request.prompt.preference, request.prompt.question);
    const bool headsSure = answer.headProbabilityA >= 0 &&
                           std::max(answer.headProbabilityA, 1 - answer.headProbabilityA) >= kClearWinnerProbability;
    sampling.headsWinner = !headsSure ? 0 : answer.headProbabilityA >= 0.5 ? 1 : -1;
    sampling.headsAspectBetter = headsAspectBetter(answer.quality);
    // Descriptions only: in comparisons the heads' misreadings on distortion types never
    // trained moved a distortion to the other image (docs/model.md, "Described
    // distortions").
    sampling.describesOneImage = request.prompt.task == text::Task::Description;
    sampling.reasoning = request.prompt.task == text::Task::Reasoning;
    if (sampling.describesOneImage)
      sampling.headsAspectClean = headsAspectClean(answer.quality);
    else {
      sampling.headsImageDistorted = headsImageDistorted(answer.quality);
      sampling.headsAspectSurelyClean = headsAspectClean(answer.quality, kSurelyCleanAspectProbability);
    }
    auto result = session.generate(fused->embeds, fused->spans, sampling, request.attention, cb);
    if (!result) return result.error();
    answer.generation = std::move(result.value());
    answer.generation.visionMs = visionMs;
    answer.generation.firstTokenMs += visionMs;  // the user waits for the encoder too
    if (watchVerdict)
      answer.verdict = readVerdict(answer.generation, s.verdict, watchOffset,
                                   cfg.verdictTemperatureFor(request.prompt.withReference));
  } catch (const c10::Error& e) {
    return makeError(std::string("answering failed: ") + e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    return makeError("out of memory while answering; use smaller images or a smaller model");
  }
  return answer;
}

std::vector<std::pair<int, int>> Engine::tokenSpans(const gen::GenerationResult& result) const {
  // Replays the streaming conversion (leading space dropped, invalid bytes as U+FFFD),
  // so the spans index the same text the user saw. A token that completes a character
  // started by earlier tokens owns the whole character.
  std::vector<std::pair<int, int>> spans;
  gen::Utf8Stream utf8;
  int pos = 0;
  bool atStart = true;
  const int total = static_cast<int>(result.text.size());
  for (const auto& t : result.tokenText) {
    std::string bytes = t;
    if (atStart && !bytes.empty() && bytes[0] == ' ') bytes.erase(0, 1);
    if (!bytes.empty()) atStart = false;
    const int begin = std::min(pos, total);
    pos += static_cast<int>(utf8.push(bytes).size());
    spans.emplace_back(begin, std::min(pos, total));
  }
  return spans;
}

}  // namespace dqa
