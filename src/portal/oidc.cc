#include "portal/oidc.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <sodium.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "core/crypto.h"

namespace portal {
namespace {

using core::Status;
using core::StatusOr;
using nlohmann::json;

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kAttemptMicros = 10 * 60 * kSecond;  // a login attempt lasts 10 minutes
constexpr int64_t kSkewSeconds = 60;
constexpr int64_t kDiscoveryMicros = 3600 * kSecond;    // discovery and keys kept an hour
constexpr int64_t kRefetchMicros = 10 * kSecond;        // and fetched again at most this often

std::string At(const std::string& file, const YAML::Node& n) { return fmt::format("{}:{}", file, n.Mark().line + 1); }

bool LoopbackHttp(const std::string& url) {
  for (const char* prefix : {"http://127.0.0.1", "http://localhost", "http://[::1]"}) {
    const std::string p(prefix);
    if (url.rfind(p, 0) == 0 && (url.size() == p.size() || url[p.size()] == ':' || url[p.size()] == '/')) return true;
  }
  return false;
}

std::string Base64Url(const unsigned char* data, size_t size) {
  std::string out(sodium_base64_encoded_len(size, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), data, size, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::char_traits<char>::length(out.c_str()));
  return out;
}

std::string Base64(const std::string& data) {
  std::string out(sodium_base64_encoded_len(data.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::char_traits<char>::length(out.c_str()));
  return out;
}

// Decodes base64url (padding tolerated); nullopt when it is not.
std::optional<std::string> FromBase64Url(std::string s) {
  while (!s.empty() && s.back() == '=') s.pop_back();
  std::string out(s.size(), '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), s.data(), s.size(), nullptr, &len,
                        nullptr, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
    return std::nullopt;
  }
  out.resize(len);
  return out;
}

std::string UrlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// The OpenSSL public key of `k`; null when its numbers do not make one.
Pkey PublicKey(const Jwk& k) {
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  BIGNUM* n = nullptr;
  BIGNUM* e = nullptr;
  std::string point;
  bool pushed = bld != nullptr;
  if (pushed && k.kty == "RSA") {
    n = BN_bin2bn(reinterpret_cast<const unsigned char*>(k.n.data()), static_cast<int>(k.n.size()), nullptr);
    e = BN_bin2bn(reinterpret_cast<const unsigned char*>(k.e.data()), static_cast<int>(k.e.size()), nullptr);
    pushed = n != nullptr && e != nullptr && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
             OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1;
  } else if (pushed) {
    point = std::string(1, '\x04') + k.x + k.y;
    pushed = OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) == 1 &&
             OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) == 1;
  }
  OSSL_PARAM* params = pushed ? OSSL_PARAM_BLD_to_param(bld) : nullptr;
  EVP_PKEY* pkey = nullptr;
  EVP_PKEY_CTX* ctx = params != nullptr ? EVP_PKEY_CTX_new_from_name(nullptr, k.kty == "RSA" ? "RSA" : "EC", nullptr)
                                        : nullptr;
  if (ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1) {
    if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) pkey = nullptr;
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(n);
  BN_free(e);
  return Pkey(pkey);
}

// Whether `signature` signs `data` with `key` under `alg` (RS256 or ES256).
bool SignatureHolds(const Jwk& key, const std::string& alg, const std::string& data, const std::string& signature) {
  Pkey pkey = PublicKey(key);
  if (!pkey) return false;
  std::string sig = signature;
  if (alg == "ES256") {
    // JWS writes r || s; OpenSSL verifies the DER form.
    if (signature.size() != 64) return false;
    ECDSA_SIG* es = ECDSA_SIG_new();
    BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()), 32, nullptr);
    BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()) + 32, 32, nullptr);
    if (es == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(es, r, s) != 1) {
      BN_free(r);
      BN_free(s);
      ECDSA_SIG_free(es);
      return false;
    }
    unsigned char* der = nullptr;
    const int len = i2d_ECDSA_SIG(es, &der);
    ECDSA_SIG_free(es);
    if (len <= 0) return false;
    sig.assign(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
  }
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  bool ok = md != nullptr && EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, pkey.get()) == 1 &&
            EVP_DigestVerify(md, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(md);
  return ok;
}

