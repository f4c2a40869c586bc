#include "portal/oidc.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/crypto.h"
#include "portal/portal_service.h"
#include "tests/testing/testing.h"

namespace portal {
namespace {

using core::Status;
using core::StatusCode;
using nlohmann::json;
using ::testing::HasSubstr;

std::string B64Url(const std::string& bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::char_traits<char>::length(out.c_str()));
  return out;
}

std::string BnBytes(EVP_PKEY* key, const char* name, int pad = 0) {
  BIGNUM* bn = nullptr;
  EVP_PKEY_get_bn_param(key, name, &bn);
  std::string out(static_cast<size_t>(std::max(pad, BN_num_bytes(bn))), '\0');
  if (pad > 0) {
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), pad);
  } else {
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  }
  BN_free(bn);
  return out;
}

// A provider's signing keys, as the provider itself would hold them.
struct Signer {
  Signer() : rsa(EVP_RSA_gen(2048)), ec(EVP_EC_gen("P-256")) {}
  ~Signer() {
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
  }
  json Jwks() const {
    return {{"keys",
             {{{"kty", "RSA"}, {"kid", "r1"}, {"use", "sig"}, {"alg", "RS256"},
               {"n", B64Url(BnBytes(rsa, OSSL_PKEY_PARAM_RSA_N))}, {"e", B64Url(BnBytes(rsa, OSSL_PKEY_PARAM_RSA_E))}},
              {{"kty", "EC"}, {"kid", "e1"}, {"crv", "P-256"},
               {"x", B64Url(BnBytes(ec, OSSL_PKEY_PARAM_EC_PUB_X, 32))},
               {"y", B64Url(BnBytes(ec, OSSL_PKEY_PARAM_EC_PUB_Y, 32))}}}}};
  }
  std::string Sign(const json& header, const json& claims) const {
    const std::string input = B64Url(header.dump()) + "." + B64Url(claims.dump());
    const std::string alg = header.value("alg", "");
    if (alg == "none") return input + ".";
    EVP_PKEY* key = alg == "ES256" ? ec : rsa;
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    size_t len = 0;
    EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, key);
    EVP_DigestSign(md, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size());
    std::string sig(len, '\0');
    EVP_DigestSign(md, reinterpret_cast<unsigned char*>(sig.data()), &len,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    sig.resize(len);
    EVP_MD_CTX_free(md);
    if (alg == "ES256") {  // DER to r || s
      const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
      ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
      std::string raw(64, '\0');
      BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), 32);
      BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
      ECDSA_SIG_free(es);
      sig = raw;
    }
    return input + "." + B64Url(sig);
  }
  EVP_PKEY* rsa;
  EVP_PKEY* ec;
};

constexpr int64_t kNow = 1'772'409'600;  // seconds
const char kIssuer[] = "https://id.example.gov";

json Claims() {
  return {{"iss", kIssuer}, {"aud", "onedoor"}, {"sub", "subject-1"}, {"exp", kNow + 300}, {"iat", kNow},
          {"nonce", "n-123"}, {"name", "Ana Lima"}, {"email", "ana@example.org"}, {"email_verified", true}};
}

class VerifyIdTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(core::InitCrypto().ok());
    auto keys = ParseJwks(signer_.Jwks().dump());
    ASSERT_TRUE(keys.ok()) << keys.status().ToString();
    keys_ = *keys;
  }
  core::StatusOr<IdToken> Verify(const std::string& token) {
    return VerifyIdToken(token, keys_, kIssuer, "onedoor", "n-123", core::Timestamp{kNow * 1'000'000});
  }
  Signer signer_;
  std::vector<Jwk> keys_;
};

