#pragma once
// Image-quality datasets read as they ship (docs/datasets.md): one reader per layout
// (KADID-10k, TID2013/TID2008, CSIQ, LIVE release 2, PIPAL, BAPPS 2AFC and JND,
// KonIQ-10k, SPAQ, and a generic folder + CSV), all producing one record type.
// A missing index file, a row naming an image that is not on disk or a score that does
// not parse is an error naming the file and line; rows with missing images are left out
// only with ReadOptions::skipMissing, and then counted (Dataset::skippedMissing).
#include <string>
#include <vector>

#include "core/common/result.h"

namespace dqa::data {

// One human-scored image.
struct IqaRecord {
  std::string image;        // path of the assessed image
  std::string reference;    // its pristine reference; empty in no-reference datasets
  double score = 0;         // the human score exactly as the dataset ships it
  std::string distortion;   // the dataset's distortion type name ("" when it has none)
  int level = 0;            // the dataset's distortion level (0: none given)
  std::string referenceId;  // the source content: records sharing it never straddle a split
  std::string source;       // "index file:line" the record came from
};

// One human-judged pair (BAPPS).
struct PairRecord {
  std::string reference;  // 2AFC: the reference patch; JND: empty
  std::string a, b;       // p0 and p1
  double human = 0;       // 2AFC: share of people preferring b (p1); JND: share judging a and b the same
  std::string subset;     // BAPPS's folder: "traditional", "cnn", "superres", ...
  std::string referenceId;
  std::string source;
};

enum class PairKind { None, TwoAfc, Jnd };

struct Dataset {
  std::string name;  // as given to readDataset ("kadid10k", ...)
  std::string root;
  std::string scoreName;               // "MOS", "DMOS", "ELO"; empty for pair datasets
  bool higherIsBetter = true;          // false for DMOS: a higher number is a worse image
  double scaleLow = 0, scaleHigh = 0;  // the score's published range (for the report)
  std::vector<IqaRecord> images;
  PairKind pairKind = PairKind::None;
  std::vector<PairRecord> pairs;
  int skippedMissing = 0;          // rows left out with skipMissing
  std::vector<std::string> notes;  // what the reader did that a reader of numbers must know
};

struct ReadOptions {
  bool skipMissing = false;  // leave out (and count) rows whose images are missing
};

// The names readDataset knows, in the order docs/datasets.md lists them.
const std::vector<std::string>& datasetNames();
// `root`: the dataset's folder as unpacked (for "csv": the folder holding scores.csv,
// or the CSV file itself, image paths relative to its folder).
Result<Dataset> readDataset(const std::string& name, const std::string& root, const ReadOptions& options = {});

}  // namespace dqa::data
