#pragma once
// One reader per dataset layout (each in its own file); readDataset (dataset.cpp) picks one.
// Each fills everything but Dataset::name and Dataset::root.
#include "core/data/datasets/dataset.h"

namespace dqa::data::datasets {

Result<Dataset> readKadid10k(const std::string& root, const ReadOptions& options);
// `version` 2013 or 2008: the same layout, different type tables.
Result<Dataset> readTid(const std::string& root, int version, const ReadOptions& options);
Result<Dataset> readCsiq(const std::string& root, const ReadOptions& options);
Result<Dataset> readLive(const std::string& root, const ReadOptions& options);
Result<Dataset> readPipal(const std::string& root, const ReadOptions& options);
Result<Dataset> readBapps(const std::string& root, PairKind kind, const ReadOptions& options);
Result<Dataset> readKoniq10k(const std::string& root, const ReadOptions& options);
Result<Dataset> readSpaq(const std::string& root, const ReadOptions& options);
Result<Dataset> readGenericCsv(const std::string& root, const ReadOptions& options);

}  // namespace dqa::data::datasets
