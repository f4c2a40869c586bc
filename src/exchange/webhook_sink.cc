#include "exchange/webhook_sink.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <memory>
#include <mutex>

#include "core/crypto.h"
#include "core/log.h"

namespace exchange {
namespace {

std::string Base64(std::string_view bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }

// Refuses, before the request is sent, a connection to an address that is not public.
int CheckPublicAddress(void* /*user*/, char* conn_primary_ip, char* /*local_ip*/, int /*primary_port*/,
                       int /*local_port*/) {
  return IsPublicAddress(conn_primary_ip) ? CURL_PREREQFUNC_OK : CURL_PREREQFUNC_ABORT;
}

}  // namespace

bool IsPublicAddress(const std::string& ip) {
  unsigned char a[16];
  if (inet_pton(AF_INET, ip.c_str(), a) == 1) {
    const unsigned b0 = a[0], b1 = a[1];
    if (b0 == 0 || b0 == 10 || b0 == 127 || b0 >= 224) return false;              // this, private, loopback, multicast, reserved
    if (b0 == 169 && b1 == 254) return false;                                     // link-local
    if (b0 == 172 && (b1 & 0xf0) == 16) return false;                             // private
    if (b0 == 192 && b1 == 168) return false;                                     // private
    if (b0 == 100 && (b1 & 0xc0) == 64) return false;                             // carrier-grade NAT
    if (b0 == 192 && b1 == 0 && a[2] == 0) return false;                          // IETF protocol assignments
    if (b0 == 198 && (b1 & 0xfe) == 18) return false;                             // benchmarking
    return true;
  }
  if (inet_pton(AF_INET6, ip.c_str(), a) == 1) {
    static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(a, a + 12, kMapped)) {
      return IsPublicAddress(fmt::format("{}.{}.{}.{}", a[12], a[13], a[14], a[15]));
    }
    bool zero_prefix = std::all_of(a, a + 15, [](unsigned char c) { return c == 0; });
    if (zero_prefix && (a[15] == 0 || a[15] == 1)) return false;  // :: and ::1
    if ((a[0] & 0xfe) == 0xfc) return false;                      // unique local fc00::/7
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return false;      // link-local fe80::/10
    if (a[0] == 0xff) return false;                               // multicast
    return true;
  }
  return false;
}

std::string NonPublicWebhookReason(const std::string& url) {
  if (url.rfind("https://", 0) != 0) return "must be an https:// address";
  // libcurl's own parser, so that the host judged here is the one a delivery connects to.
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> parsed(curl_url(), &curl_url_cleanup);
  char* host_part = nullptr;
  if (!parsed || curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK ||
      curl_url_get(parsed.get(), CURLUPART_HOST, &host_part, 0) != CURLUE_OK) {
    return "must name a host";
  }
  std::string host(host_part);
  curl_free(host_part);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string lower;
  for (char c : host) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!lower.empty() && lower.back() == '.') lower.pop_back();
  if (lower.empty()) return "must name a host";
  if (lower == "localhost" || (lower.size() > 10 && lower.ends_with(".localhost"))) {
    return "must be a public address, not this machine";
  }
  unsigned char buf[16];
  const bool literal = inet_pton(AF_INET, lower.c_str(), buf) == 1 || inet_pton(AF_INET6, lower.c_str(), buf) == 1;
  if (literal && !IsPublicAddress(lower)) return "must be a public address, not one inside the network";
  return "";
}

std::string CloudEventJson(const Event& event) {
  // The payload is already a JSON object built by the service that wrote the event.
  return fmt::format(
      R"({{"specversion":"1.0","id":"{}","source":"onedoor","type":"onedoor.{}","subject":"{}/{}",)"
      R"("time":"{}","datacontenttype":"application/json","data":{}}})",
      event.id, core::JsonEscape(event.type), core::JsonEscape(event.aggregate_type),
      core::JsonEscape(event.aggregate_id), event.at.ToRfc3339(), event.payload.empty() ? "{}" : event.payload);
}

