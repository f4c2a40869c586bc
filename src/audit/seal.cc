#include "audit/seal.h"

#include "core/log.h"

#include <fmt/format.h>
#include <sodium.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

namespace audit {
namespace {

using core::Status;
using core::StatusOr;

std::string Base64(const unsigned char* data, size_t size) {
  std::string out(sodium_base64_encoded_len(size, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), data, size, sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::char_traits<char>::length(out.c_str()));
  return out;
}

std::optional<std::string> FromBase64(const std::string& text) {
  std::string out(text.size(), '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
    return std::nullopt;
  }
  out.resize(len);
  return out;
}

bool ValidKeyId(const std::string& id) {
  static const std::regex kId("[A-Za-z0-9._-]{1,64}");
  return std::regex_match(id, kId);
}

// The lines of `path` that are not empty or comments, with their line numbers.
StatusOr<std::vector<std::pair<int, std::string>>> Lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument(path + ": cannot be read");
  std::vector<std::pair<int, std::string>> out;
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    if (const size_t hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    size_t start = 0;
    while (start < line.size() && std::isspace(static_cast<unsigned char>(line[start]))) ++start;
    if (start < line.size()) out.emplace_back(n, line.substr(start));
  }
  return out;
}

// "ID VALUE" of one line.
std::optional<std::pair<std::string, std::string>> IdAndValue(const std::string& line) {
  std::istringstream words(line);
  std::string id, value, extra;
  if (!(words >> id >> value) || (words >> extra)) return std::nullopt;
  return std::make_pair(id, value);
}

std::string When(core::Timestamp t) {
  const std::string s = t.ToRfc3339();
  return s.substr(0, 10) + " " + s.substr(11, 5) + " UTC";
}

std::string Named(const Seal& s) {
  return s.id > 0 ? fmt::format("seal {} ({})", s.id, When(s.at)) : fmt::format("an exported seal ({})", When(s.at));
}

}  // namespace

StatusOr<SigningKey> NewSigningKey(const std::string& id) {
  if (!ValidKeyId(id)) return Status::InvalidArgument("the key id must be 1 to 64 of A-Z, a-z, 0-9, '.', '_' and '-'");
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  if (crypto_sign_keypair(pk, sk) != 0) return Status::Internal("no key pair could be made");
  SigningKey out{id, std::string(reinterpret_cast<char*>(sk), sizeof sk)};
  sodium_memzero(sk, sizeof sk);
  return out;
}

VerifyKey VerifyKeyOf(const SigningKey& key) {
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  crypto_sign_ed25519_sk_to_pk(pk, reinterpret_cast<const unsigned char*>(key.secret.data()));
  return {key.id, std::string(reinterpret_cast<char*>(pk), sizeof pk)};
}

std::string SigningKeyLine(const SigningKey& key) {
  unsigned char seed[crypto_sign_SEEDBYTES];
  crypto_sign_ed25519_sk_to_seed(seed, reinterpret_cast<const unsigned char*>(key.secret.data()));
  std::string line = key.id + " " + Base64(seed, sizeof seed);
  sodium_memzero(seed, sizeof seed);
  return line;
}

std::string VerifyKeyLine(const VerifyKey& key) {
  return key.id + " " + Base64(reinterpret_cast<const unsigned char*>(key.key.data()), key.key.size());
}

StatusOr<SigningKey> LoadSigningKey(const std::string& path) {
  ASSIGN_OR_RETURN(auto lines, Lines(path));
  if (lines.size() != 1) return Status::InvalidArgument(path + ": must hold one line, \"ID SEED\"");
  const auto& [n, line] = lines.front();
  auto parts = IdAndValue(line);
  if (!parts || !ValidKeyId(parts->first)) {
    return Status::InvalidArgument(fmt::format("{}:{}: must be \"ID SEED\": a key id, a space and the seed", path, n));
  }
  auto seed = FromBase64(parts->second);
  if (!seed || seed->size() != crypto_sign_SEEDBYTES) {
    return Status::InvalidArgument(fmt::format("{}:{}: the seed must be 32 bytes in base64", path, n));
  }
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(pk, sk, reinterpret_cast<const unsigned char*>(seed->data()));
  sodium_memzero(seed->data(), seed->size());
  SigningKey out{parts->first, std::string(reinterpret_cast<char*>(sk), sizeof sk)};
  sodium_memzero(sk, sizeof sk);
  return out;
}

