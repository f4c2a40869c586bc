#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "accounts/account_service.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "core/status.h"
#include "storage/database.h"

// Signing in to the portal with an OpenID Connect provider the deployment trusts (a national
// digital identity, a regional login): the authorization code flow with PKCE, a state bound to
// the browser and a nonce bound to the ID token. The ID token is checked here (RS256 or ES256
// signature against the provider's published keys, issuer, audience, expiry, nonce), never
// taken on trust. A provider's subject is linked to one portal account: the first sign-in makes
// the account (or joins the account of the same confirmed e-mail address), and every later
// one signs in to it. Such an account is linked to the person's record like any other, at a
// desk. See docs/portal.md and docs/operators.md.
namespace portal {

struct OidcProvider {
  std::string id;        // [a-z0-9-], 1 to 32: the address /portal/oidc/{id}
  std::string name;      // "GovID": the button reads "Sign in with GovID"
  std::string issuer;    // https://id.example.gov (http:// only on the loopback, for tests)
  std::string client_id;
  std::string client_secret;  // read from client_secret_file or client_secret_env, never the file
  std::string scopes = "openid email profile";
  // Whether an e-mail address the provider says it verified joins the portal account of the same
  // confirmed address. Off by default: only for a provider trusted to verify addresses.
  bool join_by_email = false;
};

// Reads the providers file (docs/operators.md, "Signing in with OpenID Connect"). Errors name
// the file, line and key; a secret that cannot be read is an error naming where it was looked for.
core::StatusOr<std::vector<OidcProvider>> LoadOidcProviders(const std::string& path);
core::StatusOr<std::vector<OidcProvider>> ParseOidcProviders(const std::string& text, const std::string& file);

// One public key of a provider's JSON Web Key Set, its numbers decoded to bytes.
struct Jwk {
  std::string kid;
  std::string kty;        // "RSA" or "EC" (P-256)
  std::string n, e;       // RSA modulus and exponent, big-endian bytes
  std::string x, y;       // EC point, 32 bytes each
};

// The keys of a JWKS document that onedoor can use (RSA of at least 2048 bits, EC P-256);
// kInvalidArgument when the document is not a JWKS.
core::StatusOr<std::vector<Jwk>> ParseJwks(const std::string& json);

struct IdToken {
  std::string issuer;
  std::string subject;
  std::string name;
  std::string email;
  bool email_verified = false;
};

// Checks a compact JWS ID token: its signature (RS256 with an RSA key, ES256 with a P-256 key,
// chosen by the header's kid, or the only key of the right type when there is no kid; "none" and
// every other algorithm refused), iss == `issuer`, `client_id` among aud (and azp, when present),
// exp in the future, iat and nbf (when present) not in it (60 seconds of clock skew allowed), and
// nonce == `nonce`.
// kUnauthenticated saying what was wrong; kNotFound when no key has the header's kid (the
// caller may fetch the keys again: the provider may have rotated them).
core::StatusOr<IdToken> VerifyIdToken(const std::string& token, const std::vector<Jwk>& keys,
                                      const std::string& issuer, const std::string& client_id,
                                      const std::string& nonce, core::Timestamp now);

// The outgoing HTTP onedoor needs: a GET, or a form POST with headers. Answers with the
// status and body; kUnavailable when the provider cannot be reached.
struct HttpAnswer {
  long status = 0;
  std::string body;
};
using HttpFetch = std::function<core::StatusOr<HttpAnswer>(const std::string& url, const std::string& form_body,
                                                           const std::vector<std::string>& headers)>;
// With libcurl: a POST when form_body is not empty, a GET otherwise; no redirects followed.
HttpFetch CurlFetch(int timeout_seconds = 10);

struct OidcStart {
  std::string redirect;  // the provider's authorization address, to send the browser to
  std::string state;     // to keep in the browser's cookie until it comes back
};

struct OidcSignIn {
  accounts::NewSession session;
  bool new_account = false;
};

// Thread-safe. Login attempts are kept in the database (oidc_logins), so the browser may come
// back to any server of a deployment.
class OidcService {
 public:
  OidcService(storage::Database& db, audit::AuditLog& audit, const core::Clock& clock,
              accounts::AccountService& accounts, std::vector<OidcProvider> providers, std::string public_url,
              HttpFetch fetch);

  const std::vector<OidcProvider>& providers() const { return providers_; }
  const OidcProvider* Find(const std::string& id) const;
  // The address the provider sends the browser back to.
  std::string RedirectUri() const { return public_url_ + "/portal/oidc/callback"; }
  // As PortalService::SetPublicUrl: before any request is handled.
  void SetPublicUrl(std::string url) { public_url_ = std::move(url); }

  // Begins a sign-in: kNotFound (no such provider), kUnavailable (its discovery document cannot
  // be fetched or read). A login attempt lasts 10 minutes.
  core::StatusOr<OidcStart> Start(const std::string& provider);
  // The name of the provider of a login attempt that is still open ("" when none), for the
  // page shown when the person cancelled at the provider.
  std::string ProviderOf(const std::string& state);
  // Ends the attempt of `state` without signing in (the provider answered with an error).
  void Abandon(const std::string& state);
  // The browser came back with `code` for `state`, and `iss` when the provider names itself in
  // its answer (RFC 9207; "" when it does not). kInvalidArgument when the state is unknown,
  // used, expired or not the one this browser (`browser_state`, from its cookie) began;
  // kUnauthenticated when `iss` is not the attempt's provider (a mix-up);
  // kUnavailable when the provider cannot be reached; kUnauthenticated when it refuses the code
  // or its ID token does not pass VerifyIdToken (audited as login.failed); kUnauthenticated
  // when the account is switched off. `client` is the address the browser came from, kept in
  // the audit entries of the sign-in.
  core::StatusOr<OidcSignIn> Finish(const std::string& state, const std::string& browser_state,
                                    const std::string& code, const std::string& iss, const std::string& request_id,
                                    const std::string& client = "");

 private:
  struct Discovered {
    std::string authorization_endpoint;
    std::string token_endpoint;
    std::string jwks_uri;
    std::vector<Jwk> keys;
    int64_t fetched_at = 0;
  };
  core::StatusOr<Discovered> Discover(const OidcProvider& p, bool fresh);
  // The account for the provider's subject: found, joined by confirmed e-mail, or made.
  core::StatusOr<std::pair<core::UserId, bool>> AccountFor(const OidcProvider& p, const IdToken& token,
                                                           const std::string& client);
  void Refused(const OidcProvider& p, const std::string& why, const std::string& request_id,
               const std::string& client);

  storage::Database& db_;
  audit::AuditLog& audit_;
  const core::Clock& clock_;
  accounts::AccountService& accounts_;
  std::vector<OidcProvider> providers_;
  std::string public_url_;
  HttpFetch fetch_;

  std::mutex mu_;
  std::map<std::string, Discovered> discovered_;  // GUARDED_BY(mu_), by provider id
};

}  // namespace portal
