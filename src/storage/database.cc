#include "storage/database.h"

#include <fmt/format.h>

namespace storage {

namespace {
struct OpenRead {
  const Database* db;
  Transaction* tx;
};
// The reads the calling thread is inside, innermost last.
thread_local std::vector<OpenRead> t_open_reads;
}  // namespace

// Scopes live on their thread's stack, so the one ending is always the innermost.
ReadScope::ReadScope(const Database* db, Transaction* tx) { t_open_reads.push_back({db, tx}); }

ReadScope::~ReadScope() { t_open_reads.pop_back(); }

Transaction* ReadScope::Current(const Database* db) {
  for (auto it = t_open_reads.rbegin(); it != t_open_reads.rend(); ++it) {
    if (it->db == db) return it->tx;
  }
  return nullptr;
}

int64_t Row::Int(size_t i) const {
  const Value& v = values_.at(i);
  if (auto* p = std::get_if<int64_t>(&v)) return *p;
  if (auto* p = std::get_if<double>(&v)) return static_cast<int64_t>(*p);
  if (auto* p = std::get_if<std::string>(&v)) {
    try {
      return std::stoll(*p);
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

double Row::Real(size_t i) const {
  const Value& v = values_.at(i);
  if (auto* p = std::get_if<double>(&v)) return *p;
  if (auto* p = std::get_if<int64_t>(&v)) return static_cast<double>(*p);
  return 0;
}

std::string Row::Text(size_t i) const {
  const Value& v = values_.at(i);
  if (auto* p = std::get_if<std::string>(&v)) return *p;
  if (auto* p = std::get_if<int64_t>(&v)) return std::to_string(*p);
  if (auto* p = std::get_if<double>(&v)) return fmt::format("{}", *p);
  return {};
}

std::optional<std::string> Row::OptText(size_t i) const {
  if (IsNull(i)) return std::nullopt;
  return Text(i);
}

std::optional<int64_t> Row::OptInt(size_t i) const {
  if (IsNull(i)) return std::nullopt;
  return Int(i);
}

}  // namespace storage