StatusOr<std::vector<VerifyKey>> LoadVerifyKeys(const std::string& path) {
  ASSIGN_OR_RETURN(auto lines, Lines(path));
  std::vector<VerifyKey> out;
  for (const auto& [n, line] : lines) {
    auto parts = IdAndValue(line);
    if (!parts || !ValidKeyId(parts->first)) {
      return Status::InvalidArgument(fmt::format("{}:{}: must be \"ID PUBLIC-KEY\"", path, n));
    }
    auto key = FromBase64(parts->second);
    if (!key || key->size() != crypto_sign_PUBLICKEYBYTES) {
      return Status::InvalidArgument(fmt::format("{}:{}: the public key must be 32 bytes in base64", path, n));
    }
    for (const auto& k : out) {
      if (k.id == parts->first) return Status::InvalidArgument(fmt::format("{}:{}: a second key {}", path, n, k.id));
    }
    out.push_back({parts->first, *key});
  }
  return out;
}

int64_t Seal::Entries() const {
  int64_t n = 0;
  for (const auto& [chain, head] : heads) n += head.count;
  return n;
}

std::string Seal::Statement() const {
  std::string out = fmt::format("onedoor audit seal v1\nat {}\nkey {}\n", at.micros, key_id);
  for (const auto& [chain, head] : heads) {
    out += fmt::format("chain {} seq {} count {} hash {}\n", chain, head.seq, head.count, head.hash);
  }
  return out;
}

std::string Seal::ToJson() const {
  nlohmann::json heads_json = nlohmann::json::array();
  for (const auto& [chain, head] : heads) {
    heads_json.push_back({{"chain", chain}, {"seq", head.seq}, {"count", head.count}, {"hash", head.hash}});
  }
  return nlohmann::json{{"id", id},           {"at", at.ToRfc3339()},   {"at_micros", at.micros},
                        {"entries", Entries()}, {"heads", heads_json}, {"key_id", key_id},
                        {"signature", signature}}
      .dump();
}

StatusOr<Seal> Seal::FromJson(const std::string& line) {
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("not a JSON object");
  try {
    Seal s;
    s.id = j.at("id").get<int64_t>();
    s.at = core::Timestamp{j.at("at_micros").get<int64_t>()};
    s.key_id = j.at("key_id").get<std::string>();
    s.signature = j.at("signature").get<std::string>();
    for (const auto& h : j.at("heads")) {
      s.heads[h.at("chain").get<int64_t>()] = {h.at("seq").get<int64_t>(), h.at("hash").get<std::string>(),
                                               h.at("count").get<int64_t>()};
    }
    return s;
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(std::string("not a seal: ") + e.what());
  }
}

StatusOr<Seal> SealNow(storage::Database& db, const SigningKey& key, const core::Clock& clock) {
  Seal s;
  s.key_id = key.id;
  RETURN_IF_ERROR(db.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT chain, MAX(seq), COUNT(*) FROM audit_log GROUP BY chain ORDER BY chain"));
    for (const auto& r : rows) {
      ChainHead head{r.Int(1), "", r.Int(2)};
      ASSIGN_OR_RETURN(storage::Rows h,
                       tx.Query("SELECT hash FROM audit_log WHERE chain = ? AND seq = ?", {r.Int(0), head.seq}));
      if (h.empty()) return Status::Aborted("the audit log changed while it was sealed");
      head.hash = h.at(0).Text(0);
      s.heads[r.Int(0)] = std::move(head);
    }
    return Status::Ok();
  }));
  if (s.heads.empty()) return Status::FailedPrecondition("the audit log is empty: there is nothing to seal");
  s.at = clock.Now();
  const std::string statement = s.Statement();
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(statement.data()), statement.size(),
                       reinterpret_cast<const unsigned char*>(key.secret.data()));
  s.signature = Base64(sig, sizeof sig);
  std::string heads_json = nlohmann::json::parse(s.ToJson())["heads"].dump();
  RETURN_IF_ERROR(db.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows made,
                     tx.Query("INSERT INTO audit_seals (sealed_at, entries, heads, key_id, signature) VALUES (?, ?, ?, "
                              "?, ?) RETURNING id",
                              {s.at.micros, s.Entries(), heads_json, s.key_id, s.signature}));
    s.id = made.at(0).Int(0);
    return Status::Ok();
  }));
  return s;
}

