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
};

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
