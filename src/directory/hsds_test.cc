#include "directory/hsds.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace directory {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

const std::string kHsds = std::string(ONEDOOR_SOURCE_DIR) + "/third_party/hsds-3.0";

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

json ReadJson(const std::string& path) { return json::parse(Slurp(path)); }

// The table definitions are those of the specification's schema files, field for field.
TEST(HsdsTables, MatchTheSchemaFiles) {
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kHsds + "/schema")) {
    if (entry.path().extension() != ".json" || entry.path().filename() == "openapi.json") continue;
    const json schema = ReadJson(entry.path().string());
    const Table* t = FindTable(schema["name"].get<std::string>());
    ASSERT_NE(t, nullptr) << entry.path();
    EXPECT_EQ(std::string(t->csv), schema["path"].get<std::string>());
    std::vector<std::string> required(t->required.begin(), t->required.end());
    EXPECT_EQ(required, schema.value("required", std::vector<std::string>{})) << t->name;
    size_t fields = 0, nested = 0;
    for (const auto& [name, prop] : schema["properties"].items()) {
      const bool is_nested = prop.contains("$ref") || (prop.contains("items") && prop["items"].contains("$ref"));
      if (is_nested) {
        ++nested;
        bool found = false;
        for (const Nested& n : t->nested) {
          if (name == n.property) {
            found = true;
            const std::string ref = prop.contains("$ref") ? prop["$ref"] : prop["items"]["$ref"];
            EXPECT_EQ(ref, std::string(n.table) + ".json") << t->name << "." << name;
            EXPECT_EQ(n.many, prop.value("type", "") == "array") << t->name << "." << name;
          }
        }
        EXPECT_TRUE(found) << t->name << "." << name;
        continue;
      }
      ++fields;
      const Field* f = t->FindField(name);
      ASSERT_NE(f, nullptr) << t->name << "." << name;
      EXPECT_EQ(f->type == Type::kNumber ? "number" : "string", prop["type"].get<std::string>()) << name;
      const std::string format = prop.value("format", "");
      const char* expected = f->format == Format::kUuid    ? "uuid"
                             : f->format == Format::kUri   ? "uri"
                             : f->format == Format::kEmail ? "email"
                             : f->format == Format::kDateTime ? "date-time"
                                                              : "";
      EXPECT_EQ(format, expected) << t->name << "." << name;
    }
    EXPECT_EQ(fields, t->fields.size()) << t->name;
    // Two nestings beyond the table schemas: organization.services, service_at_location.service.
    const size_t extra = std::string_view(t->name) == "organization" || std::string_view(t->name) == "service_at_location";
    EXPECT_EQ(nested + extra, t->nested.size()) << t->name;
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(Tables().size()));
}

TEST(HsdsTables, EveryListNestingHasAFieldThatLinksTheRows) {
  for (const Table& t : Tables()) {
    for (const Nested& n : t.nested) {
      const Table* child = FindTable(n.table);
      ASSERT_NE(child, nullptr) << n.table;
      if (n.many) {
        EXPECT_FALSE(ParentField(*child, t).empty()) << t.name << "." << n.property;
      } else {
        EXPECT_TRUE(t.FindField(ReferenceField(n))) << t.name << "." << n.property;
      }
    }
  }
}

TEST(Flatten, TheFullServiceExampleBecomesRowsLinkedToTheService) {
  Dataset data;
  ASSERT_TRUE(FlattenDocument(ReadJson(kHsds + "/examples/service_full.json"), "service", "service_full.json", data).ok());
  const json& service = data.tables["service"].at("ac148810-d857-441c-9679-408f346de14b");
  EXPECT_EQ(service["name"], "Community Counselling");
  EXPECT_EQ(service["organization_id"], "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610");
  EXPECT_EQ(service["program_id"], "e7ec2e57-4540-43fa-b2c7-6be5a0ef7f42");
  EXPECT_FALSE(service.contains("phones"));
  ASSERT_EQ(data.tables["phone"].size(), 1u);
  EXPECT_EQ(data.tables["phone"].begin()->second["service_id"], "ac148810-d857-441c-9679-408f346de14b");
  // A language nested in the phone points at the phone.
  bool phone_language = false;
  for (const auto& [id, l] : data.tables["language"]) phone_language |= l.value("phone_id", "") == "1554f2e2-a373-45db-a3fa-9fc48a61c15e";
  EXPECT_TRUE(phone_language);
  // The attribute's term and the term's taxonomy.
  EXPECT_EQ(data.tables["attribute"].begin()->second["taxonomy_term_id"], "3f7b145d-84af-42d7-8fae-eaca714b02b2");
  EXPECT_EQ(data.tables["taxonomy_term"].begin()->second["taxonomy_id"], "5c4d79d7-cc55-470e-9f1f-8cad074e4892");
  EXPECT_EQ(data.tables["service_at_location"].begin()->second["location_id"], "3a19ff88-4620-4d17-9830-ac1d859eb5d5");
}

