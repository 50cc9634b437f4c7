#pragma once
// The one object the applications talk to: a loaded model that answers DepictQA
// questions about images, streaming tokens. Torch-free header (the UI includes it);
// the state behind it is opaque, as in llama.cpp's mtmd.
//
// Thread use: an Engine is used from one thread at a time (the UI keeps it on its
// worker thread); cancellation may be signalled from any thread via the atomic flag.
#include <opencv2/core.hpp>

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/common/working_space.h"
#include "core/generate/types.h"
#include "core/text/prompt.h"

namespace dqa {

struct EngineOptions {
  std::string modelDirectory;    // a model directory (see io::locateModelDirectory)
  std::string adapterDirectory;  // optional peft LoRA adapter
  std::string tokenizerPath;     // overrides <model>/tokenizer.model
  std::string device = "cpu";    // "cpu", "cuda", "cuda:1"
  std::string dtype = "auto";    // auto (f32 on CPU, bf16 on CUDA), f32, bf16, f16
  int threads = 0;               // CPU threads; 0 = every core
  bool mergeLora = true;
  int contextLength = 0;  // 0: the model's max_position_embeddings
};

struct ModelInfo {
  std::string directory;
  std::string architecture;  // "llava", "llama", "clip_vision_model"
  std::string device, dtype;
  int64_t parameters = 0;
  int visionLayers = 0, decoderLayers = 0, decoderHeads = 0;
  int contextLength = 0;
  int patchSize = 0;
  int imageSize = 0;  // the encoder's trained input size
  bool hasTokenizer = false;
  bool earlyFusion = false;   // the encoder sees (image, image - reference)
  bool qualityHeads = false;  // the encoder judges each image itself (ImageQuality)
  std::string visionKind;     // "clip" or "quality_encoder"
  // The colour space images must be in (config.json "working_colour_space"): pass it to
  // image::LoadOptions::workingSpace.
  WorkingSpace workingSpace = WorkingSpace::Srgb;
  double loadMs = 0;
  std::string warning;  // e.g. the slow reference BLAS is active
};

// How one image was placed in front of the encoder, for drawing attention overlays
// exactly over what the model saw.
struct ImageGeometry {
  text::ImageRole role = text::ImageRole::Single;
  int sourceWidth = 0, sourceHeight = 0;    // the image as given (after any crop)
  int contentWidth = 0, contentHeight = 0;  // after downscaling, inside the padded canvas
  int paddedWidth = 0, paddedHeight = 0;    // the encoder's input
  int gridWidth = 0, gridHeight = 0;        // visual tokens
  int patchSize = 0;
};

// The quality encoder's own judgement of one image (models with quality heads, such as
// the bundled one): the numbers behind the words, for the panes, --json and batch output.
struct ImageQuality {
  text::ImageRole role = text::ImageRole::Single;
  float mos = 0;  // predicted mean opinion score on KADID's scale: 1 very annoying .. 5 imperceptible
  // Per aspect (brightness, color, noise, artifacts, blurriness as data::Aspect):
  // probabilities of undistorted, mild and severe.
  std::array<std::array<float, 3>, 5> aspects{};
  std::array<float, 5> aspectMos{};  // each aspect's own predicted score (models with aspect scores; else 0)
  std::string dominantType;          // the type head's likeliest class ("none": undistorted)
  float dominantTypeProbability = 0;
  int worstAspect() const;  // the aspect with the highest expected severity; -1 if all look undistorted
};

struct AskRequest {
  text::PromptRequest prompt;
  // RGB CV_8UC3 / CV_16UC3 (image::LoadedImage::rgb). An empty Mat is "not given".
  // Description assesses imageA; comparison and reasoning use A and B.
  cv::Mat reference, imageA, imageB;
  gen::SamplingParams sampling;
  gen::AttentionOptions attention;
};

// The A/B verdict of a comparison answer and how sure the model was.
struct Verdict {
  bool present = false;
  char winner = 0;  // 'A' or 'B'
  // The winner's share of the two letters' probabilities after the verdict sentence's
  // "Image" (data::findVerdictMention; when that sentence names the loser first, the
  // letters swapped), calibrated by the model's verdict temperature. DepictQA-Wild's
  // confidence, the letter's own probability, is probabilityA / probabilityB: the letters
  // may hold much less than all of that step's probability.
  float confidence = 0.f;
  // P(A wins), P(B wins) from the two letters' probabilities at that step (swapped when
  // the verdict sentence names the loser first: "In conclusion, Image B is worse ...").
  float probabilityA = 0.f, probabilityB = 0.f;
  int tokenIndex = -1;  // generated token that carries the letter
  bool tie = false;     // not present because the answer's verdict calls the pair too close
};

struct Answer {
  text::Prompt prompt;
  std::vector<ImageGeometry> images;  // in prompt order, matching generation.attention.images
  gen::GenerationResult generation;   // text, ids, probabilities, timings, attention
  Verdict verdict;
  std::vector<ImageQuality> quality;  // per image in prompt order (quality-head models only)
  // Comparisons on quality-head models: P(A better) from the heads' scores, calibrated
  // on validation pairs (-1 otherwise). The decoder's verdict is trained towards it.
  float headProbabilityA = -1.f;
  // It weighs the prompt's stated preference (models with aspect scores, a preference
  // data::parsePreference reads); false: the plain comparison, whatever was stated.
  bool headProbabilityWeighsPreference = false;
  bool preferenceStated = false;  // the request carried a preference
};

// One small question among many (whole-image mode): crops of the same size for every
// item of a batch. Empty Mats for roles the prompt does not use.
struct TileImages {
  cv::Mat reference, imageA, imageB;  // RGB CV_8UC3 / CV_16UC3
};

struct BatchOptions {
  int batchSize = 32;                         // items per forward pass
  const std::atomic<bool>* cancel = nullptr;  // checked between passes and tokens
  std::function<void(int done)> progress;     // after each pass: items finished so far
  // bfloat16 matmuls (autocast) for a float32 model on a CPU with cpuHasFastBf16();
  // the softmax, norms and the verdict's probabilities stay float32.
  bool bf16OnCpu = true;
};

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> load(const EngineOptions& options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const ModelInfo& info() const;
  // Builds the prompt, encodes the images, generates. Never throws.
  Result<Answer> ask(const AskRequest& request, const gen::GenerationCallbacks& callbacks = {});
  // The A/B verdict of a short-answer comparison (`prompt`: task Comparison; the
  // short-answer tail is added) for every item, read in one forward pass with the
  // answer's "Image" prefix given: probabilityA/B are the two letters' probabilities
  // there, winner the likelier, confidence its share of the two. The part of the
  // prompt before the first image is computed once and shared.
  Result<std::vector<Verdict>> judgeBatch(const text::PromptRequest& prompt, const std::vector<TileImages>& items,
                                          const BatchOptions& options = {});
  // Greedy answers (no streaming, no attention) to `prompt` for every item, at most
  // `maxTokens` tokens each.
  Result<std::vector<std::string>> answerBatch(const text::PromptRequest& prompt, const std::vector<TileImages>& items,
                                               int maxTokens, const BatchOptions& options = {});

  // Quality-head models: the heads' judgement of every rectangle of a pair of whole
  // images (whole-image mode's tiles), from one pass of the encoder over each full image
  // (in overlapping tiles of bounded memory): the cells under each rectangle are pooled
  // and judged. `reference` may be empty. Much faster than asking the decoder per tile.
  struct RegionJudgement {
    float probabilityA = 0.5f;  // the heads' calibrated P(A better) in this region
    ImageQuality a, b;
  };
  // `progress(done)` after the encoder passes (0) and every few regions; `cancel` is
  // checked between the passes and regions ("cancelled"). A `preference` the data
  // engine's parser reads weighs each region's comparison (models with aspect scores).
  Result<std::vector<RegionJudgement>> judgeRegions(const cv::Mat& reference, const cv::Mat& imageA,
                                                    const cv::Mat& imageB, const std::vector<cv::Rect>& regions,
                                                    const std::atomic<bool>* cancel = nullptr,
                                                    const std::function<void(int done)>& progress = {},
                                                    const std::string& preference = {});

  // The tokenizer's view of an answer: byte offsets of each generated token's text
  // inside Answer::generation.text (for mapping a selected word to its tokens).
  std::vector<std::pair<int, int>> tokenSpans(const gen::GenerationResult& result) const;

  struct Impl;  // opaque here; core/generate/engine_impl.h (core-internal) defines it

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Sets libtorch's CPU threads (0 = all cores) and measures a matmul: returns a
// warning when the slow reference BLAS is active (Debian without OpenBLAS).
struct RuntimeReport {
  int threads = 0;
  double matmulGflops = 0;  // 384x384 float32 matmul, a rough figure
  std::string warning;
};
// Also keeps freed large tensors in the process for reuse (glibc: no mmap per tensor),
// which makes large jobs much faster and keeps their peak memory until
// releaseFreedMemory().
RuntimeReport configureRuntime(int threads = 0);

// configureRuntime's memory policy for a program whose jobs run on a worker thread (the
// window): glibc gives each thread its own arena, whose 64 MB heaps are unmapped when they
// empty, so a job there faulted in fresh pages for every tensor (28% of its CPU time in
// the kernel; a 14.7 MP answer's first token 11.3 s in the window against 8.7 s in the
// CLI). One arena for every thread keeps them for reuse. Call it first thing in main(),
// before any thread exists: a thread keeps the arena it first allocated from.
void shareOneHeapAcrossThreads();

// Gives the memory freed by finished jobs back to the system (glibc's malloc_trim). The
// window calls it half a second after a job ends (ui/model_worker.cpp); any thread may,
// at any time.
void releaseFreedMemory();

// Whether this CPU multiplies bfloat16 in hardware (avx512_bf16 or AMX): oneDNN's bf16
// matmuls are then ~4x faster than float32 (shared/ENVIRONMENT.md: 918 vs 234 GFLOP/s).
bool cpuHasFastBf16();

// Finds "Image A"/"Image B" in an answer (first occurrence that names a winner).
char parseWinner(const std::string& answerText);

}  // namespace dqa
