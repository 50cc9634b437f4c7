#pragma once
// What every dataset reader needs: lines of an index file with their numbers, CSV
// fields, scores parsed without the locale, errors that name the file and line, and
// case-insensitive lookup of a folder's files (TID2013 and CSIQ name files in a
// different case than their index lists them).
#include <map>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/data/datasets/dataset.h"

namespace dqa::data::datasets {

struct Line {
  int number = 0;    // 1-based
  std::string text;  // without the line ending (\n, \r\n)
};

// Every non-blank line of a text file (a UTF-8 byte-order mark is dropped).
Result<std::vector<Line>> readLines(const std::string& path);

// "path:line: message".
Error at(const std::string& path, int line, const std::string& message);

// RFC 4180 fields: commas inside double quotes, "" for a quote; fields are trimmed.
std::vector<std::string> splitCsv(const std::string& line);
// Fields separated by runs of spaces or tabs.
std::vector<std::string> splitWhitespace(const std::string& line);

// A number in C syntax (never the locale's decimal comma); nullopt-like error otherwise.
Result<double> parseNumber(const std::string& text, const std::string& path, int line, const std::string& what);

// A CSV header: the column of a name (case-insensitive, quotes and spaces trimmed).
class CsvHeader {
 public:
  explicit CsvHeader(const std::vector<std::string>& fields);
  int find(const std::string& name) const;  // -1 when absent
  Result<int> require(const std::string& name, const std::string& path, int line) const;

 private:
  std::map<std::string, int> columns_;
};

// A CSV file with a header row: the first line holding every one of `headerMust`
// (case-insensitive; title rows a spreadsheet export may put above it are passed over).
struct CsvRow {
  int line = 0;
  std::vector<std::string> fields;
};
struct CsvFile {
  std::string path;
  CsvHeader header{{}};
  std::vector<CsvRow> rows;
  // The field of `column`, or an error naming the file and line when the row is short.
  Result<std::string> field(const CsvRow& row, int column) const;
};
Result<CsvFile> readCsv(const std::string& path, const std::vector<std::string>& headerMust);

// A folder's regular files by lower-cased name, read once.
class FolderIndex {
 public:
  static Result<FolderIndex> open(const std::string& directory);
  // The path of `name` in any case; empty when there is none.
  std::string find(const std::string& name) const;
  const std::string& directory() const { return directory_; }

 private:
  std::string directory_;
  std::map<std::string, std::string> files_;  // lower-case name -> name on disk
};

std::string lower(std::string s);
std::string joinPath(const std::string& a, const std::string& b);
bool fileExists(const std::string& path);

// Adds a record after checking that its image (and reference) exist: a missing one is
// an error at record.source, or with options.skipMissing a count in dataset.skippedMissing.
Status addRecord(Dataset& dataset, IqaRecord record, const ReadOptions& options);
Status addPair(Dataset& dataset, PairRecord pair, const ReadOptions& options);

// The file's name without its folder and extension ("I01_01_01" of ".../I01_01_01.png").
std::string stem(const std::string& path);

}  // namespace dqa::data::datasets
