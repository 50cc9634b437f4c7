#include "core/data/datasets/table.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>

namespace dqa::data::datasets {
namespace fs = std::filesystem;

namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string missingMessage(const std::string& role, const std::string& path) {
  return "names " + role + " " + path +
         ", which is not on disk (check --root, or pass --skip-missing to leave such rows out)";
}

}  // namespace

Result<std::vector<Line>> readLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError(path + ": cannot open this index file (is --root the dataset's folder as unpacked?)");
  std::vector<Line> lines;
  std::string text;
  for (int number = 1; std::getline(in, text); ++number) {
    if (number == 1 && text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (trim(text).empty()) continue;
    lines.push_back({number, text});
  }
  return lines;
}

Error at(const std::string& path, int line, const std::string& message) {
  return makeError(path + ":" + std::to_string(line) + ": " + message);
}

std::vector<std::string> splitCsv(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.push_back(trim(field));
      field.clear();
    } else {
      field += c;
    }
  }
  fields.push_back(trim(field));
  return fields;
}

std::vector<std::string> splitWhitespace(const std::string& line) {
  std::vector<std::string> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    const size_t b = i;
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i > b) fields.push_back(line.substr(b, i - b));
  }
  return fields;
}

Result<double> parseNumber(const std::string& text, const std::string& path, int line, const std::string& what) {
  const std::string t = trim(text);
  double v = 0;
  const char* first = t.data();
  if (!t.empty() && t[0] == '+') ++first;
  const auto r = std::from_chars(first, t.data() + t.size(), v);
  if (t.empty() || r.ec != std::errc() || r.ptr != t.data() + t.size() || !std::isfinite(v))
    return at(path, line, what + " \"" + t + "\" is not a number");
  return v;
}

CsvHeader::CsvHeader(const std::vector<std::string>& fields) {
  for (size_t i = 0; i < fields.size(); ++i) columns_.emplace(lower(trim(fields[i])), int(i));
}

int CsvHeader::find(const std::string& name) const {
  const auto it = columns_.find(lower(name));
  return it == columns_.end() ? -1 : it->second;
}

Result<int> CsvHeader::require(const std::string& name, const std::string& path, int line) const {
  const int c = find(name);
  if (c < 0) return at(path, line, "the header has no column \"" + name + "\"");
  return c;
}

Result<std::string> CsvFile::field(const CsvRow& row, int column) const {
  if (column < 0 || size_t(column) >= row.fields.size())
    return at(path, row.line,
              "the row has " + std::to_string(row.fields.size()) + " fields, the header promised at least " +
                  std::to_string(column + 1));
  return row.fields[size_t(column)];
}

Result<CsvFile> readCsv(const std::string& path, const std::vector<std::string>& headerMust) {
  auto lines = readLines(path);
  if (!lines) return lines.error();
  CsvFile csv;
  csv.path = path;
  bool found = false;
  for (const Line& l : lines.value()) {
    if (found) {
      csv.rows.push_back({l.number, splitCsv(l.text)});
      continue;
    }
    const CsvHeader h(splitCsv(l.text));
    found = std::all_of(headerMust.begin(), headerMust.end(), [&](const std::string& n) { return h.find(n) >= 0; });
    if (found) csv.header = h;
  }
  if (!found) {
    std::string names;
    for (const auto& n : headerMust) names += (names.empty() ? "" : ", ") + n;
    return makeError(path + ": no header row with the columns " + names + " (is this the dataset's own file?)");
  }
  return csv;
}

Result<FolderIndex> FolderIndex::open(const std::string& directory) {
  std::error_code ec;
  if (!fs::is_directory(directory, ec))
    return makeError(directory + ": no such folder (is --root the dataset's folder as unpacked?)");
  FolderIndex index;
  index.directory_ = directory;
  for (const auto& entry : fs::directory_iterator(directory, ec))
    if (entry.is_regular_file(ec)) {
      const std::string name = entry.path().filename().string();
      index.files_.emplace(lower(name), name);
    }
  if (ec) return makeError(directory + ": cannot list this folder: " + ec.message());
  return index;
}

std::string FolderIndex::find(const std::string& name) const {
  const auto it = files_.find(lower(name));
  return it == files_.end() ? std::string() : joinPath(directory_, it->second);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

std::string joinPath(const std::string& a, const std::string& b) { return (fs::path(a) / b).string(); }

bool fileExists(const std::string& path) {
  std::error_code ec;
  return !path.empty() && fs::is_regular_file(path, ec);
}

std::string stem(const std::string& path) { return fs::path(path).stem().string(); }

Status addRecord(Dataset& dataset, IqaRecord record, const ReadOptions& options) {
  std::string missing;
  if (!fileExists(record.image))
    missing = missingMessage("image", record.image);
  else if (!record.reference.empty() && !fileExists(record.reference))
    missing = missingMessage("reference", record.reference);
  if (!missing.empty()) {
    if (!options.skipMissing) return makeError(record.source + ": " + missing);
    ++dataset.skippedMissing;
    return Ok{};
  }
  dataset.images.push_back(std::move(record));
  return Ok{};
}

Status addPair(Dataset& dataset, PairRecord pair, const ReadOptions& options) {
  std::string missing;
  for (const auto& [role, path] : {std::pair<const char*, const std::string*>{"reference", &pair.reference},
                                   {"image p0", &pair.a},
                                   {"image p1", &pair.b}})
    if (missing.empty() && !(path->empty() && std::string(role) == "reference") && !fileExists(*path))
      missing = missingMessage(role, *path);
  if (!missing.empty()) {
    if (!options.skipMissing) return makeError(pair.source + ": " + missing);
    ++dataset.skippedMissing;
    return Ok{};
  }
  dataset.pairs.push_back(std::move(pair));
  return Ok{};
}

}  // namespace dqa::data::datasets