TEST_F(VerifyIdTokenTest, AcceptsRs256AndEs256TokensOfTheProvider) {
  ASSERT_EQ(keys_.size(), 2u);
  auto rs = Verify(signer_.Sign({{"alg", "RS256"}, {"kid", "r1"}}, Claims()));
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  EXPECT_EQ(rs->subject, "subject-1");
  EXPECT_EQ(rs->name, "Ana Lima");
  EXPECT_EQ(rs->email, "ana@example.org");
  EXPECT_TRUE(rs->email_verified);
  auto es = Verify(signer_.Sign({{"alg", "ES256"}, {"kid", "e1"}}, Claims()));
  ASSERT_TRUE(es.ok()) << es.status().ToString();
  // Without a kid, the only key of the algorithm's type.
  EXPECT_TRUE(Verify(signer_.Sign({{"alg", "ES256"}}, Claims())).ok());
  // The name may come in parts; an audience list holds ours.
  json parts = Claims();
  parts.erase("name");
  parts["given_name"] = "Ana";
  parts["family_name"] = "Lima";
  parts["aud"] = {"other", "onedoor"};
  parts["azp"] = "onedoor";
  auto p = Verify(signer_.Sign({{"alg", "RS256"}, {"kid", "r1"}}, parts));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->name, "Ana Lima");
}

TEST_F(VerifyIdTokenTest, RefusesEveryTokenThatCannotBeTrusted) {
  auto refused = [&](const json& header, const json& claims, const std::string& why) {
    auto r = Verify(signer_.Sign(header, claims));
    EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated) << why;
    EXPECT_THAT(r.status().message(), HasSubstr(why));
  };
  const json rs = {{"alg", "RS256"}, {"kid", "r1"}};
  refused({{"alg", "none"}}, Claims(), "not RS256 or ES256");
  refused({{"alg", "HS256"}, {"kid", "r1"}}, Claims(), "not RS256 or ES256");
  // An RSA signature presented as made with the EC key.
  auto swapped = signer_.Sign(rs, Claims());
  swapped = B64Url(json({{"alg", "ES256"}, {"kid", "r1"}}).dump()) + swapped.substr(swapped.find('.'));
  EXPECT_THAT(Verify(swapped).status().message(), HasSubstr("another type"));
  // A changed claim breaks the signature.
  std::string token = signer_.Sign(rs, Claims());
  json changed = Claims();
  changed["sub"] = "someone-else";
  const size_t d1 = token.find('.');
  const size_t d2 = token.find('.', d1 + 1);
  std::string forged = token.substr(0, d1 + 1) + B64Url(changed.dump()) + token.substr(d2);
  EXPECT_THAT(Verify(forged).status().message(), HasSubstr("signature does not hold"));
  json c = Claims();
  c["iss"] = "https://evil.example";
  refused(rs, c, "issued by someone else");
  c = Claims();
  c["aud"] = "another-client";
  refused(rs, c, "meant for another client");
  c = Claims();
  c["azp"] = "another-client";
  refused(rs, c, "given to another client");
  c = Claims();
  c["exp"] = kNow - 61;
  refused(rs, c, "expired");
  c["exp"] = kNow - 59;  // within the clock skew
  EXPECT_TRUE(Verify(signer_.Sign(rs, c)).ok());
  c = Claims();
  c["iat"] = kNow + 120;
  refused(rs, c, "in the future");
  c = Claims();
  c["nbf"] = kNow + 120;
  refused(rs, c, "not valid yet");
  c = Claims();
  c["nonce"] = "n-999";
  refused(rs, c, "nonce");
  c = Claims();
  c.erase("nonce");
  refused(rs, c, "nonce");
  c = Claims();
  c.erase("sub");
  refused(rs, c, "no subject");
  EXPECT_THAT(Verify("a.b").status().message(), HasSubstr("not a signed JSON Web Token"));
  // A key the set does not have: the caller may fetch the keys again.
  EXPECT_EQ(Verify(signer_.Sign({{"alg", "RS256"}, {"kid", "r2"}}, Claims())).status().code(), StatusCode::kNotFound);
}

