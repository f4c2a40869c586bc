#include "core/crypto.h"

#include <cctype>
#include <set>
#include <thread>
#include <vector>
#include <string>

#include <gtest/gtest.h>
#include <sodium.h>

namespace core {
namespace {

class CryptoTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(InitCrypto().ok()); }
};

TEST_F(CryptoTest, Sha256KnownVectors) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_F(CryptoTest, Sha256CoversEmbeddedNulBytes) {
  const std::string with_nul("a\0b", 3);
  EXPECT_NE(Sha256Hex(with_nul), Sha256Hex("a"));
  EXPECT_EQ(Sha256Hex(with_nul).size(), 64u);
}

// Every length around SHA-256's 64-byte blocks, and a long input, from several threads at once
// (each keeps its own context): the same digest as libsodium's.
TEST_F(CryptoTest, Sha256AgreesWithLibsodiumForEveryLengthAndThread) {
  auto reference = [](const std::string& s) {
    unsigned char out[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(out, reinterpret_cast<const unsigned char*>(s.data()), s.size());
    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, out, sizeof out);
    return std::string(hex);
  };
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::string s;
      for (int n = 0; n <= 300; ++n) {
        if (Sha256Hex(s) != reference(s)) ++mismatches[t];
        s.push_back(static_cast<char>((n * 31 + t) & 0xff));
      }
      const std::string long_input(1 << 20, static_cast<char>('a' + t));
      if (Sha256Hex(long_input) != reference(long_input)) ++mismatches[t];
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST_F(CryptoTest, RandomTokenLengthAndAlphabet) {
  // URL-safe base64 without padding: ceil(4n/3) characters.
  EXPECT_EQ(RandomToken().size(), 43u);
  EXPECT_EQ(RandomToken(32).size(), 43u);
  EXPECT_EQ(RandomToken(16).size(), 22u);
  EXPECT_EQ(RandomToken(3).size(), 4u);
  EXPECT_EQ(RandomToken(1).size(), 2u);
  for (char c : RandomToken(300)) {
    EXPECT_TRUE((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')
        << "unexpected character " << static_cast<int>(c);
  }
}

TEST_F(CryptoTest, RandomIdsAreUniqueAcrossThreadsInTheTokenAlphabet) {
  EXPECT_EQ(RandomId().size(), 16u);
  EXPECT_EQ(RandomId(48).size(), 64u);
  EXPECT_EQ(RandomId(100).size(), 64u);  // at most 48 bytes
  std::vector<std::vector<std::string>> drawn(4);
  std::vector<std::thread> threads;
  for (auto& mine : drawn) {
    threads.emplace_back([&mine] {
      for (int i = 0; i < 5000; ++i) mine.push_back(RandomId());
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> seen;
  for (const auto& mine : drawn) {
    for (const auto& id : mine) {
      seen.insert(id);
      for (char c : id)
        EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << id;
    }
  }
  EXPECT_EQ(seen.size(), 20000u);
  // Not a counter: consecutive ids of one thread share no prefix to speak of.
  EXPECT_NE(drawn[0][0].substr(0, 4), drawn[0][1].substr(0, 4));
}

TEST_F(CryptoTest, RandomTokensAreUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(RandomToken(16));
  EXPECT_EQ(seen.size(), 1000u);
}

TEST_F(CryptoTest, HashPasswordVerifiesTheRightPasswordOnly) {
  auto hash = HashPassword("correct horse battery staple", /*fast=*/true);
  ASSERT_TRUE(hash.ok()) << hash.status().ToString();
  EXPECT_EQ(hash->rfind("$argon2id$", 0), 0u) << *hash;
  EXPECT_TRUE(VerifyPassword(*hash, "correct horse battery staple"));
  EXPECT_FALSE(VerifyPassword(*hash, "correct horse battery stapl"));
  EXPECT_FALSE(VerifyPassword(*hash, "Correct horse battery staple"));
  EXPECT_FALSE(VerifyPassword(*hash, ""));
}

TEST_F(CryptoTest, HashPasswordIsSalted) {
  auto a = HashPassword("same", true);
  auto b = HashPassword("same", true);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(VerifyPassword(*a, "same"));
  EXPECT_TRUE(VerifyPassword(*b, "same"));
}

TEST_F(CryptoTest, VerifyRejectsMalformedHashes) {
  EXPECT_FALSE(VerifyPassword("", "x"));
  EXPECT_FALSE(VerifyPassword("not a hash", "x"));
  EXPECT_FALSE(VerifyPassword("$argon2id$v=19$m=64,t=1,p=1$AAAA$BBBB", "x"));
}

TEST_F(CryptoTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

}  // namespace
}  // namespace core
