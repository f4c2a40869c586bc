#pragma once

// `onedoor link eval`: runs the matching engine on labelled data (the FEBRL benchmark sets)
// and measures it against the truth. The engine never sees the labels; they are used only
// here, after the links are decided.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "identity/matcher.h"

namespace identity {

struct PairScores {
  uint64_t true_pairs = 0;
  uint64_t predicted_pairs = 0;
  uint64_t true_positives = 0;
  double precision = 0;
  double recall = 0;
  double f1 = 0;
};

struct ClusterScores {
  uint64_t true_clusters = 0;
  uint64_t predicted_clusters = 0;
  uint64_t exact_clusters = 0;  // predicted clusters equal to a true one
  double precision = 0;         // exact / predicted
  double recall = 0;            // exact / true
  double f1 = 0;
};

// Pairwise scores of a clustering. `cluster` and `entity` give, per row, the predicted cluster
// and the true entity. With `split` set, only pairs across [0, split) and [split, n) count
// (linking two files); otherwise every pair (deduplication).
// REQUIRES: cluster.size() == entity.size().
PairScores EvaluatePairs(const std::vector<uint32_t>& cluster, const std::vector<int64_t>& entity,
                         std::optional<uint32_t> split);

// Cluster-level scores: how many predicted clusters are exactly a true entity's records.
ClusterScores EvaluateClusters(const std::vector<uint32_t>& cluster,
                               const std::vector<int64_t>& entity);

struct LinkEvalReport {
  std::string mode;  // "link" or "dedup"
  uint64_t records = 0;
  PairScores pairs;
  ClusterScores clusters;
  BlockingStats blocking;
  uint64_t true_pairs_compared = 0;  // true pairs among the candidates (blocking recall)
  uint64_t links = 0;
  uint64_t review = 0;
  uint64_t merges_refused = 0;
  double seconds = 0;  // reading the files to deciding the links, evaluation excluded
  Model model;
};

// Reads one FEBRL file (deduplicate it) or two (link the first with the second) and
// evaluates. Errors are those of ReadFebrlFile, and InvalidArgument for a wrong file count.
core::StatusOr<LinkEvalReport> EvaluateFebrl(const std::vector<std::string>& files,
                                             const MatchOptions& options);

// The report as one JSON line (no trailing newline).
std::string ReportJson(const LinkEvalReport& report);

// Maps a FEBRL column name (given_name, surname, street_number, address_1, address_2, suburb,
// postcode, state, date_of_birth, soc_sec_id) or a feature name to its feature.
std::optional<Feature> FebrlFeature(std::string_view column);

// `onedoor link eval --format febrl FILE [FILE] [--ignore COL,COL] [--max-block N]
// [--link-probability P] [--review-probability P] [--model PATH] [--model-out PATH]`; `args`
// are the words after "link eval". --model scores with a stored model (its text form, perhaps
// edited by hand) instead of training one; --model-out writes the model used. Prints the report
// as one JSON line on stdout. Returns 0 on success, 2 for a usage error (message on stderr), 1
// when the run fails.
int RunLinkEval(const std::vector<std::string>& args);

}  // namespace identity