std::optional<json> JsonOf(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

std::string StringOr(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

size_t Collect(char* data, size_t size, size_t count, void* out) {
  auto* body = static_cast<std::string*>(out);
  if (body->size() + size * count > (1u << 20)) return 0;  // an answer of more than 1 MiB is refused
  body->append(data, size * count);
  return size * count;
}

}  // namespace

StatusOr<std::vector<OidcProvider>> ParseOidcProviders(const std::string& text, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(fmt::format("{}:{}:{}: {}", file, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  std::vector<OidcProvider> out;
  if (root.IsNull()) return out;
  if (!root.IsMap() || !root["providers"] || !root["providers"].IsSequence()) {
    return Status::InvalidArgument(file + ": must have `providers:`, a list of OpenID Connect providers");
  }
  static const std::regex kId("[a-z0-9-]{1,32}");
  for (const auto& item : root["providers"]) {
    if (!item.IsMap()) return Status::InvalidArgument(At(file, item) + ": a provider must be a map");
    OidcProvider p;
    std::string secret_file, secret_env;
    for (const auto& kv : item) {
      const std::string key = kv.first.as<std::string>();
      if (!kv.second.IsScalar()) return Status::InvalidArgument(fmt::format("{}: `{}` must be text", At(file, kv.first), key));
      const std::string v = kv.second.Scalar();
      if (key == "id") p.id = v;
      else if (key == "name") p.name = v;
      else if (key == "issuer") p.issuer = v;
      else if (key == "client_id") p.client_id = v;
      else if (key == "client_secret_file") secret_file = v;
      else if (key == "client_secret_env") secret_env = v;
      else if (key == "scopes") p.scopes = v;
      else if (key == "join_by_email") {
        if (v != "true" && v != "false") {
          return Status::InvalidArgument(fmt::format("{}: `join_by_email` must be true or false", At(file, kv.first)));
        }
        p.join_by_email = v == "true";
      }
      else {
        return Status::InvalidArgument(fmt::format(
            "{}: unknown key '{}' (expected id, name, issuer, client_id, client_secret_file, client_secret_env, "
            "scopes, join_by_email; a secret is never written in this file)",
            At(file, kv.first), key));
      }
    }
    const std::string where = At(file, item);
    if (!std::regex_match(p.id, kId)) {
      return Status::InvalidArgument(where + ": `id` must be 1 to 32 of a-z, 0-9 and -");
    }
    for (const auto& other : out) {
      if (other.id == p.id) return Status::InvalidArgument(fmt::format("{}: a second provider with id '{}'", where, p.id));
    }
    if (p.name.empty()) return Status::InvalidArgument(where + ": `name` is missing (the button reads \"Sign in with {name}\")");
    if (p.client_id.empty()) return Status::InvalidArgument(where + ": `client_id` is missing");
    if (p.issuer.rfind("https://", 0) != 0 && !LoopbackHttp(p.issuer)) {
      return Status::InvalidArgument(where + ": `issuer` must be an https:// address");
    }
    while (!p.issuer.empty() && p.issuer.back() == '/') p.issuer.pop_back();
    if (p.scopes.find("openid") == std::string::npos) {
      return Status::InvalidArgument(where + ": `scopes` must include openid");
    }
    if (!secret_file.empty() && !secret_env.empty()) {
      return Status::InvalidArgument(where + ": give client_secret_file or client_secret_env, not both");
    }
    if (!secret_file.empty()) {
      std::ifstream in(secret_file);
      if (!in) return Status::InvalidArgument(fmt::format("{}: client_secret_file {} cannot be read", where, secret_file));
      std::getline(in, p.client_secret);
      while (!p.client_secret.empty() && std::isspace(static_cast<unsigned char>(p.client_secret.back()))) {
        p.client_secret.pop_back();
      }
      if (p.client_secret.empty()) return Status::InvalidArgument(fmt::format("{}: {} is empty", where, secret_file));
    }
    if (!secret_env.empty()) {
      const char* v = std::getenv(secret_env.c_str());
      if (v == nullptr || *v == '\0') {
        return Status::InvalidArgument(fmt::format("{}: the environment variable {} is not set", where, secret_env));
      }
      p.client_secret = v;
    }
    out.push_back(std::move(p));
  }
  return out;
}

StatusOr<std::vector<OidcProvider>> LoadOidcProviders(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument(path + ": cannot be read");
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseOidcProviders(ss.str(), path);
}

StatusOr<std::vector<Jwk>> ParseJwks(const std::string& text) {
  auto doc = JsonOf(text);
  if (!doc || !doc->is_object() || !doc->contains("keys") || !(*doc)["keys"].is_array()) {
    return Status::InvalidArgument("the provider's keys are not a JSON Web Key Set");
  }
  std::vector<Jwk> out;
  for (const auto& k : (*doc)["keys"]) {
    if (!k.is_object()) continue;
    const std::string use = StringOr(k, "use");
    if (!use.empty() && use != "sig") continue;
    Jwk key;
    key.kid = StringOr(k, "kid");
    key.kty = StringOr(k, "kty");
    if (key.kty == "RSA") {
      auto n = FromBase64Url(StringOr(k, "n"));
      auto e = FromBase64Url(StringOr(k, "e"));
      if (!n || !e || e->empty()) continue;
      size_t lead = 0;
      while (lead < n->size() && (*n)[lead] == '\0') ++lead;
      if (n->size() - lead < 256) continue;  // under 2048 bits
      key.n = n->substr(lead);
      key.e = *e;
    } else if (key.kty == "EC" && StringOr(k, "crv") == "P-256") {
      auto x = FromBase64Url(StringOr(k, "x"));
      auto y = FromBase64Url(StringOr(k, "y"));
      if (!x || !y || x->size() != 32 || y->size() != 32) continue;
      key.x = *x;
      key.y = *y;
    } else {
      continue;
    }
    out.push_back(std::move(key));
  }
  return out;
}

StatusOr<IdToken> VerifyIdToken(const std::string& token, const std::vector<Jwk>& keys, const std::string& issuer,
                                const std::string& client_id, const std::string& nonce, core::Timestamp now) {
  auto refuse = [](const std::string& why) { return Status::Unauthenticated("the ID token " + why); };
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string::npos || token.find('.', dot2 + 1) != std::string::npos) {
    return refuse("is not a signed JSON Web Token");
  }
  auto header_text = FromBase64Url(token.substr(0, dot1));
  auto payload_text = FromBase64Url(token.substr(dot1 + 1, dot2 - dot1 - 1));
  auto signature = FromBase64Url(token.substr(dot2 + 1));
  if (!header_text || !payload_text || !signature) return refuse("is not base64url");
  auto header = JsonOf(*header_text);
  auto claims = JsonOf(*payload_text);
  if (!header || !header->is_object() || !claims || !claims->is_object()) return refuse("is not JSON");

  const std::string alg = StringOr(*header, "alg");
  if (alg != "RS256" && alg != "ES256") return refuse(fmt::format("is signed with '{}', not RS256 or ES256", alg));
  const std::string kty = alg == "RS256" ? "RSA" : "EC";
  const std::string kid = StringOr(*header, "kid");
  const Jwk* key = nullptr;
  if (!kid.empty()) {
    for (const auto& k : keys) {
      if (k.kid == kid) key = &k;
    }
    if (key == nullptr) return Status::NotFound("the ID token's key is not among the provider's keys");
  } else {
    int count = 0;
    for (const auto& k : keys) {
      if (k.kty == kty) {
        key = &k;
        ++count;
      }
    }
    if (count != 1) return refuse("names no key, and the provider has more than one");
  }
  if (key->kty != kty) return refuse("names a key of another type than its algorithm");
  if (!SignatureHolds(*key, alg, token.substr(0, dot2), *signature)) return refuse("signature does not hold");

  const json& c = *claims;
  if (StringOr(c, "iss") != issuer) return refuse("was issued by someone else");
  bool audience = false;
  if (c.contains("aud") && c["aud"].is_string()) audience = c["aud"].get<std::string>() == client_id;
  if (c.contains("aud") && c["aud"].is_array()) {
    for (const auto& a : c["aud"]) audience = audience || (a.is_string() && a.get<std::string>() == client_id);
  }
  if (!audience) return refuse("is meant for another client");
  if (c.contains("azp") && StringOr(c, "azp") != client_id) return refuse("was given to another client");
  const int64_t seconds = now.micros / kSecond;
  if (!c.contains("exp") || !c["exp"].is_number()) return refuse("has no expiry");
  if (c["exp"].get<double>() + kSkewSeconds < static_cast<double>(seconds)) return refuse("has expired");
  if (!c.contains("iat") || !c["iat"].is_number()) return refuse("has no time of issue");
  if (c["iat"].get<double>() - kSkewSeconds > static_cast<double>(seconds)) return refuse("was issued in the future");
  if (c.contains("nbf") && (!c["nbf"].is_number() || c["nbf"].get<double>() - kSkewSeconds > static_cast<double>(seconds))) {
    return refuse("is not valid yet");
  }
  if (nonce.empty() || !core::ConstantTimeEquals(StringOr(c, "nonce"), nonce) ||
      StringOr(c, "nonce").size() != nonce.size()) {
    return refuse("does not belong to this sign-in (nonce)");
  }
  IdToken out;
  out.issuer = issuer;
  out.subject = StringOr(c, "sub");
  if (out.subject.empty() || out.subject.size() > 255) return refuse("has no subject");
  out.name = StringOr(c, "name");
  if (out.name.empty()) {
    const std::string given = StringOr(c, "given_name");
    const std::string family = StringOr(c, "family_name");
    out.name = given + (given.empty() || family.empty() ? "" : " ") + family;
  }
  if (out.name.size() > 200) out.name.resize(200);
  out.email = StringOr(c, "email");
  if (c.contains("email_verified")) {
    const auto& v = c["email_verified"];
    out.email_verified = (v.is_boolean() && v.get<bool>()) || (v.is_string() && v.get<std::string>() == "true");
  }
  return out;
}

HttpFetch CurlFetch(int timeout_seconds) {
  return [timeout_seconds](const std::string& url, const std::string& form_body,
                           const std::vector<std::string>& headers) -> StatusOr<HttpAnswer> {
    CURL* curl = curl_easy_init();
    if (curl == nullptr) return Status::Unavailable("no HTTP client could be made");
    curl_slist* list = nullptr;
    for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
    if (!form_body.empty()) list = curl_slist_append(list, "content-type: application/x-www-form-urlencoded");
    list = curl_slist_append(list, "accept: application/json");
    HttpAnswer answer;
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    if (!form_body.empty()) {
      curl_easy_setopt(curl, CURLOPT_POST, 1L);
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form_body.c_str());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(form_body.size()));
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(timeout_seconds));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer.body);
    const CURLcode rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer.status);
    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK) return Status::Unavailable(fmt::format("cannot be reached ({})", curl_easy_strerror(rc)));
    return answer;
  };
}