StatusOr<std::vector<Seal>> ListSeals(storage::Database& db) {
  std::vector<Seal> out;
  RETURN_IF_ERROR(db.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT id, sealed_at, heads, key_id, signature FROM audit_seals ORDER BY id"));
    for (const auto& r : rows) {
      Seal s;
      s.id = r.Int(0);
      s.at = core::Timestamp{r.Int(1)};
      s.key_id = r.Text(3);
      s.signature = r.Text(4);
      auto heads = nlohmann::json::parse(r.Text(2), nullptr, false);
      if (heads.is_discarded() || !heads.is_array()) {
        return Status::DataLoss(fmt::format("seal {} is not readable", s.id));
      }
      for (const auto& h : heads) {
        s.heads[h.value("chain", int64_t{0})] = {h.value("seq", int64_t{0}), h.value("hash", std::string()),
                                                 h.value("count", int64_t{0})};
      }
      out.push_back(std::move(s));
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<SealReport> VerifySeals(storage::Database& db, const std::vector<VerifyKey>& keys,
                                 const std::vector<Seal>& exported) {
  ASSIGN_OR_RETURN(std::vector<Seal> seals, ListSeals(db));
  SealReport report;
  auto broken = [&report](const Seal& s, const std::string& problem) {
    report.ok = false;
    report.seal_id = s.id;
    report.problem = Named(s) + ": " + problem;
    return report;
  };
  // A seal kept elsewhere must be among the stored ones, unchanged.
  std::map<int64_t, const Seal*> by_id;
  for (const auto& s : seals) by_id[s.id] = &s;
  for (const auto& e : exported) {
    auto it = by_id.find(e.id);
    if (it == by_id.end()) {
      report.ok = false;
      report.problem = fmt::format("seal {} ({}) of the exported seals is not among the log's seals: seals were deleted",
                                   e.id, When(e.at));
      return report;
    }
    if (it->second->signature != e.signature || it->second->Statement() != e.Statement()) {
      report.ok = false;
      report.seal_id = e.id;
      report.problem = fmt::format("seal {} ({}) differs from its exported copy: the seals were changed", e.id,
                                   When(e.at));
      return report;
    }
  }
  RETURN_IF_ERROR(db.Read([&](storage::Transaction& tx) -> Status {
    for (const auto& s : seals) {
      ++report.seals;
      const VerifyKey* key = nullptr;
      for (const auto& k : keys) {
        if (k.id == s.key_id) key = &k;
      }
      if (key == nullptr) {
        broken(s, fmt::format("it is signed with the unknown key {}", s.key_id));
        return Status::Ok();
      }
      auto sig = FromBase64(s.signature);
      const std::string statement = s.Statement();
      if (!sig || sig->size() != crypto_sign_BYTES ||
          crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig->data()),
                                      reinterpret_cast<const unsigned char*>(statement.data()), statement.size(),
                                      reinterpret_cast<const unsigned char*>(key->key.data())) != 0) {
        broken(s, "its signature does not hold: the seal was changed");
        return Status::Ok();
      }
      for (const auto& [chain, head] : s.heads) {
        ASSIGN_OR_RETURN(storage::Rows h,
                         tx.Query("SELECT hash FROM audit_log WHERE chain = ? AND seq = ?", {chain, head.seq}));
        if (h.empty()) {
          broken(s, fmt::format("entry {} on chain {} is missing: the log was cut short or the entry deleted",
                                head.seq, chain));
          return Status::Ok();
        }
        if (h.at(0).Text(0) != head.hash) {
          broken(s, fmt::format("entry {} on chain {} was changed, or the log rewritten", head.seq, chain));
          return Status::Ok();
        }
        ASSIGN_OR_RETURN(storage::Rows n,
                         tx.Query("SELECT COUNT(*) FROM audit_log WHERE chain = ? AND seq <= ?", {chain, head.seq}));
        if (n.at(0).Int(0) != head.count) {
          broken(s, fmt::format("chain {} had {} entries up to entry {} and now has {}: entries were {}", chain,
                                head.count, head.seq, n.at(0).Int(0),
                                n.at(0).Int(0) < head.count ? "deleted" : "added"));
          return Status::Ok();
        }
      }
    }
    return Status::Ok();
  }));
  return report;
}

PeriodicSealer::PeriodicSealer(storage::Database& db, SigningKey key, const core::Clock& clock,
                               std::chrono::minutes interval)
    : db_(db), key_(std::move(key)), clock_(clock), interval_(interval) {}

PeriodicSealer::~PeriodicSealer() { Stop(); }

void PeriodicSealer::Start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void PeriodicSealer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

StatusOr<bool> PeriodicSealer::SealIfGrown() {
  int64_t sealed = -1, now = 0;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows last, tx.Query("SELECT entries FROM audit_seals ORDER BY id DESC LIMIT 1"));
    if (!last.empty()) sealed = last.at(0).Int(0);
    ASSIGN_OR_RETURN(storage::Rows count, tx.Query("SELECT COUNT(*) FROM audit_log"));
    now = count.at(0).Int(0);
    return Status::Ok();
  }));
  if (now == 0 || now == sealed) return false;
  ASSIGN_OR_RETURN(Seal s, SealNow(db_, key_, clock_));
  core::LogInfo("audit log sealed", {{"seal", std::to_string(s.id)}, {"entries", std::to_string(s.Entries())},
                                     {"key", s.key_id}});
  return true;
}

void PeriodicSealer::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    auto done = SealIfGrown();
    if (!done.ok()) core::LogWarn("the audit log could not be sealed", {{"error", done.status().ToString()}});
    lock.lock();
    cv_.wait_for(lock, interval_, [this] { return stop_; });
  }
}

}  // namespace audit
