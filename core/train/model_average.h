#pragma once
// Weight averaging of fine-tunings ("model soup", Wortsman et al. 2022): the element-wise
// mean of several model directories trained from one starting point with different seeds.
// The recipe's last decoder stage is noisy from seed to seed in how its reasonings are
// worded; the mean of two runs keeps what they agree on.
#include <string>
#include <vector>

#include "core/common/result.h"

namespace dqa::train {

// Writes to `outDirectory` (replaced only once complete) a model directory whose every
// weight is the mean of the same weight in `directories` (two or more), with the first
// directory's config.json and tokenizer.model. The directories must be float32
// safetensors (as depictqa-train writes them) with identical config.json, tokenizer and
// tensor names and shapes; otherwise an error says which differs.
Status averageModelDirectories(const std::vector<std::string>& directories, const std::string& outDirectory);

}  // namespace dqa::train