OidcService::OidcService(storage::Database& db, audit::AuditLog& audit, const core::Clock& clock,
                         accounts::AccountService& accounts, std::vector<OidcProvider> providers,
                         std::string public_url, HttpFetch fetch)
    : db_(db),
      audit_(audit),
      clock_(clock),
      accounts_(accounts),
      providers_(std::move(providers)),
      public_url_(std::move(public_url)),
      fetch_(std::move(fetch)) {}

const OidcProvider* OidcService::Find(const std::string& id) const {
  for (const auto& p : providers_) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

StatusOr<OidcService::Discovered> OidcService::Discover(const OidcProvider& p, bool fresh) {
  const int64_t now = clock_.Now().micros;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = discovered_.find(p.id);
    if (it != discovered_.end()) {
      const int64_t age = now - it->second.fetched_at;
      if ((!fresh && age < kDiscoveryMicros) || (fresh && age < kRefetchMicros)) return it->second;
    }
  }
  auto unreachable = [&p](const std::string& what) {
    return Status::Unavailable(fmt::format("{} {}", p.name, what));
  };
  auto fetched = fetch_(p.issuer + "/.well-known/openid-configuration", "", {});
  if (!fetched.ok()) return unreachable(fetched.status().message());
  const HttpAnswer config = std::move(fetched).value();
  auto doc = JsonOf(config.body);
  if (config.status != 200 || !doc || !doc->is_object()) {
    return unreachable(fmt::format("did not give its OpenID configuration (HTTP {})", config.status));
  }
  Discovered d;
  d.authorization_endpoint = StringOr(*doc, "authorization_endpoint");
  d.token_endpoint = StringOr(*doc, "token_endpoint");
  d.jwks_uri = StringOr(*doc, "jwks_uri");
  if (StringOr(*doc, "issuer") != p.issuer) return unreachable("names another issuer in its OpenID configuration");
  if (d.authorization_endpoint.empty() || d.token_endpoint.empty() || d.jwks_uri.empty()) {
    return unreachable("left an endpoint out of its OpenID configuration");
  }
  auto fetched_keys = fetch_(d.jwks_uri, "", {});
  if (!fetched_keys.ok()) return unreachable(fetched_keys.status().message());
  const HttpAnswer keys = std::move(fetched_keys).value();
  if (keys.status != 200) return unreachable(fmt::format("did not give its keys (HTTP {})", keys.status));
  auto parsed = ParseJwks(keys.body);
  if (!parsed.ok()) return unreachable("gave keys that are not a JSON Web Key Set");
  d.keys = std::move(parsed).value();
  d.fetched_at = now;
  std::lock_guard<std::mutex> lock(mu_);
  discovered_[p.id] = d;
  return d;
}

