#include "audit/seal.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "audit/audit_log.h"
#include "core/crypto.h"
#include "tests/testing/testing.h"

namespace audit {
namespace {

using core::Status;
using ::testing::HasSubstr;

authz::Principal Caseworker() {
  authz::Principal p;
  p.user = core::UserId{7};
  p.agency = core::AgencyId{3};
  p.name = "cw.jones";
  p.roles = {authz::Role::kCaseworker};
  p.purpose = authz::Purpose::kCaseWork;
  return p;
}

class SealTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(core::InitCrypto().ok());
    db_ = testing_support::NewMigratedSqlite(dir_);
    auto key = NewSigningKey("2026-12");
    ASSERT_TRUE(key.ok());
    key_ = *key;
    keys_ = {VerifyKeyOf(key_)};
    Append(10);
  }

  void Append(int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(db_->Write([&](storage::Transaction& tx) {
                       return log_.Append(tx, Caseworker(),
                                          {"person.read", "person", std::to_string(i + 1), core::PersonId{i + 1}, true,
                                           "role caseworker may read persons"});
                     }).ok());
      clock_.Advance(std::chrono::seconds(1));
    }
  }

  void Sql(const std::string& sql) {
    ASSERT_TRUE(db_->Write([&](storage::Transaction& tx) { return tx.Execute(sql).status(); }).ok()) << sql;
  }

  SealReport Check(const std::vector<Seal>& exported = {}) {
    auto r = VerifySeals(*db_, keys_, exported);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : SealReport{};
  }

  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_;
  core::FakeClock clock_{core::Timestamp{1'796'284'800'000'000}};
  AuditLog log_{clock_};
  SigningKey key_;
  std::vector<VerifyKey> keys_;
};

TEST_F(SealTest, ASealHoldsWhileTheLogOnlyGrows) {
  auto seal = SealNow(*db_, key_, clock_);
  ASSERT_TRUE(seal.ok()) << seal.status().ToString();
  EXPECT_EQ(seal->Entries(), 10);
  EXPECT_EQ(seal->heads.at(0).seq, 10);
  Append(5);
  ASSERT_TRUE(SealNow(*db_, key_, clock_).ok());
  Append(1);
  SealReport r = Check();
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.seals, 2);
  // The exported seals match the stored ones.
  auto stored = ListSeals(*db_);
  ASSERT_TRUE(stored.ok());
  std::vector<Seal> exported;
  for (const auto& s : *stored) {
    auto back = Seal::FromJson(s.ToJson());
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    exported.push_back(*back);
  }
  EXPECT_TRUE(Check(exported).ok);
  // The chains verify too.
  auto chains = AuditLog::Verify(*db_);
  ASSERT_TRUE(chains.ok());
  EXPECT_TRUE(chains->ok);
}

TEST_F(SealTest, ATruncatedLogIsNamed) {
  ASSERT_TRUE(SealNow(*db_, key_, clock_).ok());
  // Truncated: the newest entries cut off the end. The chains alone cannot tell.
  Sql("DELETE FROM audit_log WHERE seq > 8");
  auto chains = AuditLog::Verify(*db_);
  ASSERT_TRUE(chains.ok());
  EXPECT_TRUE(chains->ok) << "a cut-off end leaves the chain whole";
  SealReport r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.problem, HasSubstr("entry 10 on chain 0 is missing: the log was cut short"));
}

TEST_F(SealTest, ARewrittenEntryIsNamed) {
  ASSERT_TRUE(SealNow(*db_, key_, clock_).ok());
  // The newest entry rewritten with a fresh, consistent hash: the chain verifies, the seal does not.
  Sql("UPDATE audit_log SET reason = 'nothing to see', hash = '" + std::string(64, 'a') + "' WHERE seq = 10");
  SealReport r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.problem, HasSubstr("entry 10 on chain 0 was changed, or the log rewritten"));
}