TEST(Flatten, EveryExampleFlattensAndNestsBackToTheSameRows) {
  const std::vector<std::pair<std::string, std::string>> examples = {
      {"service_full.json", "service"},        {"service_list.json", "service"},
      {"organization_full.json", "organization"}, {"organization_list.json", "organization"},
      {"service_at_location_full.json", "service_at_location"},
      {"service_at_location_list.json", "service_at_location"},
      {"location.json", "location"},           {"taxonomy.json", "taxonomy"},
      {"taxonomy_list.json", "taxonomy"},      {"taxonomy_term.json", "taxonomy_term"},
      {"taxonomy_term_list.json", "taxonomy_term"}};
  Dataset all;
  for (const auto& [file, table] : examples) {
    Dataset data;
    core::Status s = FlattenDocument(ReadJson(kHsds + "/examples/" + file), table, file, data);
    ASSERT_TRUE(s.ok()) << file << ": " << s.ToString();
    EXPECT_GT(data.size(), 0u) << file;
    for (auto& [t, rows] : data.tables) {
      for (auto& [id, row] : rows) all.tables[t][id] = row;
    }
  }
  // The bundle of everything, read back, gives the very same rows.
  const json bundle = Bundle(all);
  Dataset again;
  core::Status s = FlattenDocument(bundle, "", "bundle", again);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Fingerprint(again), Fingerprint(all));
  // And so does the CSV data package.
  Dataset from_csv;
  s = ReadCsvPackage(CsvPackage(all), from_csv);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Fingerprint(from_csv), Fingerprint(all));
}

TEST(CsvPackage, TheExamplePackageReadsAndWritesBackTheSameRows) {
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(kHsds + "/examples/csv")) {
    files[entry.path().filename().string()] = Slurp(entry.path().string());
  }
  Dataset data;
  core::Status s = ReadCsvPackage(files, data);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(data.tables.size(), 21u);
  EXPECT_EQ(data.tables["service"].begin()->second["minimum_age"], 12);
  EXPECT_EQ(data.tables["phone"].begin()->second["number"], "\"+44 1234 234567\"");
  Dataset again;
  ASSERT_TRUE(ReadCsvPackage(CsvPackage(data), again).ok());
  EXPECT_EQ(Fingerprint(again), Fingerprint(data));
}

TEST(CsvPackage, ProblemsNameTheFileLineAndField) {
  Dataset data;
  core::Status s = ReadCsvPackage(
      {{"services.csv",
        "id,name,status,minimum_age,email\n"
        "ac148810-d857-441c-9679-408f346de14b,Counselling,active,12,a@example.org\n"
        "not-a-uuid,Food bank,active,twelve,nobody\n"
        "bc148810-d857-441c-9679-408f346de14b,,active,,\n"},
       {"colours.csv", "id\n"}},
      data);
  ASSERT_EQ(s.code(), core::StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const auto& f : s.fields()) fields.push_back(f.field + ": " + f.message);
  EXPECT_THAT(fields, ::testing::Contains(HasSubstr("colours.csv: is not a file of the HSDS 3.0 data package")));
  EXPECT_THAT(fields, ::testing::Contains("services.csv:3:minimum_age: 'twelve' is not a number"));
  EXPECT_THAT(fields, ::testing::Contains(HasSubstr("services.csv:3:id: must be a UUID")));
  EXPECT_THAT(fields, ::testing::Contains("services.csv:3:email: must be an e-mail address"));
  EXPECT_THAT(fields, ::testing::Contains("services.csv:4:name: is required for an HSDS service"));
  EXPECT_THAT(s.message(), HasSubstr("the CSV data package has 5 problems"));
}

