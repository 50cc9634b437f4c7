#pragma once
// Shards the trainer streams: per split a directory <out>/<split>/ with
//   shard-NNNNN.bin    raw patches, RGB uint8, row-major HWC, concatenated
//   shard-NNNNN.jsonl  one record per line: task, texts, questionnaire, and for each
//                      image role ("reference", "A", "B"; description uses "reference"
//                      and "A") {"offset", "width", "height"} into the .bin of the same
//                      number
// and (optionally) PNG copies under <out>/<split>/png/ for people to look at.
// A reader needs no library: read a line, seek, read width*height*3 bytes.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <fstream>
#include <string>

#include "core/common/result.h"
#include "core/data/sampler.h"

namespace dqa::data {

// The JSON record of a sample (without image locations).
nlohmann::json sampleRecord(const Sample& s, const std::string& split);

class ShardWriter {
 public:
  ShardWriter(std::string directory, int samplesPerShard, bool writePng);
  ~ShardWriter();
  Status open();  // creates the directory
  Status write(const Sample& s, const std::string& split);
  Status close();
  std::int64_t samplesWritten() const { return written_; }
  std::int64_t bytesWritten() const { return bytes_; }

 private:
  Status startShard();
  std::string dir_;
  int perShard_;
  bool png_;
  int shard_ = -1;
  int inShard_ = 0;
  std::int64_t written_ = 0, bytes_ = 0, offset_ = 0;
  std::ofstream bin_, jsonl_;
};

// Reads one image of a record back (for tests and tools).
Result<cv::Mat> readShardImage(const std::string& binPath, const nlohmann::json& location);

}  // namespace dqa::data