StatusOr<OidcStart> OidcService::Start(const std::string& id) {
  const OidcProvider* p = Find(id);
  if (p == nullptr) return Status::NotFound("there is no such way to sign in");
  ASSIGN_OR_RETURN(Discovered d, Discover(*p, false));
  OidcStart out;
  out.state = core::RandomToken(24);
  const std::string nonce = core::RandomToken(24);
  const std::string verifier = core::RandomToken(48);
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(verifier.data()), verifier.size());
  const std::string challenge = Base64Url(digest, sizeof digest);
  const int64_t now = clock_.Now().micros;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.Execute("DELETE FROM oidc_logins WHERE expires_at < ?", {now}).status());
    return tx.Execute("INSERT INTO oidc_logins (state_hash, provider, nonce, verifier, expires_at) VALUES (?, ?, ?, ?, ?)",
                      {core::Sha256Hex(out.state), p->id, nonce, verifier, now + kAttemptMicros})
        .status();
  }));
  out.redirect = fmt::format(
      "{}{}response_type=code&client_id={}&redirect_uri={}&scope={}&state={}&nonce={}&code_challenge={}"
      "&code_challenge_method=S256",
      d.authorization_endpoint, d.authorization_endpoint.find('?') == std::string::npos ? "?" : "&",
      UrlEncode(p->client_id), UrlEncode(RedirectUri()), UrlEncode(p->scopes), out.state, nonce, challenge);
  return out;
}