// The formats are checked in one pass: values of any length (a fuzzed 20 kB address once overflowed
// the stack of a regular expression's matcher) are accepted or named as the schema says.
TEST(Flatten, FormatsOfLongValuesAreCheckedWithoutFailing) {
  auto problems = [](const std::string& url, const std::string& email, const std::string& updated) {
    Dataset data;
    json service = {{"id", "ac148810-d857-441c-9679-408f346de14b"},
                    {"name", "Advice"},
                    {"status", "active"},
                    {"url", url},
                    {"email", email},
                    {"last_modified", updated}};
    core::Status s =
        FlattenDocument(json{{"services", json::array({service})}}, "", "b.json", data);
    std::vector<std::string> out;
    for (const auto& f : s.fields()) out.push_back(f.field);
    return out;
  };
  const std::string long_path(200000, 'a');
  EXPECT_THAT(
      problems("https://example.org/" + long_path, "help@example.org", "2025-03-15T10:30:00Z"),
      ::testing::IsEmpty());
  EXPECT_THAT(problems("https://example.org/" + long_path + " x",
                       std::string(100000, 'b') + "@example.org", "2025-03-15T10:30:00Z"),
              ::testing::ElementsAre("services[0].url"));
  EXPECT_THAT(problems("https://example.org/", "a..b@example.org", "2025-03-15T10:30:00.5+01:00"),
              ::testing::ElementsAre("services[0].email"));
  for (const char* bad : {"2025-13-15T10:30:00Z", "2025-03-15T24:00:00Z", "2025-03-15T10:30:00",
                          "2025-03-15T10:30:00.Z", "2025-03-15T10:30:00+01:60", "2025-03-15"}) {
    EXPECT_THAT(problems("mailto:a@b.org", "x@y.example", bad),
                ::testing::ElementsAre("services[0].last_modified"))
        << bad;
  }
  for (const char* bad : {"x@-y.org", "x@y", "@y.org", "x@y..org", ".x@y.org"}) {
    EXPECT_THAT(problems("urn:isbn:1", bad, "2025-03-15 10:30:60z"),
                ::testing::ElementsAre("services[0].email"))
        << bad;
  }
}

TEST(Flatten, ProblemsNameThePathInTheDocument) {
  Dataset data;
  const json doc = json::parse(R"({"services": [{
      "id": "ac148810-d857-441c-9679-408f346de14b", "name": "Counselling", "status": "active",
      "colour": "red", "url": "not a uri",
      "phones": [{"id": "1554f2e2-a373-45db-a3fa-9fc48a61c15e"}],
      "organization": {"id": "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610", "name": "Org", "description": "d"}},
     {"id": "bc148810-d857-441c-9679-408f346de14b", "name": "Other", "status": "active",
      "organization": {"id": "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610", "name": "Another name", "description": "d"}}],
    "widgets": []})");
  core::Status s = FlattenDocument(doc, "", "bundle.json", data);
  ASSERT_EQ(s.code(), core::StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const auto& f : s.fields()) fields.push_back(f.field + ": " + f.message);
  EXPECT_THAT(fields, ::testing::Contains("services[0].colour: is not a field of an HSDS service"));
  EXPECT_THAT(fields, ::testing::Contains(HasSubstr("services[0].url: must be an absolute URI")));
  EXPECT_THAT(fields, ::testing::Contains("services[0].phones[0].number: is required for an HSDS phone"));
  EXPECT_THAT(fields, ::testing::Contains(HasSubstr("services[1].organization.name: differs from the same organization")));
  EXPECT_THAT(fields, ::testing::Contains(HasSubstr("widgets: is not an HSDS 3.0 table")));
  EXPECT_THAT(s.message(), HasSubstr("bundle.json has 5 problems"));
}

}  // namespace
}  // namespace directory
