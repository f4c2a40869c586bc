#pragma once

// String similarity for identity matching. Both measures come in two forms: over bytes (use
// them on the ASCII-transliterated keys, the fast path) and over Unicode code points (for
// text kept in its original script). They allocate nothing for strings of up to 64 units.
// Pure functions, thread-safe.

#include <string>
#include <string_view>

namespace identity {

// Jaro-Winkler similarity in [0, 1]: Jaro's measure with Winkler's bonus of 0.1 per character
// of common prefix (up to 4) when the Jaro similarity exceeds 0.7, as in Winkler (1990).
// Two empty strings are 1; one empty string against another is 0.
// MARTHA/MARHTA = 0.961, DWAYNE/DUANE = 0.840, DIXON/DICKSONX = 0.813.
double JaroWinkler(std::string_view a, std::string_view b);
double JaroWinkler(std::u32string_view a, std::u32string_view b);

// Jaro similarity alone (no prefix bonus).
double Jaro(std::string_view a, std::string_view b);

// Damerau-Levenshtein distance in its "optimal string alignment" form: insertions,
// deletions, substitutions and transpositions of adjacent characters, each costing 1, with no
// substring edited twice (so "CA" -> "ABC" is 3, not the unrestricted 2). Computation stops
// early once the distance is known to exceed `max_distance`, and then returns
// max_distance + 1; the result is exact when it is <= max_distance.
int OsaDistance(std::string_view a, std::string_view b, int max_distance = 1 << 20);
int OsaDistance(std::u32string_view a, std::u32string_view b, int max_distance = 1 << 20);

// UTF-8 to code points; invalid sequences become U+FFFD.
std::u32string ToCodePoints(std::string_view utf8);

}  // namespace identity