TEST_F(SealTest, DeletedEntriesBeforeTheHeadAreCounted) {
  ASSERT_TRUE(SealNow(*db_, key_, clock_).ok());
  Sql("DELETE FROM audit_log WHERE seq = 4");
  SealReport r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.problem, HasSubstr("chain 0 had 10 entries up to entry 10 and now has 9: entries were deleted"));
  // And the chain names the gap.
  auto chains = AuditLog::Verify(*db_);
  ASSERT_TRUE(chains.ok());
  EXPECT_FALSE(chains->ok);
  EXPECT_EQ(chains->first_bad_seq, 4);
}

TEST_F(SealTest, AChangedSealAnUnknownKeyAndDeletedSealsAreNamed) {
  auto first = SealNow(*db_, key_, clock_);
  ASSERT_TRUE(first.ok());
  const std::vector<Seal> exported = {*first};
  // The seal's count lowered to hide a deletion: its signature no longer holds.
  Sql("UPDATE audit_seals SET heads = replace(heads, '\"count\":10', '\"count\":9')");
  SealReport changed = Check();
  EXPECT_FALSE(changed.ok);
  EXPECT_THAT(changed.problem, HasSubstr("its signature does not hold"));
  EXPECT_THAT(Check(exported).problem, HasSubstr("differs from its exported copy"));

  // Seals deleted to hide a truncation: the exported copy tells.
  Sql("DELETE FROM audit_seals");
  EXPECT_THAT(Check(exported).problem, HasSubstr("seal 1 (2026-12-03 08:00 UTC) of the exported seals is not among "
                                                 "the log's seals: seals were deleted"));
  // And a new seal made later in its place is not the one exported.
  clock_.Advance(std::chrono::minutes(5));
  ASSERT_TRUE(SealNow(*db_, key_, clock_).ok());
  EXPECT_THAT(Check(exported).problem, HasSubstr("exported"));

  // A seal made with a key the verifier does not trust.
  auto other = NewSigningKey("stolen");
  ASSERT_TRUE(other.ok());
  Sql("DELETE FROM audit_seals");
  ASSERT_TRUE(SealNow(*db_, *other, clock_).ok());
  EXPECT_THAT(Check().problem, HasSubstr("is signed with the unknown key stolen"));
  // Rotation: the old key stays trusted beside the new one.
  keys_.push_back(VerifyKeyOf(*other));
  EXPECT_TRUE(Check().ok);
}

TEST(SealKeysTest, KeyFilesRoundTripAndMistakesAreNamed) {
  ASSERT_TRUE(core::InitCrypto().ok());
  testing_support::TempDir dir;
  auto key = NewSigningKey("k1");
  ASSERT_TRUE(key.ok());
  std::ofstream(dir.File("signing")) << SigningKeyLine(*key) << "\n";
  std::ofstream(dir.File("verify")) << "# trusted keys\n" << VerifyKeyLine(VerifyKeyOf(*key)) << "\n";
  auto loaded = LoadSigningKey(dir.File("signing"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->secret, key->secret);
  auto verify = LoadVerifyKeys(dir.File("verify"));
  ASSERT_TRUE(verify.ok());
  ASSERT_EQ(verify->size(), 1u);
  EXPECT_EQ((*verify)[0].key, VerifyKeyOf(*key).key);

  std::ofstream(dir.File("bad")) << "k1 not-base64!\n";
  auto bad = LoadSigningKey(dir.File("bad"));
  EXPECT_THAT(bad.status().message(), HasSubstr(dir.File("bad") + ":1: the seed must be 32 bytes in base64"));
  EXPECT_THAT(bad.status().message(), ::testing::Not(HasSubstr("not-base64")));  // no secret in errors
  std::ofstream(dir.File("bad2")) << "# keys\n\nk1\n";
  EXPECT_THAT(LoadVerifyKeys(dir.File("bad2")).status().message(), HasSubstr(":3: must be \"ID PUBLIC-KEY\""));
  EXPECT_FALSE(NewSigningKey("has space").ok());
}

}  // namespace
}  // namespace audit
