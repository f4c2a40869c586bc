#include "identity/link_eval.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace identity {
namespace {

TEST(EvaluatePairs, CountsPairsWithinClustersForDeduplication) {
  // Entities: {0,1,2} and {3,4}. Predicted: {0,1}, {2,3,4}.
  std::vector<int64_t> entity = {7, 7, 7, 9, 9};
  std::vector<uint32_t> cluster = {0, 0, 2, 2, 2};
  PairScores s = EvaluatePairs(cluster, entity, std::nullopt);
  EXPECT_EQ(s.true_pairs, 4u);       // 3 + 1
  EXPECT_EQ(s.predicted_pairs, 4u);  // 1 + 3
  EXPECT_EQ(s.true_positives, 2u);   // (0,1) and (3,4)
  EXPECT_DOUBLE_EQ(s.precision, 0.5);
  EXPECT_DOUBLE_EQ(s.recall, 0.5);
  EXPECT_DOUBLE_EQ(s.f1, 0.5);
}

TEST(EvaluatePairs, CountsOnlyPairsAcrossTheSplitForLinkage) {
  // Left rows 0,1; right rows 2,3. Truth: 0-2, 1-3. Predicted: 0-2 and 1 alone, 3 alone.
  std::vector<int64_t> entity = {1, 2, 1, 2};
  std::vector<uint32_t> cluster = {0, 1, 0, 3};
  PairScores s = EvaluatePairs(cluster, entity, 2u);
  EXPECT_EQ(s.true_pairs, 2u);
  EXPECT_EQ(s.predicted_pairs, 1u);
  EXPECT_EQ(s.true_positives, 1u);
  EXPECT_DOUBLE_EQ(s.precision, 1.0);
  EXPECT_DOUBLE_EQ(s.recall, 0.5);
  EXPECT_DOUBLE_EQ(s.f1, 2.0 / 3.0);
}

TEST(EvaluatePairs, NothingPredictedGivesZeroNotNan) {
  PairScores s = EvaluatePairs({0, 1}, {5, 5}, std::nullopt);
  EXPECT_EQ(s.predicted_pairs, 0u);
  EXPECT_EQ(s.precision, 0.0);
  EXPECT_EQ(s.f1, 0.0);
}

TEST(EvaluateClusters, CountsClustersEqualToAnEntity) {
  std::vector<int64_t> entity = {7, 7, 7, 9, 9, 4};
  std::vector<uint32_t> cluster = {0, 0, 0, 3, 5, 6};  // {0,1,2} exact, 9 split, {5} exact
  ClusterScores s = EvaluateClusters(cluster, entity);
  EXPECT_EQ(s.true_clusters, 3u);
  EXPECT_EQ(s.predicted_clusters, 4u);
  EXPECT_EQ(s.exact_clusters, 2u);
  EXPECT_DOUBLE_EQ(s.precision, 0.5);
  EXPECT_DOUBLE_EQ(s.recall, 2.0 / 3.0);
}

TEST(FebrlFeature, MapsFebrlColumnsAndFeatureNames) {
  EXPECT_EQ(FebrlFeature("soc_sec_id"), Feature::kIdentifier);
  EXPECT_EQ(FebrlFeature("surname"), Feature::kFamilyName);
  EXPECT_EQ(FebrlFeature("suburb"), Feature::kLocality);
  EXPECT_EQ(FebrlFeature("date_of_birth"), Feature::kDateOfBirth);
  EXPECT_EQ(FebrlFeature("family_name"), Feature::kFamilyName);
  EXPECT_EQ(FebrlFeature("shoe_size"), std::nullopt);
}

TEST(ReportJson, WritesOneLineWithTheMeasures) {
  LinkEvalReport r;
  r.mode = "link";
  r.records = 10;
  r.pairs.precision = 1;
  r.pairs.recall = 0.5;
  r.pairs.f1 = 2.0 / 3.0;
  r.pairs.true_pairs = 4;
  r.true_pairs_compared = 3;
  r.blocking.pairs_compared = 12;
  r.seconds = 0.25;
  std::string json = ReportJson(r);
  EXPECT_EQ(json.find('\n'), std::string::npos);
  EXPECT_TRUE(json.starts_with(
      "{\"mode\":\"link\",\"records\":10,\"precision\":1.000000,\"recall\":0.500000,"
      "\"f1\":0.666667,"));
  EXPECT_NE(json.find("\"f1\":0.666667"), std::string::npos);
  EXPECT_NE(json.find("\"pairs_compared\":12"), std::string::npos);
  EXPECT_NE(json.find("\"blocking_recall\":0.750000"), std::string::npos);
  EXPECT_NE(json.find("\"seconds\":0.250000}"), std::string::npos);
}

TEST(RunLinkEval, RejectsBadUsageWithExitCodeTwo) {
  EXPECT_EQ(RunLinkEval({"a.csv"}), 2);                             // no --format
  EXPECT_EQ(RunLinkEval({"--format", "csv", "a.csv"}), 2);          // unknown format
  EXPECT_EQ(RunLinkEval({"--format", "febrl"}), 2);                 // no file
  EXPECT_EQ(RunLinkEval({"--format", "febrl", "a", "b", "c"}), 2);  // three files
  EXPECT_EQ(RunLinkEval({"--format", "febrl", "a", "--ignore", "shoe_size"}), 2);
  EXPECT_EQ(RunLinkEval({"--format", "febrl", "a", "--max-block", "x"}), 2);
  EXPECT_EQ(RunLinkEval({"--format", "febrl", "a", "--link-probability", "1.5"}), 2);
  EXPECT_EQ(RunLinkEval({"--format", "febrl", "a", "--frobnicate"}), 2);
}

TEST(RunLinkEval, FailsWithExitCodeOneWhenAFileIsMissing) {
  EXPECT_EQ(RunLinkEval({"--format", "febrl", "/nonexistent/a.csv"}), 1);
}

TEST(RunLinkEval, StoresTheTrainedModelAndScoresWithAStoredOne) {
  const std::string dir = ONEDOOR_FEBRL_DIR;
  ASSERT_TRUE(std::filesystem::exists(dir + "/dataset3.csv")) << "FEBRL data not found in " << dir;
  const std::string path =
      (std::filesystem::temp_directory_path() / "onedoor_identity_model_test.txt").string();
  ASSERT_EQ(RunLinkEval({"--format", "febrl", dir + "/dataset3.csv", "--model-out", path}), 0);
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(text.starts_with("onedoor-identity-model 1\nversion 1\nnote trained without labels"));
  auto model = Model::FromText(text);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  // Scoring with the stored model gives what training gave.
  MatchOptions options;
  options.model = *model;
  auto stored = EvaluateFebrl({dir + "/dataset3.csv"}, options);
  auto trained = EvaluateFebrl({dir + "/dataset3.csv"}, {});
  ASSERT_TRUE(stored.ok() && trained.ok());
  EXPECT_EQ(stored->pairs.true_positives, trained->pairs.true_positives);
  EXPECT_EQ(stored->pairs.predicted_pairs, trained->pairs.predicted_pairs);
  EXPECT_EQ(RunLinkEval({"--format", "febrl", dir + "/dataset3.csv", "--model", path}), 0);
  std::filesystem::remove(path);
}

TEST(EvaluateFebrl, NeedsOneOrTwoFiles) {
  auto r = EvaluateFebrl({}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "give one FEBRL file to deduplicate or two to link");
}

}  // namespace
}  // namespace identity
