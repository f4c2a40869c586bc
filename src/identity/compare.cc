#include "identity/compare.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

namespace identity {
namespace {

constexpr size_t kStackLength = 64;

// Jaro over bytes for strings of at most 64 bytes, bit-parallel: for each byte value, a mask
// of its positions in b; a match for a[i] is the lowest unmatched position in its window.
double JaroBytes64(std::string_view a, std::string_view b) {
  const size_t la = a.size(), lb = b.size();  // la <= lb <= 64
  const size_t window = lb / 2 > 0 ? lb / 2 - 1 : 0;
  uint64_t positions[256];
  for (unsigned char c : a) positions[c] = 0;
  for (size_t j = 0; j < lb; ++j) positions[static_cast<unsigned char>(b[j])] = 0;
  for (size_t j = 0; j < lb; ++j) positions[static_cast<unsigned char>(b[j])] |= uint64_t{1} << j;
  const uint64_t all_b = lb == 64 ? ~uint64_t{0} : (uint64_t{1} << lb) - 1;
  uint64_t matched_b = 0;
  unsigned char a_matched[64];
  size_t matches = 0;
  for (size_t i = 0; i < la; ++i) {
    size_t lo = i > window ? i - window : 0;
    size_t hi = std::min(i + window + 1, lb);  // exclusive
    uint64_t in_window =
        (hi >= 64 ? ~uint64_t{0} : (uint64_t{1} << hi) - 1) & ~((uint64_t{1} << lo) - 1) & all_b;
    uint64_t candidates = positions[static_cast<unsigned char>(a[i])] & in_window & ~matched_b;
    if (candidates != 0) {
      matched_b |= candidates & (~candidates + 1);
      a_matched[matches++] = static_cast<unsigned char>(a[i]);
    }
  }
  if (matches == 0) return 0.0;
  size_t transpositions = 0, k = 0;
  for (uint64_t bits = matched_b; bits != 0; bits &= bits - 1) {
    int j = __builtin_ctzll(bits);
    if (static_cast<unsigned char>(b[static_cast<size_t>(j)]) != a_matched[k++]) ++transpositions;
  }
  double m = static_cast<double>(matches);
  return (m / static_cast<double>(la) + m / static_cast<double>(lb) +
          (m - static_cast<double>(transpositions) / 2.0) / m) /
         3.0;
}

template <typename Char>
double JaroImpl(std::basic_string_view<Char> a, std::basic_string_view<Char> b) {
  if (a.empty() && b.empty()) return 1.0;
  if (a.empty() || b.empty()) return 0.0;
  if (a.size() > b.size()) std::swap(a, b);
  if constexpr (std::is_same_v<Char, char>) {
    if (b.size() <= 64) return JaroBytes64(a, b);
  }
  const size_t la = a.size(), lb = b.size();
  const size_t window = lb / 2 > 0 ? lb / 2 - 1 : 0;

  bool stack_a[kStackLength], stack_b[kStackLength];
  std::unique_ptr<bool[]> heap_a, heap_b;
  bool* matched_a = stack_a;
  bool* matched_b = stack_b;
  if (lb > kStackLength) {
    heap_a = std::make_unique<bool[]>(la);
    heap_b = std::make_unique<bool[]>(lb);
    matched_a = heap_a.get();
    matched_b = heap_b.get();
  }
  std::fill(matched_a, matched_a + la, false);
  std::fill(matched_b, matched_b + lb, false);

  size_t matches = 0;
  for (size_t i = 0; i < la; ++i) {
    size_t lo = i > window ? i - window : 0;
    size_t hi = std::min(i + window + 1, lb);
    for (size_t j = lo; j < hi; ++j) {
      if (!matched_b[j] && a[i] == b[j]) {
        matched_a[i] = matched_b[j] = true;
        ++matches;
        break;
      }
    }
  }
  if (matches == 0) return 0.0;
  size_t transpositions = 0;
  size_t k = 0;
  for (size_t i = 0; i < la; ++i) {
    if (!matched_a[i]) continue;
    while (!matched_b[k]) ++k;
    if (a[i] != b[k]) ++transpositions;
    ++k;
  }
  double m = static_cast<double>(matches);
  return (m / static_cast<double>(la) + m / static_cast<double>(lb) +
          (m - static_cast<double>(transpositions) / 2.0) / m) /
         3.0;
}

template <typename Char>
double JaroWinklerImpl(std::basic_string_view<Char> a, std::basic_string_view<Char> b) {
  double jaro = JaroImpl(a, b);
  if (jaro <= 0.7) return jaro;
  size_t prefix = 0;
  size_t limit = std::min<size_t>({4, a.size(), b.size()});
  while (prefix < limit && a[prefix] == b[prefix]) ++prefix;
  return jaro + static_cast<double>(prefix) * 0.1 * (1.0 - jaro);
}

// Three rolling rows of the dynamic programme: the transposition step looks two rows back.
// True when a and b are within one insertion, deletion, substitution or adjacent
// transposition: a linear scan instead of the dynamic programme.
template <typename Char>
bool WithinOneEditImpl(std::basic_string_view<Char> a, std::basic_string_view<Char> b) {
  if (a.size() > b.size()) std::swap(a, b);
  const size_t la = a.size(), lb = b.size();
  if (lb - la > 1) return false;
  size_t i = 0;
  while (i < la && a[i] == b[i]) ++i;
  if (i == la) return true;  // equal, or one extra character at the end of b
  if (la == lb) {
    if (a.substr(i + 1) == b.substr(i + 1)) return true;  // substitution
    return i + 1 < la && a[i] == b[i + 1] && a[i + 1] == b[i] &&
           a.substr(i + 2) == b.substr(i + 2);  // transposition
  }
  return a.substr(i) == b.substr(i + 1);  // insertion into a
}

template <typename Char>
int OsaImpl(std::basic_string_view<Char> a, std::basic_string_view<Char> b, int max_distance) {
  if (a.size() > b.size()) std::swap(a, b);  // b is the longer: rows are indexed by it
  if (max_distance <= 1) {
    if (a == b) return 0;
    return WithinOneEditImpl(a, b) ? 1 : max_distance + 1;
  }
  const int la = static_cast<int>(a.size()), lb = static_cast<int>(b.size());
  if (lb - la > max_distance) return max_distance + 1;
  if (la == 0) return lb;
  // Cells further than max_distance from the diagonal cannot be within the bound: they are
  // treated as max_distance + 1 and not computed.
  const int big = max_distance + 1;
  const bool banded = max_distance < lb;

  int stack[3 * (kStackLength + 1)];
  std::vector<int> heap;
  int* rows = stack;
  if (static_cast<size_t>(lb) > kStackLength) {
    heap.resize(3 * static_cast<size_t>(lb + 1));
    rows = heap.data();
  }
  int* two_back = rows;
  int* prev = rows + (lb + 1);
  int* cur = rows + 2 * (lb + 1);
  for (int j = 0; j <= lb; ++j) prev[j] = banded ? std::min(j, big) : j;
  for (int i = 1; i <= la; ++i) {
    const int lo = banded ? std::max(1, i - max_distance) : 1;
    const int hi = banded ? std::min(lb, i + max_distance) : lb;
    cur[0] = banded ? std::min(i, big) : i;
    if (lo > 1) cur[lo - 1] = big;
    if (hi < lb) cur[hi + 1] = big;
    int row_min = lo == 1 ? cur[0] : big;
    for (int j = lo; j <= hi; ++j) {
      int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      int v = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        v = std::min(v, two_back[j - 2] + 1);
      }
      cur[j] = v;
      row_min = std::min(row_min, v);
    }
    if (row_min > max_distance) return max_distance + 1;
    int* t = two_back;
    two_back = prev;
    prev = cur;
    cur = t;
  }
  return std::min(prev[lb], max_distance + 1);
}

}  // namespace

