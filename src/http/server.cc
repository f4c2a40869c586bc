#include "http/server.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <restinio/all.hpp>

#include "core/log.h"
#include "storage/database.h"

namespace http {
namespace {

// A fixed pool of threads running queued tasks.
class WorkerPool {
 public:
  explicit WorkerPool(int n) {
    for (int i = 0; i < n; ++i) {
      threads_.emplace_back([this] {
        pthread_setname_np(pthread_self(), "od-worker");  // as `top -H` and `ps -L` show it
        Loop();
      });
    }
  }
  ~WorkerPool() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  void Post(std::function<void()> task) {
    {
      std::lock_guard lock(mu_);
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
  }

 private:
  void Loop() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                    // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

struct Traits : public restinio::default_traits_t {
  using logger_t = restinio::null_logger_t;
};

Request Convert(const restinio::request_handle_t& req) {
  Request out;
  const auto& h = req->header();
  out.method = h.method().c_str();
  out.raw_path = std::string(h.path());
  out.path = PathDecode(out.raw_path);
  // Decoded leniently, like a form: a "/" or "?" left unescaped in a value is kept, not refused.
  out.query = ParseForm(h.query());
  for (const auto& field : h) {
    std::string name = field.name();
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers.emplace_back(std::move(name), field.value());
  }
  out.body = req->body();
  out.remote_ip = req->remote_endpoint().address().to_string();
  return out;
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "";
  }
}

void Send(const restinio::request_handle_t& req, const Response& r) {
  const restinio::http_status_line_t line{
      restinio::http_status_code_t{static_cast<std::uint16_t>(r.status)}, ReasonPhrase(r.status)};
  if (r.head) {
    // The length GET would send, and no body (RFC 9110, 9.3.2).
    auto resp = req->create_response<restinio::user_controlled_output_t>(line);
    for (const auto& [k, v] : r.headers) resp.append_header(k, v);
    resp.set_content_length(r.body.size());
    resp.done();
    return;
  }
  auto resp = req->create_response(line);
  for (const auto& [k, v] : r.headers) resp.append_header(k, v);
  resp.set_body(r.body);
  resp.done();
}

// After a request failed unexpectedly: logs why and answers 500, if the connection still can.
void SendInternalError(const restinio::request_handle_t& req, const std::exception& e) {
  core::LogError("request failed", {{"what", e.what()}});
  try {
    Send(req, Response::Text(500, "internal error"));
  } catch (...) {
  }
}

// Sends `r` now, or once the writes it waits for are durable; then `done`.
void Answer(const restinio::request_handle_t& req, Response r, std::function<void()> done) {
  // `sent` first: its log line is written before the caller can see the answer.
  if (r.after_commit.empty()) {
    if (r.sent) r.sent(r.status);
    Send(req, r);
    done();
    return;
  }
  auto writes = std::move(r.after_commit);
  auto held = std::make_shared<Response>(std::move(r));
  // On the thread that finishes the writes (the database's writer): a send only queues the answer
  // for its connection's I/O thread.
  storage::WhenAllFinished(std::move(writes), [req, held, done = std::move(done)](core::Status s) {
    try {
      if (!s.ok()) {
        // The answer held back is replaced by the error; it goes out as the request's answer
        // (logged and counted, without a body to a HEAD).
        const bool head = held->head;
        auto sent = std::move(held->sent);
        *held = held->if_failed
                    ? held->if_failed(s)
                    : Response::Text(503, "the audit log cannot be written; try again later");
        held->head = head;
        held->sent = std::move(sent);
      }
      if (held->sent) held->sent(held->status);
      Send(req, *held);
    } catch (const std::exception& e) {
      core::LogError("request failed", {{"what", e.what()}});
    }
    done();
  });
}

// Set when the server is stopping, so that event streams end and let it.
std::atomic<bool> g_stopping{false};
std::atomic<int> g_streams{0};
constexpr int kMaxStreams = 32;

// Server-sent events: the headers at once, then what the stream makes, as it makes it.
void SendStream(const restinio::request_handle_t& req, const Response& r) {
  if (g_streams.fetch_add(1) >= kMaxStreams) {
    --g_streams;
    Send(req, Response::Text(503, "too many live streams; try again in a minute"));
    return;
  }
  auto resp = req->create_response<restinio::chunked_output_t>(restinio::http_status_line_t{
      restinio::http_status_code_t{static_cast<std::uint16_t>(r.status)}, ReasonPhrase(r.status)});
  for (const auto& [k, v] : r.headers) {
    if (k != "Cache-Control" && k != "Content-Type") resp.append_header(k, v);
  }
  resp.append_header("Content-Type", "text/event-stream; charset=utf-8");
  resp.append_header("Cache-Control", "no-cache");
  resp.append_header("X-Accel-Buffering", "no");
  auto closed = std::make_shared<std::atomic<bool>>(false);
  auto on_write = [closed](const restinio::asio_ns::error_code& ec) {
    if (ec) *closed = true;
  };
  resp.flush(on_write);
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::seconds(r.stream_seconds);
  auto last_sent = start;
  try {
    while (!closed->load() && !g_stopping.load() && std::chrono::steady_clock::now() < end) {
      std::string chunk;
      const bool more = r.stream->Next(chunk, std::chrono::milliseconds(1000));
      const auto now = std::chrono::steady_clock::now();
      if (chunk.empty() && now - last_sent > std::chrono::seconds(15)) chunk = ": still here\n\n";
      if (!chunk.empty()) {
        resp.append_chunk(std::move(chunk));
        resp.flush(on_write);
        last_sent = now;
      }
      if (!more) break;
    }
  } catch (const std::exception& e) {
    core::LogWarn("stream ended", {{"what", e.what()}});
  }
  resp.done();
  --g_streams;
}

}  // namespace

core::Status ParseListen(const std::string& listen, std::string& host, uint16_t& port) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return core::Status::InvalidArgument("listen must be host:port");
  host = listen.substr(0, colon);
  try {
    int p = std::stoi(listen.substr(colon + 1));
    if (p < 0 || p > 65535) throw std::out_of_range("port");
    port = static_cast<uint16_t>(p);
  } catch (const std::exception&) {
    return core::Status::InvalidArgument("the port in listen must be a number from 0 to 65535");
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return core::Status::Ok();
}

core::Status Serve(const ServerOptions& options, const RequestHandler& handler,
                   const std::function<void(uint16_t port)>& on_ready,
                   const std::function<void()>& on_draining) {
  // Block the stop signals in every thread; this thread waits for them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Shared with answers that are sent when their writes commit, which may outlive a stop that
  // timed out.
  auto in_flight = std::make_shared<std::atomic<int64_t>>(0);
  auto workers = std::make_unique<WorkerPool>(options.worker_threads);
  const int io_threads = options.io_threads > 0 ? options.io_threads
                                                : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  restinio::running_server_handle_t<Traits> server;
  std::atomic<uint16_t> bound_port{options.port};
  try {
    server = restinio::run_async<Traits>(
        restinio::own_io_context(),
        restinio::server_settings_t<Traits>{}
            .port(options.port)
            .address(options.host)
            .max_pipelined_requests(4)
            .acceptor_post_bind_hook(
                [&bound_port, &options](restinio::asio_ns::ip::tcp::acceptor& acceptor) {
                  bound_port = acceptor.local_endpoint().port();
                  if (options.on_bound) options.on_bound(bound_port.load());
                })
            .incoming_http_msg_limits(
                restinio::incoming_http_msg_limits_t{}.max_body_size(options.max_body_bytes))
            .request_handler([&](restinio::request_handle_t req) {
              ++*in_flight;
              auto run = [req, &handler, in_flight](Request& request) {
                try {
                  Response response = handler(request);
                  if (response.stream) {
                    if (response.sent) response.sent(response.status);
                    SendStream(req, response);
                  } else {
                    Answer(req, std::move(response), [in_flight] { --*in_flight; });
                    return;
                  }
                } catch (const std::exception& e) {
                  SendInternalError(req, e);
                }
                --*in_flight;
              };
              try {
                Request request = Convert(req);
                if (options.runs_inline && options.runs_inline(request)) {
                  run(request);
                } else {
                  workers->Post([run, request = std::move(request)]() mutable { run(request); });
                }
              } catch (const std::exception& e) {
                SendInternalError(req, e);
                --*in_flight;
              }
              return restinio::request_accepted();
            }),
        static_cast<std::size_t>(io_threads));
  } catch (const std::exception& e) {
    return core::Status::Unavailable(std::string("cannot listen on ") + options.host + ":" +
                                     std::to_string(options.port) + ": " + e.what());
  }
  if (on_ready) on_ready(bound_port.load());
  int sig = 0;
  sigwait(&signals, &sig);
  g_stopping = true;
  core::LogInfo("stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"},
                             {"in_flight", std::to_string(in_flight->load())}});
  if (on_draining) on_draining();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.grace_seconds);
  while (in_flight->load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  server->stop();
  server->wait();
  workers.reset();
  core::LogInfo("stopped", {{"unfinished", std::to_string(in_flight->load())}});
  return core::Status::Ok();
}

}  // namespace http
