#include "identity/link_eval.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <unordered_map>

#include "identity/febrl.h"

namespace identity {
namespace {

uint64_t Choose2(uint64_t n) { return n * (n - 1) / 2; }

double Ratio(uint64_t a, uint64_t b) {
  return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b);
}
double F1(double p, double r) { return p + r == 0 ? 0.0 : 2 * p * r / (p + r); }

// Counts per key of rows on each side.
struct SideCounts {
  uint64_t left = 0;
  uint64_t right = 0;
};

uint64_t PairsWithin(const std::unordered_map<uint64_t, SideCounts>& groups, bool across) {
  uint64_t total = 0;
  for (const auto& [key, c] : groups) total += across ? c.left * c.right : Choose2(c.left);
  return total;
}

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

}  // namespace

PairScores EvaluatePairs(const std::vector<uint32_t>& cluster, const std::vector<int64_t>& entity,
                         std::optional<uint32_t> split) {
  std::unordered_map<uint64_t, SideCounts> by_cluster, by_entity, by_both;
  const bool across = split.has_value();
  for (size_t r = 0; r < cluster.size(); ++r) {
    bool right = across && r >= *split;
    auto bump = [&](std::unordered_map<uint64_t, SideCounts>& m, uint64_t key) {
      SideCounts& c = m[key];
      (right ? c.right : c.left) += 1;
    };
    auto e = static_cast<uint64_t>(entity[r]);
    bump(by_cluster, cluster[r]);
    bump(by_entity, e);
    bump(by_both, (static_cast<uint64_t>(cluster[r]) << 32) ^ (e * 0x9E3779B97F4A7C15ULL));
  }
  PairScores s;
  s.predicted_pairs = PairsWithin(by_cluster, across);
  s.true_pairs = PairsWithin(by_entity, across);
  s.true_positives = PairsWithin(by_both, across);
  s.precision = Ratio(s.true_positives, s.predicted_pairs);
  s.recall = Ratio(s.true_positives, s.true_pairs);
  s.f1 = F1(s.precision, s.recall);
  return s;
}

ClusterScores EvaluateClusters(const std::vector<uint32_t>& cluster,
                               const std::vector<int64_t>& entity) {
  // A predicted cluster is exact when all its rows share one entity and it holds all of that
  // entity's rows.
  std::unordered_map<uint32_t, std::pair<int64_t, uint64_t>> clusters;  // entity (-1 mixed), size
  std::unordered_map<int64_t, uint64_t> entity_size;
  for (size_t r = 0; r < cluster.size(); ++r) {
    auto [it, inserted] = clusters.try_emplace(cluster[r], entity[r], 0);
    if (!inserted && it->second.first != entity[r]) it->second.first = -1;
    ++it->second.second;
    ++entity_size[entity[r]];
  }
  ClusterScores s;
  s.predicted_clusters = clusters.size();
  s.true_clusters = entity_size.size();
  for (const auto& [id, info] : clusters) {
    if (info.first >= 0 && entity_size[info.first] == info.second) ++s.exact_clusters;
  }
  s.precision = Ratio(s.exact_clusters, s.predicted_clusters);
  s.recall = Ratio(s.exact_clusters, s.true_clusters);
  s.f1 = F1(s.precision, s.recall);
  return s;
}

std::optional<Feature> FebrlFeature(std::string_view column) {
  if (column == "surname") return Feature::kFamilyName;
  if (column == "address_1") return Feature::kAddressLine1;
  if (column == "address_2") return Feature::kAddressLine2;
  if (column == "suburb") return Feature::kLocality;
  if (column == "state") return Feature::kRegion;
  if (column == "soc_sec_id") return Feature::kIdentifier;
  return FeatureByName(column);
}

core::StatusOr<LinkEvalReport> EvaluateFebrl(const std::vector<std::string>& files,
                                             const MatchOptions& options) {
  if (files.empty() || files.size() > 2) {
    return core::Status::InvalidArgument("give one FEBRL file to deduplicate or two to link");
  }
  auto start = std::chrono::steady_clock::now();
  std::vector<FebrlDataset> data;
  for (const std::string& f : files) {
    ASSIGN_OR_RETURN(FebrlDataset d, ReadFebrlFile(f));
    data.push_back(std::move(d));
  }
  RecordTable table;
  std::vector<int64_t> entity;
  size_t total = 0;
  for (const FebrlDataset& d : data) total += d.size();
  table.Reserve(total);
  entity.reserve(total);
  for (const FebrlDataset& d : data) {
    for (size_t i = 0; i < d.size(); ++i) {
      table.Add(d.records[i]);
      entity.push_back(d.entities[i]);
    }
  }
  const bool link = data.size() == 2;
  const auto split = static_cast<uint32_t>(data[0].size());
  // Blocking recall: how many true pairs the blocking let through to comparison.
  MatchOptions counting = options;
  counting.count_pairs_where = [&entity](uint32_t a, uint32_t b) { return entity[a] == entity[b]; };
  MatchResult result = link ? LinkTables(table, split, counting) : Deduplicate(table, counting);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  LinkEvalReport report;
  report.mode = link ? "link" : "dedup";
  report.records = total;
  report.seconds = seconds;
  report.blocking = result.blocking;
  report.links = result.links.size();
  report.review = result.review.size();
  report.merges_refused = result.merges_refused;
  report.pairs =
      EvaluatePairs(result.cluster, entity, link ? std::optional<uint32_t>(split) : std::nullopt);
  report.clusters = EvaluateClusters(result.cluster, entity);
  report.model = std::move(result.model);

  report.true_pairs_compared = result.pairs_counted;
  return report;
}