TEST(OidcProvidersTest, ReadsProvidersAndNamesEveryMistake) {
  testing_support::TempDir dir;
  const std::string secret = dir.File("govid.secret");
  std::ofstream(secret) << "s3cret-value\n";
  auto ok = ParseOidcProviders(
      "providers:\n  - id: govid\n    name: GovID\n    issuer: https://id.example.gov/\n    client_id: onedoor\n"
      "    client_secret_file: " + secret + "\n  - id: test\n    name: Test ID\n    issuer: http://127.0.0.1:9000\n"
      "    client_id: onedoor\n",
      "oidc.yaml");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[0].issuer, "https://id.example.gov");
  EXPECT_EQ((*ok)[0].client_secret, "s3cret-value");
  EXPECT_EQ((*ok)[1].client_secret, "");
  EXPECT_EQ((*ok)[1].scopes, "openid email profile");

  auto error = [](const std::string& text) { return ParseOidcProviders(text, "oidc.yaml").status().message(); };
  const std::string base = "providers:\n  - id: govid\n    name: GovID\n    client_id: onedoor\n";
  EXPECT_THAT(error(base + "    issuer: http://id.example.gov\n"), HasSubstr("oidc.yaml:2: `issuer` must be an https://"));
  EXPECT_THAT(error(base + "    issuer: https://id.example.gov\n    client_secret: x\n"),
              HasSubstr("oidc.yaml:6: unknown key 'client_secret'"));
  EXPECT_THAT(error(base + "    issuer: https://id.example.gov\n    client_secret_env: ONEDOOR_TEST_NO_SUCH_VARIABLE\n"),
              HasSubstr("ONEDOOR_TEST_NO_SUCH_VARIABLE is not set"));
  EXPECT_THAT(error(base + "    issuer: https://id.example.gov\n    client_secret_file: /nonexistent/secret\n"),
              HasSubstr("/nonexistent/secret cannot be read"));
  EXPECT_THAT(error(base + "    issuer: https://id.example.gov\n    scopes: email\n"), HasSubstr("must include openid"));
  EXPECT_THAT(error("providers:\n  - id: Gov ID\n"), HasSubstr("`id` must be"));
  EXPECT_THAT(error("providers: [\n"), HasSubstr("oidc.yaml:"));
  EXPECT_TRUE(ParseOidcProviders("", "oidc.yaml").ok());
}

// The provider on the other end of the HTTP calls: discovery, keys and the token endpoint.
class FakeProvider {
 public:
  HttpFetch Fetch() {
    return [this](const std::string& url, const std::string& form,
                  const std::vector<std::string>& headers) -> core::StatusOr<HttpAnswer> {
      ++calls;
      if (down) return Status::Unavailable("cannot be reached (connection refused)");
      if (url == std::string(kIssuer) + "/.well-known/openid-configuration") {
        return HttpAnswer{200, json({{"issuer", kIssuer},
                                     {"authorization_endpoint", std::string(kIssuer) + "/authorize"},
                                     {"token_endpoint", std::string(kIssuer) + "/token"},
                                     {"jwks_uri", std::string(kIssuer) + "/jwks"}})
                                   .dump()};
      }
      if (url == std::string(kIssuer) + "/jwks") return HttpAnswer{200, signer.Jwks().dump()};
      if (url != std::string(kIssuer) + "/token") return HttpAnswer{404, "{}"};
      last_form = form;
      last_headers = headers;
      std::smatch m;
      std::regex_search(form, m, std::regex("code=([^&]*)"));
      if (m[1].str() != "good-code") return HttpAnswer{400, R"({"error":"invalid_grant"})"};
      std::regex_search(form, m, std::regex("code_verifier=([^&]*)"));
      unsigned char digest[crypto_hash_sha256_BYTES];
      const std::string verifier = m[1].str();
      crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(verifier.data()), verifier.size());
      if (B64Url(std::string(reinterpret_cast<char*>(digest), sizeof digest)) != challenge) {
        return HttpAnswer{400, R"({"error":"invalid_grant","error_description":"PKCE"})"};
      }
      return HttpAnswer{200, json({{"id_token", signer.Sign({{"alg", "RS256"}, {"kid", "r1"}}, claims)},
                                   {"token_type", "Bearer"}})
                                 .dump()};
    };
  }
  Signer signer;
  json claims;
  std::string challenge;  // from the authorization request
  std::string last_form;
  std::vector<std::string> last_headers;
  bool down = false;
  int calls = 0;
};

class OidcServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(core::InitCrypto().ok());
    db_ = testing_support::NewMigratedSqlite(dir_);
    accounts::AccountOptions options;
    options.fast_password_hashing = true;
    accounts_ = std::make_unique<accounts::AccountService>(*db_, audit_, clock_, options);
    persons_ = std::make_unique<registry::PersonService>(*db_, gate_, audit_, outbox_, clock_);
    portal_ = std::make_unique<PortalService>(*db_, audit_, clock_, *accounts_, *persons_,
                                              PortalOptions{"https://onedoor.example.org"});
    OidcProvider p;
    p.id = "govid";
    p.name = "GovID";
    p.issuer = kIssuer;
    p.client_id = "onedoor";
    p.client_secret = "s3cret";
    p.join_by_email = true;
    oidc_ = std::make_unique<OidcService>(*db_, audit_, clock_, *accounts_, std::vector<OidcProvider>{p},
                                          "https://onedoor.example.org", provider_.Fetch());
  }

  // Begins a sign-in and plays the provider's part: the nonce and challenge it was given go
  // into its answer. Returns the state.
  std::string Begin(json claims = Claims()) {
    auto start = oidc_->Start("govid");
    EXPECT_TRUE(start.ok()) << start.status().ToString();
    if (!start.ok()) return "";
    std::smatch m;
    const std::string& url = start->redirect;
    EXPECT_EQ(url.rfind(std::string(kIssuer) + "/authorize?response_type=code&client_id=onedoor&redirect_uri="
                                                "https%3A%2F%2Fonedoor.example.org%2Fportal%2Foidc%2Fcallback",
                        0),
              0u)
        << url;
    EXPECT_THAT(url, HasSubstr("&code_challenge_method=S256"));
    EXPECT_THAT(url, HasSubstr("&state=" + start->state));
    std::regex_search(url, m, std::regex("nonce=([^&]*)"));
    claims["nonce"] = m[1].str();
    std::regex_search(url, m, std::regex("code_challenge=([^&]*)"));
    provider_.challenge = m[1].str();
    claims["iat"] = clock_.Now().micros / 1'000'000;
    claims["exp"] = clock_.Now().micros / 1'000'000 + 300;
    provider_.claims = claims;
    return start->state;
  }

  int64_t CountAudit(const std::string& action) {
    int64_t n = 0;
    EXPECT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                     ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT COUNT(*) FROM audit_log WHERE action = ?", {action}));
                     n = rows.at(0).Int(0);
                     return Status::Ok();
                   }).ok());
    return n;
  }

  // The client addresses of the audit entries with `action`, oldest first.
  std::vector<std::string> AuditAddresses(const std::string& action) {
    std::vector<std::string> out;
    EXPECT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                     ASSIGN_OR_RETURN(storage::Rows rows,
                                      tx.Query("SELECT client_address FROM audit_log WHERE action = ? ORDER BY seq", {action}));
                     for (const auto& r : rows) out.push_back(r.Text(0));
                     return Status::Ok();
                   }).ok());
    return out;
  }

  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_;
  core::FakeClock clock_{core::Timestamp{kNow * 1'000'000}};
  audit::AuditLog audit_{clock_};
  exchange::Outbox outbox_{clock_};
  authz::AccessGate gate_;
  std::unique_ptr<accounts::AccountService> accounts_;
  std::unique_ptr<registry::PersonService> persons_;
  std::unique_ptr<PortalService> portal_;
  FakeProvider provider_;
  std::unique_ptr<OidcService> oidc_;
};

