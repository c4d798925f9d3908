#ifndef LANEVAULT_CAPTURE_GLYPH_PLATE_READER_H_
#define LANEVAULT_CAPTURE_GLYPH_PLATE_READER_H_

// What the fused reader (fused_plate_reader.cc) takes from the glyph reader.
// Programs make readers through detectors.h.

#include "capture/character_row.h"
#include "capture/glyph_classifier.h"

namespace lanevault::capture {

// The geometric mean of the classifier's belief in its first choice for
// each character, thin bars doubted: a bumper sticker's or a grille's
// blobs are characters it is unsure of.
float GlyphPlausibility(const GlyphClassifier& classifier,
                        const CharacterRow& row);

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_GLYPH_PLATE_READER_H_
