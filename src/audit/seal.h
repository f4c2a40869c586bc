#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "storage/database.h"

// Sealing the audit log: a checkpoint of its hash chains, signed with Ed25519. A seal records,
// for every chain, its newest entry (seq and hash) and how many entries the chain had up to it,
// and signs that statement. The hash chains alone show an entry changed, removed or moved among
// the others; a seal also shows what they cannot: the newest entries cut off the end of the log
// (truncation), or the whole log rewritten with fresh hashes, since no one without the signing
// key can sign a matching seal. Seals are kept in the table audit_seals and should also be
// exported off the machine (`onedoor audit seals`), so that deleting seals is seen too.
namespace audit {

// An Ed25519 key pair's halves, each with the key id it is known by ("2026-12").
struct SigningKey {
  std::string id;
  std::string secret;  // libsodium's 64-byte secret key (seed and public key)
};
struct VerifyKey {
  std::string id;
  std::string key;  // 32 bytes
};

// A new key pair named `id` (1 to 64 of [A-Za-z0-9._-]).
core::StatusOr<SigningKey> NewSigningKey(const std::string& id);
VerifyKey VerifyKeyOf(const SigningKey& key);
// The files: a signing key is one line "ID SEED" (the 32-byte seed, base64); the verification
// keys are lines "ID PUBLIC" (base64 of 32 bytes), '#' starting a comment. Errors name the file
// and line, never the secret.
std::string SigningKeyLine(const SigningKey& key);
std::string VerifyKeyLine(const VerifyKey& key);
core::StatusOr<SigningKey> LoadSigningKey(const std::string& path);
core::StatusOr<std::vector<VerifyKey>> LoadVerifyKeys(const std::string& path);

struct ChainHead {
  int64_t seq = 0;
  std::string hash;
  int64_t count = 0;  // entries of the chain with seq up to `seq`
};

struct Seal {
  int64_t id = 0;
  core::Timestamp at;
  std::map<int64_t, ChainHead> heads;  // by chain
  std::string key_id;
  std::string signature;  // base64 of the 64-byte Ed25519 signature

  int64_t Entries() const;
  // The signed statement: every field but the signature, in one canonical text.
  std::string Statement() const;
  // One line of JSON, as exported; and back (kInvalidArgument saying what is wrong).
  std::string ToJson() const;
  static core::StatusOr<Seal> FromJson(const std::string& line);
};

// Seals the log as it is now (one read snapshot), stores the seal, and returns it.
// kFailedPrecondition when the log is empty.
core::StatusOr<Seal> SealNow(storage::Database& db, const SigningKey& key, const core::Clock& clock);
// Every seal stored, oldest first.
core::StatusOr<std::vector<Seal>> ListSeals(storage::Database& db);

struct SealReport {
  int64_t seals = 0;  // seals checked
  bool ok = true;
  int64_t seal_id = 0;  // the seal where the problem was found, when !ok (0 for an exported one)
  std::string problem;  // when !ok
};

// Checks every seal stored, and every seal of `exported` (seals kept elsewhere; those the table
// lacks are reported as deleted): each seal's signature with the key it names among `keys`, then
// that the log still holds what the seal saw: each chain's sealed newest entry, with the same
// hash, and the same number of entries on the chain up to it. Problems read "seal 4 (2026-12-03
// 10:00 UTC) is signed with the unknown key K", "…: its signature does not hold", "…: entry 812
// on chain 0 is missing: the log was cut short or the entry deleted", "…: entry 812 on chain 0
// was changed or the log rewritten", "…: chain 0 had 812 entries up to entry 812 and now has 811:
// entries were deleted", "seal 7 of the exported seals is not in the log's seals: seals were
// deleted". A report with !ok is not an error; errors are the database's.
core::StatusOr<SealReport> VerifySeals(storage::Database& db, const std::vector<VerifyKey>& keys,
                                       const std::vector<Seal>& exported = {});

// Seals the log every `interval` while the server runs, when it has grown since the newest
// seal (on any server of the deployment). A failed seal is logged and tried again at the next
// interval. Start and Stop from one thread.
class PeriodicSealer {
 public:
  PeriodicSealer(storage::Database& db, SigningKey key, const core::Clock& clock, std::chrono::minutes interval);
  ~PeriodicSealer();
  void Start();
  void Stop();
  // Seals when the log has grown since the newest seal; whether it did.
  core::StatusOr<bool> SealIfGrown();

 private:
  void Run();

  storage::Database& db_;
  const SigningKey key_;
  const core::Clock& clock_;
  const std::chrono::minutes interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace audit
