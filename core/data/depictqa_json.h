#pragma once
// DepictQA's own training records, as the DepictQA repository ships them: one JSON list
// per file, each record
//   {"id": ..., "image_ref": "ref.png" | null, "image_A": "a.png", "image_B": "b.png" | null,
//    "task_type": "quality_single_A" | "quality_single_A_noref" | "quality_compare" |
//                 "quality_compare_noref",
//    "conversations": [{"from": "human", "value": QUERY}, {"from": "gpt", "value": ANSWER}]}
// or with "query" and "answer" fields instead of "conversations". Image paths are
// relative to an image root the user gives. A record that cannot be trained on is an
// error naming the file and the record's index (and id); records whose images are
// missing are left out only with skipMissing, and then counted.
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/data/datasets/split.h"
#include "core/data/shard_dataset.h"

namespace dqa::text {
class Tokenizer;
}

namespace dqa::data {

struct DepictqaRecord {
  std::string id;
  std::string taskType;        // as written in the file
  text::PromptRequest prompt;  // task, reference mode and the query verbatim
  std::string answer;
  std::string reference, a, b;  // absolute image paths; empty when the task has no such image
  std::string referenceId;      // stem of image_ref (see linkReferenceIds): the split's unit
  bool referenceGiven = false;  // the record names its image_ref (even in a no-reference task)
  std::string source;           // "file: record N (id X)", for messages
};

struct DepictqaJson {
  std::string path;
  std::vector<DepictqaRecord> records;
  int skippedMissing = 0;  // records left out because an image is missing (skipMissing)
};

struct DepictqaReadOptions {
  bool skipMissing = false;  // leave out (and count) records whose images are missing
};

// The task types this reader knows, in DepictQA's spelling.
const std::vector<std::string>& depictqaTaskTypes();

// Reads and checks every record of `path` (images: existence only; they are decoded
// when an example is made).
Result<DepictqaJson> readDepictqaJson(const std::string& path, const std::string& imageRoot,
                                      const DepictqaReadOptions& options = {});

// The reference id of a record without image_ref: that of another record (of any of
// `files`) showing the same image with its reference, else the stem of its image_A. So
// a distorted image never lands on both sides of a split, whether a record shows it
// with its reference or without.
void linkReferenceIds(std::vector<DepictqaJson>& files);

// Every answer must encode without unknown pieces and fit in `maxAnswerTokens` tokens
// (0: no limit); the first that does not is an error naming its record.
Status checkAnswers(const DepictqaJson& json, const text::Tokenizer& tokenizer, int maxAnswerTokens);

// Keeps the records on `side` of a split by reference image. A record whose reference
// id the split lists on neither side is an error: the split was made for other images,
// and using it would filter nothing.
Status applySplit(const Split& split, SplitSide side, DepictqaJson& json);

// The records as a Dataset of reference ids only, for makeSplit (depictqa-train --write-split).
Dataset referenceDataset(const std::vector<DepictqaJson>& files);

// The record with its images decoded (RGB), scaled so that the longer side is at most
// `maxSide` pixels (0: as on disk). Images of one record must share one size.
Result<TrainingExample> loadDepictqaExample(const DepictqaRecord& record, int maxSide = 0);

}  // namespace dqa::data
