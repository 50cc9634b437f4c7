#pragma once
// The data engine's contact sheet (docs/data_contact_sheet.png): one row per KADID type
// (reference, levels 1, 3, 5 and a random variant at a continuous level), rows of combined
// and local distortions, then one row per photographic variant (levels 1, 3, 5 and the
// type's KADID variant at level 3 beside it), each with the labels the engine gives it.
#include <cstdint>
#include <string>
#include <vector>

#include "core/data/photos.h"

namespace dqa::datagen {

bool writeContactSheet(const std::string& path, const std::vector<data::Photo>& photos, std::uint64_t seed);

}  // namespace dqa::datagen
