#include "access/data_categories.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace authz {
namespace {

using core::StatusCode;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kShipped = std::string(ONEDOOR_SOURCE_DIR) + "/config/data-categories.yaml";

// A valid file: two categories and every field mapped; tests replace parts of it.
std::string Valid(const std::string& categories_extra = "", const std::string& person_extra = "",
                  const std::string& records =
                      "    household: identity\n    source_record: identity\n"
                      "    screening: income\n    history: income\n    interaction: identity\n") {
  return "categories:\n"
         "  - id: identity\n"
         "    label: Identity\n"
         "    class: white\n"
         "    description: Who the person is.\n"
         "  - id: income\n"
         "    label: Income\n"
         "    class: grey\n" +
         categories_extra +
         "fields:\n"
         "  person:\n"
         "    names: identity\n    birth_date: identity\n    sex: identity\n    gender: identity\n"
         "    identifiers: identity\n    addresses: identity\n    phones: identity\n    emails: "
         "identity\n"
         "    preferred_language: identity\n    needs: identity\n    death_date: identity\n" +
         person_extra + "  records:\n" + records;
}

TEST(DataCategories, TheShippedFileDeclaresEveryCategoryAndMapsEveryField) {
  auto loaded = DataCategories::Load(kShipped);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  std::vector<std::string> ids;
  for (const auto& c : loaded->categories()) ids.push_back(c.id);
  EXPECT_THAT(ids, ::testing::ElementsAre("identity", "contact", "needs", "household", "housing",
                                          "income", "assets", "health", "disability", "justice",
                                          "child_protection", "contacts", "case_notes"));
  EXPECT_EQ(loaded->Find("income")->sharing_class, SharingClass::kGrey);
  EXPECT_EQ(loaded->Find("identity")->sharing_class, SharingClass::kWhite);
  EXPECT_EQ(loaded->Find("child_protection")->sharing_class, SharingClass::kBlack);
  EXPECT_EQ(loaded->Find("child_protection")->label, "Child protection");
  EXPECT_EQ(loaded->Find("nope"), nullptr);
  EXPECT_EQ(loaded->fields().size(),
            DataCategories::PersonFields().size() + DataCategories::RecordKinds().size());
  for (std::string_view f : DataCategories::PersonFields()) {
    EXPECT_NE(loaded->CategoryOf("person", f), nullptr) << f;
  }
  for (std::string_view k : DataCategories::RecordKinds()) {
    EXPECT_NE(loaded->CategoryOf("records", k), nullptr) << k;
  }
  EXPECT_EQ(loaded->CategoryOf("person", "addresses")->id, "contact");
  EXPECT_EQ(loaded->CategoryOf("records", "screening")->id, "income");
  EXPECT_EQ(loaded->CategoryOf("records", "history")->id, "case_notes");
  EXPECT_EQ(loaded->CategoryOf("records", "interaction")->id, "contacts");
  EXPECT_EQ(loaded->CategoryOf("person", "shoe_size"), nullptr);
}

TEST(DataCategories, AValidFileLoads) {
  auto parsed = DataCategories::Parse(Valid(), "c.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->categories().size(), 2u);
  EXPECT_EQ(parsed->categories()[0].description, "Who the person is.");
  EXPECT_EQ(parsed->categories()[1].description, "");
  EXPECT_EQ(parsed->fields().front().kind, "person");
  EXPECT_EQ(parsed->fields().front().field, "names");
  EXPECT_EQ(parsed->fields().back().kind, "records");
  EXPECT_EQ(parsed->fields().back().field, "interaction");
}

TEST(DataCategories, AnUnknownTopLevelKeyIsNamedWithItsPlace) {
  auto r = DataCategories::Parse(Valid() + "colours: [red]\n", "c.yaml");
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), StartsWith("c.yaml:28:1: unknown key 'colours' in the file"));
}

TEST(DataCategories, AnUnknownKeyInACategoryIsNamed) {
  auto r = DataCategories::Parse(
      Valid("  - id: health\n    label: Health\n    class: grey\n    colour: blue\n"), "c.yaml");
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), StartsWith("c.yaml:12:5: unknown key 'colour' in category 3"));
}

TEST(DataCategories, AnUnknownClassIsNamedWithItsPlace) {
  auto r = DataCategories::Parse(Valid("  - id: health\n    label: Health\n    class: pink\n"),
                                 "c.yaml");
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(
      r.status().message(),
      "c.yaml:11:12: unknown class 'pink' for 'health'; the classes are white, grey and black");
}

TEST(DataCategories, AFieldMappedToAnUndeclaredCategoryIsNamed) {
  std::string text = Valid();
  text.replace(text.find("phones: identity"), 16, "phones: telecoms");
  auto r = DataCategories::Parse(text, "c.yaml");
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "c.yaml:17:13: the person field 'phones' is mapped to 'telecoms', which is not a "
            "declared category");
}

TEST(DataCategories, AKnownFieldLeftUnmappedIsAnError) {
  auto r = DataCategories::Parse(
      Valid("", "", "    household: identity\n    source_record: identity\n    history: income\n"
                    "    interaction: identity\n"),
      "c.yaml");
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(
      r.status().message(),
      "c.yaml:23:5: the record kind 'screening' has no category; add it under fields: records:");
}

TEST(DataCategories, AFieldOnedoorDoesNotKnowIsAnError) {
  auto r = DataCategories::Parse(Valid("", "    shoe_size: identity\n"), "c.yaml");
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(),
              StartsWith("c.yaml:22:5: unknown person field 'shoe_size'; onedoor knows names, "));
}

TEST(DataCategories, MalformedCategoriesAreRefused) {
  auto twice = DataCategories::Parse(
      Valid("  - id: income\n    label: Income again\n    class: white\n"), "c.yaml");
  EXPECT_THAT(twice.status().message(),
              HasSubstr("c.yaml:9:9: the category 'income' is declared twice (first on line 6)"));
  auto bad_id = DataCategories::Parse(
      Valid("  - id: Child Protection\n    label: CP\n    class: black\n"), "c.yaml");
  EXPECT_THAT(bad_id.status().message(),
              StartsWith("c.yaml:9:9: the id 'Child Protection' must be lower-case"));
  auto no_class = DataCategories::Parse(Valid("  - id: health\n    label: Health\n"), "c.yaml");
  EXPECT_THAT(no_class.status().message(), StartsWith("c.yaml:9:5: category 3 has no class"));
  auto list_label = DataCategories::Parse(
      Valid("  - id: health\n    label: [a, b]\n    class: grey\n"), "c.yaml");
  EXPECT_THAT(list_label.status().message(),
              StartsWith("c.yaml:10:12: label must be a single value"));
}

TEST(DataCategories, SyntaxErrorsAndWrongShapesHaveAPlace) {
  auto syntax = DataCategories::Parse("categories: [\n", "c.yaml");
  ASSERT_EQ(syntax.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(syntax.status().message(), StartsWith("c.yaml:"));
  EXPECT_THAT(DataCategories::Parse("- a\n- b\n", "c.yaml").status().message(),
              StartsWith("c.yaml:1:1: the file must be a mapping"));
  EXPECT_THAT(DataCategories::Parse("", "c.yaml").status().message(),
              HasSubstr("the file must be a mapping"));
  EXPECT_THAT(DataCategories::Parse("categories: x\nfields: {}\n", "c.yaml").status().message(),
              StartsWith("c.yaml:1:13: categories: must be a list"));
  EXPECT_EQ(DataCategories::Load("/nonexistent/c.yaml").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace authz