TEST_F(OidcServiceTest, TheFirstSignInMakesTheAccountAndLaterOnesSignInToIt) {
  std::string state = Begin();
  auto first = oidc_->Finish(state, state, "good-code", "", "req-1");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->new_account);
  EXPECT_EQ(first->session.user.display_name, "Ana Lima");
  EXPECT_EQ(first->session.user.email, "ana@example.org");
  // The client authenticated with its secret, and proved the PKCE verifier.
  EXPECT_THAT(provider_.last_headers, ::testing::Contains(HasSubstr("authorization: Basic ")));
  EXPECT_THAT(provider_.last_form, HasSubstr("code_verifier="));
  auto who = accounts_->AuthenticateSession(first->session.session_id, "r");
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->principal.kind, authz::PrincipalKind::kCitizen);
  EXPECT_TRUE(portal_->Me(who->principal).ok());
  // The state works once.
  EXPECT_EQ(oidc_->Finish(state, state, "good-code", "", "r").status().code(), StatusCode::kInvalidArgument);

  clock_.Advance(std::chrono::minutes(30));
  state = Begin();
  auto second = oidc_->Finish(state, state, "good-code", "", "req-2");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_FALSE(second->new_account);
  EXPECT_EQ(second->session.user.id, first->session.user.id);
  EXPECT_EQ(CountAudit("account.sign_in_added"), 1);
  // Discovery and keys were fetched once, not at every sign-in: then two token requests.
  EXPECT_EQ(provider_.calls, 2 + 2);
  // After an hour they are fetched again (the provider may have rotated its keys).
  clock_.Advance(std::chrono::minutes(31));
  state = Begin();
  ASSERT_TRUE(oidc_->Finish(state, state, "good-code", "", "req-3").ok());
  EXPECT_EQ(provider_.calls, 2 + 2 + 2 + 1);
}

// The audit entries of a sign-in with a provider (refused, the account made, signed in) keep the
// address the browser came from, as a sign-in with a password does.
TEST_F(OidcServiceTest, TheSignInsEntriesKeepTheAddressTheBrowserCameFrom) {
  std::string state = Begin();
  EXPECT_EQ(oidc_->Finish(state, state, "bad-code", "", "r", "203.0.113.9").status().code(),
            StatusCode::kUnauthenticated);
  state = Begin();
  auto first = oidc_->Finish(state, state, "good-code", "", "req-1", "2001:db8:5:6::/64");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(AuditAddresses("login.failed"), std::vector<std::string>{"203.0.113.9"});
  EXPECT_EQ(AuditAddresses("login.succeeded"), std::vector<std::string>{"2001:db8:5:6::/64"});
  const auto made = AuditAddresses("account.sign_in_added");
  ASSERT_FALSE(made.empty());
  EXPECT_EQ(made.back(), "2001:db8:5:6::/64");
}

TEST_F(OidcServiceTest, RefusesAnotherBrowserAnExpiredAttemptABadCodeAndAnUntrustedToken) {
  std::string state = Begin();
  // The browser that comes back is not the one that began (login CSRF): refused, attempt kept.
  EXPECT_EQ(oidc_->Finish(state, "someone-elses-state-xyzw12", "good-code", "", "r").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(oidc_->Finish(state, "", "good-code", "", "r").status().code(), StatusCode::kInvalidArgument);
  // The provider refuses the code: audited.
  EXPECT_EQ(oidc_->Finish(state, state, "bad-code", "", "r").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(CountAudit("login.failed"), 1);

  state = Begin();
  clock_.Advance(std::chrono::minutes(11));
  EXPECT_EQ(oidc_->Finish(state, state, "good-code", "", "r").status().code(), StatusCode::kInvalidArgument);

  json wrong = Claims();
  wrong["aud"] = "another-client";
  state = Begin(wrong);
  auto r = oidc_->Finish(state, state, "good-code", "", "r");
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(r.status().message(), HasSubstr("could not be trusted"));
  EXPECT_EQ(CountAudit("login.failed"), 2);
  // No account was made by any of these.
  int64_t accounts = -1;
  ASSERT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                   ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT COUNT(*) FROM users"));
                   accounts = rows.at(0).Int(0);
                   return Status::Ok();
                 }).ok());
  EXPECT_EQ(accounts, 0);

  EXPECT_EQ(oidc_->Start("nobody").status().code(), StatusCode::kNotFound);

  // The answer names another issuer than the one the sign-in went to (RFC 9207): refused.
  state = Begin();
  auto mixed = oidc_->Finish(state, state, "good-code", "https://evil.example", "r");
  EXPECT_EQ(mixed.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(CountAudit("login.failed"), 3);
  state = Begin();
  EXPECT_TRUE(oidc_->Finish(state, state, "good-code", kIssuer, "r").ok());
}

