#ifndef LANEVAULT_CAPTURE_CHARACTER_RECUT_H_
#define LANEVAULT_CAPTURE_CHARACTER_RECUT_H_

// Cuts a row of characters again where its blobs are not one character
// each. FindCharacterRow takes every blob of the row for a character, but
// on a blurred or tightly spaced plate two characters touch (LV as one
// blob), and on a faint one a character's strokes break apart (H as two
// bars, W as two Vs). Shape alone cannot tell a touching pair from a wide
// letter; the classifier can, so here it chooses between the cuts.

#include <vector>

#include "capture/character_row.h"
#include "capture/glyph_classifier.h"
#include "capture/plate_text.h"

namespace lanevault::capture {

struct RecutRow {
  CharacterRow row;
  std::vector<CharacterChoices> choices;  // the classifier's, one per glyph
};

// The cut of `row` the classifier reads best: each blob whole, cut in two,
// or joined with its neighbours and with the row's smaller pieces of ink.
// `k` choices per glyph are kept. A row without its binarisation (`ink`)
// is only read, not cut again.
RecutRow RecutCharacters(const CharacterRow& row,
                         const GlyphClassifier& classifier, int k);

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_CHARACTER_RECUT_H_
