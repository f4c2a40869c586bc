#include "identity/febrl.h"

#include <array>
#include <charconv>
#include <cstdio>
#include <memory>

namespace identity {
namespace {

constexpr std::array<std::string_view, 11> kHeader = {
    "rec_id", "given_name", "surname", "street_number", "address_1", "address_2",
    "suburb", "postcode",   "state",   "date_of_birth", "soc_sec_id"};

// Splits on ", " into exactly `out.size()` fields; returns the number found.
size_t SplitFields(std::string_view line, std::array<std::string_view, 11>& out) {
  size_t n = 0, start = 0;
  while (true) {
    size_t sep = line.find(", ", start);
    std::string_view field =
        line.substr(start, sep == std::string_view::npos ? std::string_view::npos : sep - start);
    if (n < out.size()) out[n] = field;
    ++n;
    if (sep == std::string_view::npos) break;
    start = sep + 2;
  }
  return n;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == ',')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

int64_t FebrlEntity(std::string_view rec_id) {
  if (!rec_id.starts_with("rec-")) return -1;
  std::string_view rest = rec_id.substr(4);
  int64_t n = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
  if (ec != std::errc() || end == rest.data() || n < 0) return -1;
  std::string_view tail(end, static_cast<size_t>(rest.data() + rest.size() - end));
  if (tail == "-org") return n;
  if (tail.starts_with("-dup-") && tail.size() > 5) {
    for (char c : tail.substr(5)) {
      if (c < '0' || c > '9') return -1;
    }
    return n;
  }
  return -1;
}

core::StatusOr<FebrlDataset> ParseFebrl(std::string_view text, std::string_view source) {
  FebrlDataset data;
  // About 100 bytes a record.
  data.records.reserve(text.size() / 90 + 1);
  data.rec_ids.reserve(text.size() / 90 + 1);
  data.entities.reserve(text.size() / 90 + 1);
  std::array<std::string_view, 11> f;
  size_t pos = 0, line_number = 0;
  auto error = [&](const std::string& what) {
    return core::Status::InvalidArgument(std::string(source) + " line " +
                                         std::to_string(line_number) + ": " + what);
  };
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_number == 1) {
      if (SplitFields(line, f) != kHeader.size()) return error("expected the FEBRL header");
      for (size_t i = 0; i < kHeader.size(); ++i) {
        if (Trim(f[i]) != kHeader[i]) {
          return error("expected column '" + std::string(kHeader[i]) + "'");
        }
      }
      continue;
    }
    if (Trim(line).empty()) continue;
    size_t n = SplitFields(line, f);
    if (n != kHeader.size()) {
      return error("expected 11 fields separated by \", \", found " + std::to_string(n));
    }
    std::string_view rec_id = Trim(f[0]);
    int64_t entity = FebrlEntity(rec_id);
    if (entity < 0) return error("record id must be rec-N-org or rec-N-dup-K");
    PersonRecord r;
    r.given_name = Trim(f[1]);
    r.family_name = Trim(f[2]);
    r.street_number = Trim(f[3]);
    r.address_line1 = Trim(f[4]);
    r.address_line2 = Trim(f[5]);
    r.locality = Trim(f[6]);
    r.postcode = Trim(f[7]);
    r.region = Trim(f[8]);
    r.date_of_birth = Trim(f[9]);
    r.identifier = Trim(f[10]);
    data.rec_ids.emplace_back(rec_id);
    data.entities.push_back(entity);
    data.records.push_back(std::move(r));
  }
  if (line_number == 0) {
    ++line_number;
    return error("expected the FEBRL header");
  }
  return data;
}

core::StatusOr<FebrlDataset> ReadFebrlFile(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) return core::Status::NotFound("cannot open FEBRL file " + path);
  std::string text;
  char buffer[1 << 16];
  size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) text.append(buffer, got);
  if (std::ferror(file.get())) return core::Status::DataLoss("cannot read FEBRL file " + path);
  return ParseFebrl(text, path);
}

}  // namespace identity
