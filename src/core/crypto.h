#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

// Thin wrappers over libsodium. Call InitCrypto() once before any other function.
namespace core {

Status InitCrypto();

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// `bytes` random bytes, URL-safe base64 without padding.
std::string RandomToken(size_t bytes = 32);
// The same form, for ids that must be unique and unguessable but are not secrets (request ids):
// drawn from a ChaCha20 stream keyed once per thread from the system's generator, without a
// system call per id. At most 48 bytes.
std::string RandomId(size_t bytes = 12);

// Argon2id password hash in the PHC string format. `fast` lowers the cost for tests and
// demo data only; verification reads the parameters from the hash either way.
StatusOr<std::string> HashPassword(std::string_view password, bool fast = false);
bool VerifyPassword(std::string_view hash, std::string_view password);

// Constant-time comparison of two strings of equal length.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// HMAC-SHA-256 of `data` under `key`: its 32 bytes, or as 64 lower-case hex digits.
std::string HmacSha256(std::string_view key, std::string_view data);
std::string HmacSha256Hex(std::string_view key, std::string_view data);

}  // namespace core
