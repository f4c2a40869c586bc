#pragma once

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "storage/database.h"

namespace http {

// Prometheus counters and latency histograms for requests and database work. Thread-safe.
class Metrics {
 public:
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1,    2.5};
  void ObserveRequest(const std::string& method, const std::string& route, int status, double seconds);
  void ObserveDb(const std::string& kind, double seconds, bool ok);
  // The Prometheus text exposition format.
  std::string Render() const;

 private:
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
    void Observe(double s);
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;  // GUARDED_BY(mu_)
  std::map<std::string, Histogram> request_seconds_;                        // GUARDED_BY(mu_)
  std::map<std::pair<std::string, bool>, uint64_t> db_ops_;                 // GUARDED_BY(mu_)
  std::map<std::string, Histogram> db_seconds_;                             // GUARDED_BY(mu_)
};

// A Database that times every Read and Write into `metrics`.
std::unique_ptr<storage::Database> Instrument(std::unique_ptr<storage::Database> db, Metrics& metrics);

}  // namespace http
