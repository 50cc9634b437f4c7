#pragma once
// HEIC/HEIF and AVIF through libheif: the primary image (a burst or a gallery in one
// file gives its primary), 8-bit or 10/12-bit (scaled to 16), alpha kept for the
// loader to composite; libheif applies the file's rotation and mirroring (irot/imir).
// The colour comes from the file's ICC profile, or its nclx box (nclx.h).
#include <string>

#include "core/common/result.h"
#include "core/image/decoded.h"

namespace dqa::image {

// `kind` names the format in messages ("HEIF/HEIC", "AVIF"). The declared size is
// checked against maxPixels before anything is decoded.
Result<Decoded> decodeHeif(const std::string& bytes, const std::string& name, const std::string& kind,
                           long long maxPixels);

}  // namespace dqa::image