std::string OidcService::ProviderOf(const std::string& state) {
  std::string name;
  (void)db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT provider FROM oidc_logins WHERE state_hash = ? AND expires_at >= ?",
                                                  {core::Sha256Hex(state), clock_.Now().micros}));
    if (!rows.empty()) {
      if (const OidcProvider* p = Find(rows.at(0).Text(0))) name = p->name;
    }
    return Status::Ok();
  });
  return name;
}

void OidcService::Abandon(const std::string& state) {
  (void)db_.Write([&](storage::Transaction& tx) {
    return tx.Execute("DELETE FROM oidc_logins WHERE state_hash = ?", {core::Sha256Hex(state)}).status();
  });
}

void OidcService::Refused(const OidcProvider& p, const std::string& why, const std::string& request_id,
                          const std::string& client) {
  authz::Principal actor = accounts::AccountService::SystemPrincipal("sign-in with " + p.name);
  actor.request_id = request_id;
  actor.client_address = client;
  audit::Entry e;
  e.action = "login.failed";
  e.record_type = "oidc_provider";
  e.record_id = p.id;
  e.allowed = false;
  e.reason = why;
  (void)db_.Write([&](storage::Transaction& tx) { return audit_.Append(tx, actor, e); });
}

StatusOr<OidcSignIn> OidcService::Finish(const std::string& state, const std::string& browser_state,
                                         const std::string& code, const std::string& iss,
                                         const std::string& request_id, const std::string& client) {
  const Status expired = Status::InvalidArgument("this sign-in has expired or was already used: start again");
  if (state.empty() || state.size() > 200 || browser_state.size() != state.size() ||
      !core::ConstantTimeEquals(state, browser_state)) {
    return Status::InvalidArgument("this sign-in was not started in this browser: start again");
  }
  std::string provider, nonce, verifier;
  const int64_t now = clock_.Now().micros;
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    const std::string hash = core::Sha256Hex(state);
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("SELECT provider, nonce, verifier, expires_at FROM oidc_logins WHERE state_hash = ?", {hash}));
    if (rows.empty()) return Status::Ok();
    RETURN_IF_ERROR(tx.Execute("DELETE FROM oidc_logins WHERE state_hash = ?", {hash}).status());
    if (rows.at(0).Int(3) < now) return Status::Ok();
    provider = rows.at(0).Text(0);
    nonce = rows.at(0).Text(1);
    verifier = rows.at(0).Text(2);
    return Status::Ok();
  }));
  const OidcProvider* p = Find(provider);
  if (p == nullptr) return expired;
  if (!iss.empty() && iss != p->issuer) {
    // The answer names another provider than the one this sign-in went to (a mix-up attack).
    Refused(*p, "the answer came from another issuer than the one the sign-in went to", request_id, client);
    return Status::Unauthenticated(p->name + " did not send this answer");
  }
  if (code.empty() || code.size() > 2048) {
    Refused(*p, "the provider sent the browser back without a code", request_id, client);
    return Status::Unauthenticated(p->name + " did not send a sign-in code");
  }
  ASSIGN_OR_RETURN(Discovered d, Discover(*p, false));

  std::string form = fmt::format("grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}",
                                 UrlEncode(code), UrlEncode(RedirectUri()), verifier);
  std::vector<std::string> headers;
  if (p->client_secret.empty()) {
    form += "&client_id=" + UrlEncode(p->client_id);
  } else {
    headers.push_back("authorization: Basic " + Base64(UrlEncode(p->client_id) + ":" + UrlEncode(p->client_secret)));
  }
  auto answer = fetch_(d.token_endpoint, form, headers);
  if (!answer.ok()) return Status::Unavailable(fmt::format("{} {}", p->name, answer.status().message()));
  auto body = JsonOf(answer->body);
  if (answer->status != 200 || !body || !body->is_object()) {
    const std::string error = body && body->is_object() ? StringOr(*body, "error") : std::string();
    Refused(*p, fmt::format("the token endpoint answered HTTP {} {}", answer->status, error.substr(0, 64)), request_id, client);
    if (answer->status >= 500) return Status::Unavailable(p->name + " could not finish the sign-in");
    return Status::Unauthenticated(p->name + " did not accept the sign-in: start again");
  }
  const std::string id_token = StringOr(*body, "id_token");
  auto token = VerifyIdToken(id_token, d.keys, p->issuer, p->client_id, nonce, clock_.Now());
  if (token.status().code() == core::StatusCode::kNotFound) {
    // The provider may have rotated its keys since they were fetched.
    ASSIGN_OR_RETURN(Discovered again, Discover(*p, true));
    token = VerifyIdToken(id_token, again.keys, p->issuer, p->client_id, nonce, clock_.Now());
  }
  if (!token.ok()) {
    Refused(*p, token.status().message(), request_id, client);
    return Status::Unauthenticated(fmt::format("the sign-in with {} could not be trusted: start again", p->name));
  }
  ASSIGN_OR_RETURN(auto account, AccountFor(*p, *token, client));
  ASSIGN_OR_RETURN(accounts::NewSession session,
                   accounts_.StartVerifiedSession(account.first, "signed in with " + p->name, request_id, client));
  return OidcSignIn{std::move(session), account.second};
}