TEST_F(OidcServiceTest, WithoutJoinByEmailAnAddressHeldByAnotherAccountStaysThere) {
  ASSERT_TRUE(portal_->SignUp("Ana Lima", "ana@example.org", "correct horse battery").ok());
  OidcProvider p;
  p.id = "govid";
  p.name = "GovID";
  p.issuer = kIssuer;
  p.client_id = "onedoor";
  p.client_secret = "s3cret";
  oidc_ = std::make_unique<OidcService>(*db_, audit_, clock_, *accounts_, std::vector<OidcProvider>{p},
                                        "https://onedoor.example.org", provider_.Fetch());
  std::string state = Begin();
  auto made = oidc_->Finish(state, state, "good-code", "", "r");
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_TRUE(made->new_account);
  EXPECT_EQ(made->session.user.email, "");
  // The account that had the address keeps it, and its password.
  int64_t holders = 0;
  ASSERT_TRUE(db_->Read([&](storage::Transaction& tx) -> Status {
                   ASSIGN_OR_RETURN(storage::Rows rows,
                                    tx.Query("SELECT COUNT(*) FROM users WHERE email = 'ana@example.org'"));
                   holders = rows.at(0).Int(0);
                   return Status::Ok();
                 }).ok());
  EXPECT_EQ(holders, 1);
}

TEST_F(OidcServiceTest, AnUnreachableProviderIsSaidSo) {
  provider_.down = true;
  auto start = oidc_->Start("govid");
  EXPECT_EQ(start.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(start.status().message(), HasSubstr("GovID"));
}

TEST_F(OidcServiceTest, JoinsTheAccountOfTheSameConfirmedAddressAndTakesBackAnUnconfirmedOne) {
  // Ana signed up and confirmed her address; her provider vouches for the same address.
  ASSERT_TRUE(portal_->SignUp("Ana Lima", "ana@example.org", "correct horse battery").ok());
  std::string token;
  ASSERT_TRUE(db_->Write([&](storage::Transaction& tx) -> Status {
                   token = core::RandomToken(24);
                   return tx.Execute("UPDATE citizen_profiles SET verify_hash = ?", {core::Sha256Hex(token)}).status();
                 }).ok());
  ASSERT_TRUE(portal_->Verify(token).ok());
  std::string state = Begin();
  auto joined = oidc_->Finish(state, state, "good-code", "", "r");
  ASSERT_TRUE(joined.ok()) << joined.status().ToString();
  EXPECT_FALSE(joined->new_account);
  EXPECT_TRUE(portal_->SignIn("ana@example.org", "correct horse battery", "r").ok());  // her password still works

  // Someone signed up with Bo's address and never confirmed it; Bo signs in with the provider.
  ASSERT_TRUE(portal_->SignUp("Not Bo", "bo@example.org", "chosen by someone else").ok());
  json bo = Claims();
  bo["sub"] = "subject-bo";
  bo["email"] = "bo@example.org";
  bo["name"] = "Bo Diaz";
  state = Begin(bo);
  auto taken = oidc_->Finish(state, state, "good-code", "", "r");
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  // The password chosen at that sign-up no longer opens the account.
  EXPECT_EQ(portal_->SignIn("bo@example.org", "chosen by someone else", "r").status().code(),
            StatusCode::kUnauthenticated);

  // An address the provider has not verified joins nothing: a new account, without the address.
  json carl = Claims();
  carl["sub"] = "subject-carl";
  carl["email"] = "ana@example.org";
  carl["email_verified"] = false;
  state = Begin(carl);
  auto fresh = oidc_->Finish(state, state, "good-code", "", "r");
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_TRUE(fresh->new_account);
  EXPECT_NE(fresh->session.user.id, joined->session.user.id);
  EXPECT_EQ(fresh->session.user.email, "");
}

}  // namespace
}  // namespace portal
