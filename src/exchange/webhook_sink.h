#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "exchange/outbox_worker.h"

namespace exchange {

struct WebhookOptions {
  std::string url;     // http:// or https://
  std::string secret;  // "whsec_" + base64 of 16 to 128 bytes
  std::string instance;  // sent as the onedoor-instance header
  int timeout_seconds = 10;
  // Earlier secrets still accepted by the receiver during a rotation: each delivery carries a
  // signature with every one of them, space-separated (Standard Webhooks).
  std::vector<std::string> previous_secrets;
  // Set for receivers named by agencies rather than the operator: a delivery connects only to a
  // public address (checked on the address actually connected to, after name resolution, so a
  // name that resolves inside the network is refused too) and only over https.
  bool public_only = false;
};

// Whether `ip` (an IPv4 or IPv6 address in text) is a public address: not loopback, private,
// link-local, carrier-grade NAT, unique-local, multicast, unspecified or reserved (an IPv4-mapped
// IPv6 address is judged by its IPv4 address). False for text that is not an address.
bool IsPublicAddress(const std::string& ip);

// Why `url` may not be an agency's receiver when only public ones are allowed, or empty: it must
// be https://, and its host may not be localhost or an address that is not public.
std::string NonPublicWebhookReason(const std::string& url);

// Delivers each event as a CloudEvents 1.0 JSON object (structured mode) by HTTP POST, signed
// the Standard Webhooks way: headers webhook-id (the event id), webhook-timestamp (Unix
// seconds) and webhook-signature ("v1," + base64 HMAC-SHA256 over "id.timestamp.body" with
// the secret's key). A 2xx answer acknowledges the event; 410 Gone is kFailedPrecondition (the
// receiver asks not to be called again); anything else, or no answer within the timeout, is
// kUnavailable, a failure to retry. Thread-compatible.
class WebhookSink final : public EventSink {
 public:
  // Returns kInvalidArgument if the URL or the secret is malformed.
  static core::StatusOr<std::unique_ptr<WebhookSink>> Create(WebhookOptions options, const core::Clock& clock);
  ~WebhookSink() override;
  core::Status Deliver(const Event& event) override;

 private:
  WebhookSink(WebhookOptions options, std::vector<std::string> keys, const core::Clock& clock);
  WebhookOptions options_;
  std::vector<std::string> keys_;  // the secrets' decoded bytes, the current one first
  const core::Clock& clock_;
  void* curl_ = nullptr;  // CURL*, reused so that connections are kept alive
};

// The CloudEvents 1.0 JSON form of `event` ("type": "onedoor." + event.type).
std::string CloudEventJson(const Event& event);

// Decodes a Standard Webhooks secret ("whsec_" + base64). kInvalidArgument if malformed.
core::StatusOr<std::string> DecodeWebhookSecret(std::string_view secret);

// "v1," + base64(HMAC-SHA256(key, id + "." + timestamp + "." + body)).
std::string SignWebhook(std::string_view key, std::string_view id, int64_t timestamp, std::string_view body);

}  // namespace exchange