StatusOr<std::pair<core::UserId, bool>> OidcService::AccountFor(const OidcProvider& p, const IdToken& token,
                                                                 const std::string& client) {
  const int64_t now = clock_.Now().micros;
  const std::string email = token.email_verified ? token.email : std::string();
  // Without join_by_email, an address held by another account is not this one's.
  const bool may_join = p.join_by_email;
  std::optional<int64_t> user;
  std::optional<int64_t> same_email;
  bool email_confirmed = false;
  bool taken = false;  // another account has the address, and the provider may not join it
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT user_id FROM external_identities WHERE issuer = ? AND subject = ?",
                                                  {token.issuer, token.subject}));
    if (!rows.empty()) user = rows.at(0).Int(0);
    if (user || email.empty()) return Status::Ok();
    ASSIGN_OR_RETURN(storage::Rows mine,
                     tx.Query("SELECT u.id, p.email_verified_at FROM users u LEFT JOIN citizen_profiles p ON p.user_id = "
                              "u.id WHERE u.kind = 'citizen' AND u.email = ? ORDER BY u.id LIMIT 1",
                              {email}));
    if (!mine.empty()) {
      same_email = mine.at(0).Int(0);
      email_confirmed = !mine.at(0).IsNull(1);
      if (!may_join) {
        same_email.reset();
        taken = true;
      }
    }
    return Status::Ok();
  }));
  if (user) {
    RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
      return tx.Execute("UPDATE external_identities SET last_used_at = ? WHERE issuer = ? AND subject = ?",
                        {now, token.issuer, token.subject})
          .status();
    }));
    return std::make_pair(core::UserId{*user}, false);
  }

  authz::Principal system = accounts::AccountService::SystemPrincipal("sign-in with " + p.name);
  system.client_address = client;
  bool made = false;
  if (same_email && !email_confirmed) {
    // Someone signed up with this address and never confirmed it: the provider has now proved
    // who holds the address, so the account becomes theirs and the password chosen at that
    // sign-up stops working (it may have been chosen by someone else).
    RETURN_IF_ERROR(accounts_.SetPassword(system, core::UserId{*same_email}, core::RandomToken(32)));
  }
  if (!same_email) {
    accounts::NewUser nu;
    nu.kind = accounts::AccountKind::kCitizen;
    nu.username = "citizen-" + core::Sha256Hex(core::RandomToken(16)).substr(0, 16);
    nu.display_name = !token.name.empty() ? token.name : !email.empty() ? email : "Portal account";
    nu.email = taken ? std::string() : email;
    nu.password = core::RandomToken(32);  // known to no one: this account signs in through the provider
    ASSIGN_OR_RETURN(accounts::User u, accounts_.CreateUser(system, nu));
    same_email = u.id.value;
    made = true;
  }
  const int64_t id = *same_email;
  Status linked = db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows has, tx.Query("SELECT email_verified_at FROM citizen_profiles WHERE user_id = ?", {id}));
    if (has.empty()) {
      RETURN_IF_ERROR(tx.Execute("INSERT INTO citizen_profiles (user_id, email_verified_at) VALUES (?, ?)",
                                 {id, taken || email.empty() ? storage::Value() : storage::Value(now)})
                          .status());
    } else if (has.at(0).IsNull(0) && !email.empty() && !taken) {
      RETURN_IF_ERROR(tx.Execute("UPDATE citizen_profiles SET email_verified_at = ?, verify_hash = NULL WHERE user_id = ?",
                                 {now, id})
                          .status());
    }
    RETURN_IF_ERROR(tx.Execute("INSERT INTO external_identities (issuer, subject, user_id, provider, created_at, "
                               "last_used_at) VALUES (?, ?, ?, ?, ?, ?)",
                               {token.issuer, token.subject, id, p.id, now, now})
                        .status());
    audit::Entry e;
    e.action = "account.sign_in_added";
    e.record_type = "user";
    e.record_id = std::to_string(id);
    e.reason = made ? fmt::format("account made at the first sign-in with {}", p.name)
                    : fmt::format("sign-in with {} added to the account of the same confirmed e-mail address", p.name);
    return audit_.Append(tx, system, e);
  });
  if (!linked.ok()) {
    // Two first sign-ins of the same person at once: the other one linked the subject.
    bool found = false;
    RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT user_id FROM external_identities WHERE issuer = ? AND subject = ?",
                                                    {token.issuer, token.subject}));
      if (!rows.empty()) {
        user = rows.at(0).Int(0);
        found = true;
      }
      return Status::Ok();
    }));
    if (!found) return linked;
    return std::make_pair(core::UserId{*user}, false);
  }
  return std::make_pair(core::UserId{id}, made);
}

}  // namespace portal
