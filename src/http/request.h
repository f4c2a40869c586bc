#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace storage {
class Submitted;
}

// Requests and responses as plain values, so that handlers and tests never see RESTinio.
namespace http {

struct Request {
  std::string method;  // "GET"
  std::string path;    // decoded path without the query
  // The path as sent, still percent-encoded; routes are matched on it segment by segment, so
  // that "%2F" inside a segment ("/source-records/HSG%2F12") stays part of that segment. When
  // empty (requests made in tests), `path` is used.
  std::string raw_path;
  std::multimap<std::string, std::string> query;    // decoded query parameters
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string remote_ip;       // the peer: a reverse proxy, when there is one
  std::string client_address;  // the client: remote_ip, or what a trusted proxy says it is
  std::string request_id;

  std::optional<std::string> Header(std::string_view lower_name) const;
  std::string Cookie(std::string_view name) const;
  // The first value of query parameter `name`, or "".
  std::string Query(std::string_view name) const;
};

// Decodes an application/x-www-form-urlencoded body. Repeated names keep every value.
std::multimap<std::string, std::string> ParseForm(std::string_view body);
std::string UrlDecode(std::string_view s);
// Percent-decodes a URL path; unlike UrlDecode, '+' stays a plus sign.
std::string PathDecode(std::string_view s);
std::string UrlEncode(std::string_view s);

// The body of a response that is sent as it is made: server-sent events. The server calls Next
// until it returns false, the client goes away, the server stops or the stream's time is up, and
// sends what each call appends to `out` at once (a comment keeps an idle connection open).
class Stream {
 public:
  virtual ~Stream() = default;
  // May block up to `wait`; false when there is nothing more.
  virtual bool Next(std::string& out, std::chrono::milliseconds wait) = 0;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When set, the body is streamed (Content-Type: text/event-stream) for up to stream_seconds;
  // `body` is ignored. Browsers' EventSource reconnects by itself when it ends.
  std::shared_ptr<Stream> stream;
  int stream_seconds = 300;
  // Writes the answer is held back for (audit entries deferred by a storage::DeferScope): it is
  // sent once all of them are durable. If one failed, what `if_failed` makes of its error is
  // sent instead: nothing is released whose audit entry was not written.
  std::vector<std::shared_ptr<storage::Submitted>> after_commit;
  std::function<Response(const core::Status&)> if_failed;
  // Called with the status about to be sent, once the answer is ready to go out (metrics and
  // the access log).
  std::function<void(int status)> sent;
  // The answer to a HEAD request: its headers, Content-Length the body's as GET would send it,
  // and no body.
  bool head = false;

  Response& Header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  std::optional<std::string> FindHeader(std::string_view name) const;

  static Response Json(int status, std::string body);
  static Response Html(int status, std::string body);
  static Response Text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  static Response Redirect(std::string location);  // 303 See Other
};

}  // namespace http