std::string ReportJson(const LinkEvalReport& r) {
  std::string out = "{";
  auto field = [&](std::string_view name, const std::string& value) {
    if (out.size() > 1) out += ",";
    out += "\"";
    out += name;
    out += "\":";
    out += value;
  };
  auto integer = [](uint64_t v) { return std::to_string(v); };
  field("mode", "\"" + r.mode + "\"");
  field("records", integer(r.records));
  field("precision", Number(r.pairs.precision));
  field("recall", Number(r.pairs.recall));
  field("f1", Number(r.pairs.f1));
  field("true_pairs", integer(r.pairs.true_pairs));
  field("predicted_pairs", integer(r.pairs.predicted_pairs));
  field("true_positives", integer(r.pairs.true_positives));
  field("cluster_precision", Number(r.clusters.precision));
  field("cluster_recall", Number(r.clusters.recall));
  field("cluster_f1", Number(r.clusters.f1));
  field("true_clusters", integer(r.clusters.true_clusters));
  field("predicted_clusters", integer(r.clusters.predicted_clusters));
  field("pairs_generated", integer(r.blocking.pairs_generated));
  field("pairs_compared", integer(r.blocking.pairs_compared));
  field("blocking_recall",
        Number(r.pairs.true_pairs == 0 ? 0.0
                                       : static_cast<double>(r.true_pairs_compared) /
                                             static_cast<double>(r.pairs.true_pairs)));
  field("blocks", integer(r.blocking.blocks));
  field("blocks_capped", integer(r.blocking.blocks_capped));
  auto by_key = [](const std::array<uint64_t, kBlockingKeyCount>& counts) {
    std::string o = "{";
    for (size_t k = 0; k < kBlockingKeyCount; ++k) {
      if (k > 0) o += ",";
      o += "\"" + std::string(BlockingKeyName(static_cast<BlockingKey>(k))) + "\":" +
           std::to_string(counts[k]);
    }
    return o + "}";
  };
  field("pairs_by_key", by_key(r.blocking.pairs_by_key));
  field("blocks_capped_by_key", by_key(r.blocking.capped_by_key));
  field("links", integer(r.links));
  field("review", integer(r.review));
  field("merges_refused", integer(r.merges_refused));
  field("match_prior", Number(r.model.prior));
  field("seconds", Number(r.seconds));
  out += "}";
  return out;
}

int RunLinkEval(const std::vector<std::string>& args) {
  auto usage = [](const std::string& problem) {
    std::cerr << "onedoor link eval: " << problem
              << "\nusage: onedoor link eval --format febrl FILE [FILE] [--ignore COL,COL]"
                 " [--max-block N] [--link-probability P] [--review-probability P]"
                 " [--model PATH] [--model-out PATH]\n";
    return 2;
  };
  MatchOptions options;
  std::vector<std::string> files;
  std::string format, model_out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) return false;
      *out = args[++i];
      return true;
    };
    std::string v;
    if (a == "--format") {
      if (!value(&format)) return usage("--format needs a value");
    } else if (a == "--ignore") {
      if (!value(&v)) return usage("--ignore needs a list of fields");
      size_t pos = 0;
      while (pos <= v.size()) {
        size_t comma = v.find(',', pos);
        if (comma == std::string::npos) comma = v.size();
        std::string name = v.substr(pos, comma - pos);
        pos = comma + 1;
        if (name.empty()) continue;
        auto f = FebrlFeature(name);
        if (!f) return usage("unknown field '" + name + "'");
        options.use[static_cast<size_t>(*f)] = false;
      }
    } else if (a == "--max-block") {
      if (!value(&v)) return usage("--max-block needs a number");
      char* end = nullptr;
      unsigned long long n = std::strtoull(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != '\0' || n == 0) return usage("--max-block needs a number");
      options.max_block_size = n;
    } else if (a == "--link-probability" || a == "--review-probability") {
      if (!value(&v)) return usage(a + " needs a number");
      char* end = nullptr;
      double p = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || !(p > 0 && p < 1)) {
        return usage(a + " needs a number between 0 and 1");
      }
      (a == "--link-probability" ? options.link_probability : options.review_probability) = p;
    } else if (a == "--model-out") {
      if (!value(&model_out)) return usage("--model-out needs a path");
    } else if (a == "--model") {
      if (!value(&v)) return usage("--model needs a path");
      std::ifstream in(v);
      if (!in) {
        std::cerr << "onedoor link eval: cannot read " << v << "\n";
        return 1;
      }
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      auto model = Model::FromText(text);
      if (!model.ok()) {
        std::cerr << "onedoor link eval: " << v << ": " << model.status().ToString() << "\n";
        return 1;
      }
      options.model = std::move(model).value();
    } else if (a.starts_with("--")) {
      return usage("unknown option " + a);
    } else {
      files.push_back(a);
    }
  }
  if (format != "febrl") return usage("--format febrl is required (the only format so far)");
  if (files.empty() || files.size() > 2)
    return usage("give one file to deduplicate or two to link");
  auto report = EvaluateFebrl(files, options);
  if (!report.ok()) {
    std::cerr << "onedoor link eval: " << report.status().ToString() << "\n";
    return 1;
  }
  if (!model_out.empty()) {
    std::ofstream out(model_out);
    out << report->model.ToText();
    if (!out) {
      std::cerr << "onedoor link eval: cannot write " << model_out << "\n";
      return 1;
    }
  }
  std::cout << ReportJson(*report) << std::endl;
  return 0;
}

}  // namespace identity
