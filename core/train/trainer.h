#pragma once
// The trainer: next-token cross-entropy on response tokens only (DepictQA), plus an
// auxiliary regression of each distorted image's human score from the encoder (the
// paper's "high-level initialisation" done jointly), AdamW with warm-up + cosine decay,
// gradient clipping, bf16 autocast on CPU, resumable checkpoints, a loss curve PNG.
#include <functional>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/train/model_init.h"

namespace dqa::train {

struct TrainOptions {
  std::string trainDirectory;     // shards of the training split
  std::string validationDirectory;  // shards used to choose when to stop (may be empty)
  std::string outputDirectory;    // model/, checkpoint/, loss.png, log.jsonl
  std::string tokenizerPath;      // SentencePiece model trained on the corpus
  std::string initFrom;           // existing model directory (else a new model of `shape`)
  ModelShape shape;
  // full: every weight; lora: frozen encoder+LLM, projector + LoRA (the paper's mode);
  // encoder: only the vision encoder and a score head, on human scores (regression +
  // pairwise ranking): the "high-level initialisation" before full training.
  std::string mode = "full";
  int loraRank = 16;
  double loraAlpha = 32;
  int steps = 2000;               // length of the learning-rate schedule
  int stopAt = 0;                 // stop (with a saved model) after this many steps; 0 = steps
  int batchSize = 16;
  double learningRate = 1e-3;
  double minLearningRateRatio = 0.05;
  int warmupSteps = 100;
  double weightDecay = 0.01;
  double gradientClip = 1.0;
  double auxiliaryWeight = 0.5;   // weight of the MOS regression loss
  double rankingWeight = 1.0;     // weight of the pairwise ranking loss on the score head
  // Weight of a two-way cross-entropy on the verdict letter of short comparison answers
  // ("Image A"/"Image B"): in the token-mean loss that one token is a few percent of a
  // batch, too little for the decoder to learn to compare the two images' tokens.
  double verdictWeight = 0.0;
  bool bf16 = true;               // CPU autocast to bfloat16 (2x here)
  int threads = 0;
  uint64_t seed = 1;
  int logEvery = 10;
  int evalEvery = 250;
  int evalExamples = 256;
  int saveEvery = 250;
  bool resume = true;             // continue from outputDirectory/checkpoint if present
};

struct TrainProgress {
  int step = 0, steps = 0;
  double loss = 0, lmLoss = 0, auxLoss = 0;
  double samplesPerSecond = 0, etaSeconds = 0, learningRate = 0;
  double batchMs = 0, forwardMs = 0, backwardMs = 0, optimizerMs = 0;  // per step, averaged
  double tokensPerSample = 0;
  bool evaluated = false;
  double valLoss = 0, valBriefAccuracy = 0;  // teacher-forced A/B letter accuracy
  double valRankAccuracy = 0;                // score head orders clear pairs like people (2AFC)
};

// Runs training; `onProgress` is called every logEvery steps and after evaluations.
Status train(const TrainOptions& options, const std::function<void(const TrainProgress&)>& onProgress);

}  // namespace dqa::train
