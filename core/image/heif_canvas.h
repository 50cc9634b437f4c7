#pragma once
// Internal to core/image (heif_decode.cpp): a HEIF file's derived images (their canvas
// sizes and inputs), read from the file's boxes before libheif decodes anything.
//
// A 'grid' (tiles, what phones write) or an 'iovl' (overlay) image carries its canvas
// size in its own item data, separate from its declared size (its ispe property), which
// is all libheif's API reports. Debian's libheif 1.15 allocates the canvas it reads there
// without checking it: fuzz_image_decode found a 608-byte HEIC declaring 16x16 whose grid
// asks for 30255x12545 pixels, on which libheif (and so depictqa and heif-convert) dies
// with SIGSEGV; one asking for 4096x4096 made it decode 16 M pixels before our check of
// the decoded size could refuse it.
#include <optional>
#include <string>

#include "core/image/image_header.h"

namespace dqa::image {

// What is wrong with the file's derived images, as a phrase for a load error ("its grid
// image asks for a 30255x12545-pixel canvas, ..."), or nullopt when every canvas equals
// its image's declared size and fits in maxPixels, no image is built from itself (a
// 'dimg' reference loop, which libheif 1.15 follows for seconds and gigabytes), and every
// derived image's inputs are items of a type libheif 1.15 makes images of (any other
// input aborts the process inside libheif). Inside the meta box a box that runs past its
// parent is damage too (libheif reads it anyway); damage elsewhere (a cut-off mdat) is
// left to libheif, which refuses it.
std::optional<std::string> heifCanvasProblem(const Bytes& file, long long maxPixels);

}  // namespace dqa::image