double Jaro(std::string_view a, std::string_view b) { return JaroImpl(a, b); }

double JaroWinkler(std::string_view a, std::string_view b) { return JaroWinklerImpl(a, b); }
double JaroWinkler(std::u32string_view a, std::u32string_view b) { return JaroWinklerImpl(a, b); }

int OsaDistance(std::string_view a, std::string_view b, int max_distance) {
  return OsaImpl(a, b, max_distance);
}
int OsaDistance(std::u32string_view a, std::u32string_view b, int max_distance) {
  return OsaImpl(a, b, max_distance);
}

std::u32string ToCodePoints(std::string_view utf8) {
  std::u32string out;
  out.reserve(utf8.size());
  const auto* p = reinterpret_cast<const unsigned char*>(utf8.data());
  size_t n = utf8.size(), i = 0;
  while (i < n) {
    unsigned char c = p[i];
    char32_t cp;
    size_t extra;
    if (c < 0x80) {
      cp = c;
      extra = 0;
    } else if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1F;
      extra = 1;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0F;
      extra = 2;
    } else if ((c & 0xF8) == 0xF0) {
      cp = c & 0x07;
      extra = 3;
    } else {
      out.push_back(U'\uFFFD');
      ++i;
      continue;
    }
    bool ok = true;
    for (size_t k = 1; k <= extra; ++k) {
      if (i + k >= n || (p[i + k] & 0xC0) != 0x80) {
        ok = false;
        break;
      }
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (!ok) {
      out.push_back(U'\uFFFD');
      ++i;
      continue;
    }
    out.push_back(cp);
    i += extra + 1;
  }
  return out;
}

}  // namespace identity