core::StatusOr<std::string> DecodeWebhookSecret(std::string_view secret) {
  constexpr std::string_view kPrefix = "whsec_";
  if (secret.substr(0, kPrefix.size()) != kPrefix) {
    return core::Status::InvalidArgument("the webhook secret must start with whsec_");
  }
  std::string_view b64 = secret.substr(kPrefix.size());
  std::string key(b64.size(), '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(key.data()), key.size(), b64.data(), b64.size(), nullptr,
                        &len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
    return core::Status::InvalidArgument("the webhook secret after whsec_ is not valid base64");
  }
  key.resize(len);
  if (len < 16 || len > 128) {
    return core::Status::InvalidArgument(
        fmt::format("the webhook secret must hold 16 to 128 bytes; it holds {}", len));
  }
  return key;
}

std::string SignWebhook(std::string_view key, std::string_view id, int64_t timestamp, std::string_view body) {
  return "v1," + Base64(core::HmacSha256(key, fmt::format("{}.{}.{}", id, timestamp, body)));
}

core::StatusOr<std::unique_ptr<WebhookSink>> WebhookSink::Create(WebhookOptions options, const core::Clock& clock) {
  if (options.url.rfind("http://", 0) != 0 && options.url.rfind("https://", 0) != 0) {
    return core::Status::InvalidArgument("the webhook URL must start with http:// or https://");
  }
  std::vector<std::string> keys;
  ASSIGN_OR_RETURN(std::string key, DecodeWebhookSecret(options.secret));
  keys.push_back(std::move(key));
  for (const auto& previous : options.previous_secrets) {
    ASSIGN_OR_RETURN(std::string old, DecodeWebhookSecret(previous));
    keys.push_back(std::move(old));
  }
  static std::once_flag curl_init;
  std::call_once(curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  auto sink = std::unique_ptr<WebhookSink>(new WebhookSink(std::move(options), std::move(keys), clock));
  sink->curl_ = curl_easy_init();
  if (sink->curl_ == nullptr) return core::Status::Internal("could not start the HTTP client");
  return sink;
}

WebhookSink::WebhookSink(WebhookOptions options, std::vector<std::string> keys, const core::Clock& clock)
    : options_(std::move(options)), keys_(std::move(keys)), clock_(clock) {}

WebhookSink::~WebhookSink() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

core::Status WebhookSink::Deliver(const Event& event) {
  CURL* curl = static_cast<CURL*>(curl_);
  const std::string body = CloudEventJson(event);
  const std::string id = std::to_string(event.id);
  const int64_t timestamp = clock_.Now().micros / 1'000'000;
  std::string signature;
  for (const auto& key : keys_) signature += (signature.empty() ? "" : " ") + SignWebhook(key, id, timestamp, body);

  curl_slist* headers = nullptr;
  for (const std::string& h :
       {std::string("content-type: application/cloudevents+json; charset=utf-8"), "webhook-id: " + id,
        "webhook-timestamp: " + std::to_string(timestamp), "webhook-signature: " + signature,
        "onedoor-instance: " + options_.instance, std::string("expect:")}) {
    headers = curl_slist_append(headers, h.c_str());
  }
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, options_.url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(options_.timeout_seconds));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, options_.public_only ? "https" : "http,https");
  if (options_.public_only) curl_easy_setopt(curl, CURLOPT_PREREQFUNCTION, &CheckPublicAddress);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Discard);
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  if (rc == CURLE_ABORTED_BY_CALLBACK) {
    return core::Status::Unavailable("the webhook's address is not public: deliveries go to public addresses only");
  }
  if (rc != CURLE_OK) {
    return core::Status::Unavailable(fmt::format("the webhook could not be reached: {}", curl_easy_strerror(rc)));
  }
  if (status == 410) {
    return core::Status::FailedPrecondition("the webhook answered HTTP 410 Gone: the endpoint is no more");
  }
  if (status < 200 || status > 299) {
    return core::Status::Unavailable(fmt::format("the webhook answered HTTP {}", status));
  }
  return core::Status::Ok();
}

}  // namespace exchange
