#pragma once
// The language stage: next-token cross-entropy on the answer tokens only (DepictQA), with
//  - a verdict cross-entropy at the letter that states the verdict of every comparison
//    and reasoning answer (with and without reference, with preferences): in the
//    token-mean loss that one token is a few percent of a batch, too little for the
//    decoder to learn to compare two images;
//  - on quality-encoder models, that letter's probability distilled towards the heads'
//    calibrated pairwise probability (so the decoder's confidence means what it says);
//  - a two-way cross-entropy on the letter of every "Image A"/"Image B" of an answer, so
//    that the verdict losses cannot make every letter the winner's;
//  - extra weight on the words that carry a judgement (levels, distortion kinds, quality);
//  - optionally, the attention of the words that name a local distortion's aspect towards
//    its region (language_loss.h: attentionLoss), so that the maps the window draws point.
// Examples come from a weighted mix of the data engine's shards and DepictQA's training
// JSON (data::TrainingMix), or are streamed fresh from photos. AdamW,
// warm-up + cosine decay, gradient clipping, optional CPU bf16 autocast, resumable
// checkpoints, a loss curve PNG.
//
// Modes: full (every weight), decoder (projector + decoder; the encoder frozen: stage 2
// of the bundled model), lora (projector + LoRA on a frozen decoder: the paper's mode,
// for fine-tuning converted checkpoints). A lora run's model/ has the LoRA merged into the
// decoder's weights (it loads like any model); adapter/ beside it holds the LoRA alone
// (peft layout).
#include <functional>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/data/example_source.h"
#include "core/train/distributed.h"
#include "core/train/model_init.h"
#include "core/train/sample_stream.h"

namespace dqa::train {

struct TrainOptions {
  data::MixOptions data;  // shards and DepictQA JSON files, mixed by weight (its seed: `seed`)
  StreamOptions stream;   // used when data.sources is empty
  // Called once at the start with a line per training source (records, weight, share).
  std::function<void(const std::string&)> onNote;
  std::vector<int> streamPatchSizes{64, 96, 128, 192, 256};
  std::vector<double> streamPatchWeights{3, 3, 2, 1, 1};
  // Quality encoder: token-grid limits drawn per image group (see LanguageBatchOptions).
  std::vector<int> tokenGridChoices{8, 8, 8, 6, 4, 2};
  std::string validationDirectory;  // shards used to report progress (may be empty)
  std::string outputDirectory;      // model/, checkpoint/, loss.png, log.jsonl
  std::string tokenizerPath;        // SentencePiece model trained on the corpus
  std::string initFrom;             // existing model directory (else a new model of `shape`)
  ModelShape shape;
  std::string mode = "full";
  int loraRank = 16;
  double loraAlpha = 32;
  int steps = 2000;    // length of the learning-rate schedule
  int stopAt = 0;      // stop (with a saved model) after this many steps; 0 = steps
  int batchSize = 16;  // per rank: a step trains on batchSize x worldSize examples
  double learningRate = 1e-3;
  double minLearningRateRatio = 0.05;
  int warmupSteps = 100;
  double weightDecay = 0.01;
  double gradientClip = 1.0;
  double verdictWeight = 1.0;      // two-way cross-entropy on the verdict letter
  double distillWeight = 1.0;      // the verdict letter towards the heads' P (quality models)
  double letterWeight = 0.0;       // two-way cross-entropy on every "Image A/B" letter
  double keyWordWeight = 3.0;      // token weight of judgement words (data::keyPhrases) in answers
  double attentionWeight = 0.0;    // the attention loss (0: off, and no attention is captured)
  double localShare = 0.12;        // streamed: of distorted images, those with a local distortion
  bool weighComparatives = false;  // see LanguageBatchOptions
  bool loserFirstVerdicts = false;
  double preferenceShare = 0.3;  // of streamed pair samples that carry a preference
  double questionVariety = 0;    // streamed: share of questions worded beyond the pools
  bool bf16 = false;             // CPU autocast to bfloat16 (only where the CPU has bf16 hardware)
  int threads = 0;
  uint64_t seed = 1;
  int logEvery = 10;
  int evalEvery = 250;
  int evalExamples = 256;
  int saveEvery = 250;
  bool resume = true;  // continue from outputDirectory/checkpoint if present
  // Data-parallel (worldSize > 1): rank r trains on examples [r*batch, (r+1)*batch) of
  // each step's batchSize*worldSize, gradients are summed over the ranks, rank 0 alone
  // writes checkpoints, logs and the model (docs/distributed.md).
  DistributedOptions distributed;
};

struct TrainProgress {
  int step = 0, steps = 0;
  double loss = 0, lmLoss = 0, verdictLoss = 0, distillLoss = 0, letterLoss = 0, attentionLoss = 0;
  double samplesPerSecond = 0, etaSeconds = 0, learningRate = 0;
  double batchMs = 0, forwardMs = 0, backwardMs = 0, optimizerMs = 0;  // per step, averaged
  double communicationMs = 0;  // data-parallel: summing counts and gradients, per step
  double tokensPerSample = 0;
  bool evaluated = false;
  double valLoss = 0;             // per answer token
  double valVerdictAccuracy = 0;  // teacher-forced verdict letter right, every verdict answer
  double valLetterAccuracy = 0;   // teacher-forced "Image A/B" letters right, every mention
};

// Runs training; `onProgress` is called every logEvery steps and after evaluations
// (on rank 0 only when data-parallel).
Status train(const TrainOptions& options, const std::function<void(const TrainProgress&)>& onProgress);

}  // namespace dqa::train
