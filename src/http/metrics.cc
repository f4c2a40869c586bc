#include "http/metrics.h"

#include <chrono>

#include <fmt/format.h>

namespace http {

void Metrics::Histogram::Observe(double s) {
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (s <= kBuckets[i]) ++buckets[i];
  }
  ++count;
  sum += s;
}

void Metrics::ObserveRequest(const std::string& method, const std::string& route, int status, double seconds) {
  std::lock_guard lock(mu_);
  ++requests_[{method, route, status}];
  request_seconds_[route].Observe(seconds);
}

void Metrics::ObserveDb(const std::string& kind, double seconds, bool ok) {
  std::lock_guard lock(mu_);
  ++db_ops_[{kind, ok}];
  db_seconds_[kind].Observe(seconds);
}

std::string Metrics::Render() const {
  std::lock_guard lock(mu_);
  std::string out;
  out += "# HELP onedoor_http_requests_total HTTP requests by method, route and status.\n";
  out += "# TYPE onedoor_http_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    const auto& [method, route, status] = key;
    out += fmt::format("onedoor_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{}\"}} {}\n", method, route,
                       status, n);
  }
  auto histograms = [&](const std::string& name, const std::string& help, const std::string& label,
                        const std::map<std::string, Histogram>& hs) {
    out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
    for (const auto& [key, h] : hs) {
      for (size_t i = 0; i < kBuckets.size(); ++i) {
        out += fmt::format("{}_bucket{{{}=\"{}\",le=\"{}\"}} {}\n", name, label, key, kBuckets[i], h.buckets[i]);
      }
      out += fmt::format("{}_bucket{{{}=\"{}\",le=\"+Inf\"}} {}\n", name, label, key, h.count);
      out += fmt::format("{}_sum{{{}=\"{}\"}} {}\n", name, label, key, h.sum);
      out += fmt::format("{}_count{{{}=\"{}\"}} {}\n", name, label, key, h.count);
    }
  };
  histograms("onedoor_http_request_duration_seconds", "Time to answer a request.", "route", request_seconds_);
  out += "# HELP onedoor_http_errors_total Responses with a 5xx status.\n# TYPE onedoor_http_errors_total counter\n";
  uint64_t errors = 0;
  for (const auto& [key, n] : requests_) {
    if (std::get<2>(key) >= 500) errors += n;
  }
  out += fmt::format("onedoor_http_errors_total {}\n", errors);
  out += "# HELP onedoor_db_operations_total Database reads and writes by outcome.\n";
  out += "# TYPE onedoor_db_operations_total counter\n";
  for (const auto& [key, n] : db_ops_) {
    out += fmt::format("onedoor_db_operations_total{{kind=\"{}\",ok=\"{}\"}} {}\n", key.first, key.second, n);
  }
  histograms("onedoor_db_duration_seconds", "Time a database read or write took, queueing included.", "kind",
             db_seconds_);
  return out;
}

namespace {

class InstrumentedDatabase final : public storage::Database {
 public:
  InstrumentedDatabase(std::unique_ptr<storage::Database> inner, Metrics& metrics)
      : inner_(std::move(inner)), metrics_(metrics) {}
  core::Status Read(const Work& work) override { return Timed("read", [&] { return inner_->Read(work); }); }
  core::Status Write(const Work& work) override { return Timed("write", [&] { return inner_->Write(work); }); }
  std::shared_ptr<storage::Submitted> Submit(Work work) override {
    auto start = std::chrono::steady_clock::now();
    auto outer = std::make_shared<storage::Submitted>();
    inner_->Submit(std::move(work))->OnFinished([this, start, outer](core::Status s) {
      Observe("write", start, s);
      outer->Finish(std::move(s));
    });
    return outer;
  }
  bool CanSubmit() const override { return inner_->CanSubmit(); }
  storage::Dialect dialect() const override { return inner_->dialect(); }
  std::string Describe() const override { return inner_->Describe(); }

 private:
  void Observe(const char* kind, std::chrono::steady_clock::time_point start, const core::Status& s) {
    metrics_.ObserveDb(kind, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                       s.ok() || s.code() != core::StatusCode::kUnavailable);
  }
  template <typename F>
  core::Status Timed(const char* kind, F f) {
    auto start = std::chrono::steady_clock::now();
    core::Status s = f();
    Observe(kind, start, s);
    return s;
  }
  std::unique_ptr<storage::Database> inner_;
  Metrics& metrics_;
};

}  // namespace

std::unique_ptr<storage::Database> Instrument(std::unique_ptr<storage::Database> db, Metrics& metrics) {
  return std::make_unique<InstrumentedDatabase>(std::move(db), metrics);
}

}  // namespace http
