#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/status.h"
#include "http/request.h"

namespace http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  int io_threads = 0;       // 0: one per core
  int worker_threads = 16;  // handlers run here, never on the I/O threads
  size_t max_body_bytes = 1 << 20;
  int grace_seconds = 10;   // how long SIGTERM waits for in-flight requests
  // Requests for which this is true are handled on the I/O thread that read them, instead of
  // a worker: their handlers must never wait (Dispatcher::RunsInline).
  std::function<bool(const Request&)> runs_inline;
  // Called with the port once the listening socket is bound, before any connection is taken.
  std::function<void(uint16_t port)> on_bound;
};

using RequestHandler = std::function<Response(Request&)>;

// Serves HTTP until SIGTERM or SIGINT. An answer whose after_commit is not empty is sent when
// those writes are durable (or what its if_failed makes of their error), from the thread that
// finished them; each answer's `sent` is called just before it goes out. On a signal it stops
// taking new work (readiness turns false through `on_draining`), waits up to grace_seconds for
// in-flight requests to finish, then closes. `on_ready` runs once the listening socket is open,
// with the port it is bound to (the one the system chose, for port 0).
core::Status Serve(const ServerOptions& options, const RequestHandler& handler,
                   const std::function<void(uint16_t port)>& on_ready,
                   const std::function<void()>& on_draining);

// "host:port" into its parts; kInvalidArgument if malformed.
core::Status ParseListen(const std::string& listen, std::string& host, uint16_t& port);

}  // namespace http
