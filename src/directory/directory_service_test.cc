#include "directory/directory_service.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "storage/migrations.h"
#include "storage/postgres/postgres_database.h"
#include "storage/schema.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/testing.h"

namespace directory {
namespace {

using core::Status;
using core::StatusCode;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using nlohmann::json;

const auto* const kPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new testing_support::PostgresEnvironment);

std::string Uuid(int kind, int n) { return fmt::format("{:08x}-0000-4000-8000-{:012x}", kind, n); }

// A small directory: two organizations (one is the onedoor agency "city-social"), five services.
json Bundle() {
  const std::string city = Uuid(1, 1), charity = Uuid(1, 2);
  const std::string centre = Uuid(2, 1), library = Uuid(2, 2);
  const std::string topics = Uuid(3, 1), programs = Uuid(3, 2);
  const std::string t_employment = Uuid(4, 1), t_food = Uuid(4, 2), t_snap = Uuid(4, 3);
  auto service = [&](int n, const std::string& name, const std::string& description, const std::string& org,
                     const std::string& location, std::vector<std::string> terms, std::vector<std::string> langs,
                     const std::string& status = "active") {
    json s = {{"id", Uuid(5, n)}, {"name", name}, {"description", description}, {"status", status},
              {"organization_id", org}};
    json attrs = json::array();
    for (size_t i = 0; i < terms.size(); ++i) attrs.push_back({{"id", Uuid(6, n * 10 + static_cast<int>(i))}, {"taxonomy_term_id", terms[i]}});
    if (!attrs.empty()) s["attributes"] = attrs;
    json languages = json::array();
    for (size_t i = 0; i < langs.size(); ++i) languages.push_back({{"id", Uuid(7, n * 10 + static_cast<int>(i))}, {"code", langs[i]}, {"name", langs[i] == "es" ? "Spanish" : "English"}});
    if (!languages.empty()) s["languages"] = languages;
    if (!location.empty()) s["service_at_locations"] = json::array({{{"id", Uuid(8, n)}, {"location_id", location}}});
    return s;
  };
  return {
      {"organizations",
       json::array({{{"id", city}, {"name", "City Social Services"}, {"description", "The city's social services"},
                     {"organization_identifiers",
                      json::array({{{"id", Uuid(9, 1)}, {"identifier_scheme", "onedoor"},
                                    {"identifier_type", "onedoor agency"}, {"identifier", "city-social"}}})}},
                    {{"id", charity}, {"name", "Riverside Trust"}, {"description", "A charity"}}})},
      {"locations",
       json::array({{{"id", centre}, {"location_type", "physical"}, {"name", "Civic Centre"},
                     {"addresses", json::array({{{"id", Uuid(10, 1)}, {"address_1", "1 Main St"}, {"city", "Springfield"},
                                                 {"state_province", "IL"}, {"postal_code", "62701"}, {"country", "US"},
                                                 {"address_type", "physical"}}})}},
                    {{"id", library}, {"location_type", "physical"}, {"name", "North Library"},
                     {"addresses", json::array({{{"id", Uuid(10, 2)}, {"address_1", "9 North Rd"}, {"city", "Shelbyville"},
                                                 {"state_province", "IL"}, {"postal_code", "62565"}, {"country", "US"},
                                                 {"address_type", "physical"}}})}}})},
      {"taxonomies", json::array({{{"id", topics}, {"name", "Topics"}, {"description", "Needs"}},
                                  {{"id", programs}, {"name", "onedoor programs"}, {"description", "Rule packs"}}})},
      {"taxonomy_terms",
       json::array({{{"id", t_employment}, {"name", "Employment"}, {"description", "Work"}, {"taxonomy_id", topics}},
                    {{"id", t_food}, {"name", "Food"}, {"description", "Food"}, {"taxonomy_id", topics}},
                    {{"id", t_snap}, {"code", "us-snap"}, {"name", "SNAP"}, {"description", "SNAP"}, {"taxonomy_id", programs}}})},
      {"services",
       json::array({service(1, "Job club", "Weekly help with CVs and applications for people out of work", city, centre,
                            {t_employment}, {"en", "es"}),
                    service(2, "Food bank", "Emergency groceries for families", charity, library, {t_food}, {"en"}),
                    service(3, "SNAP application help", "Apply for food stamps with a caseworker", city, centre,
                            {t_food, t_snap}, {"es"}),
                    service(4, "Careers advice", "Advice on training and finding jobs", charity, library,
                            {t_employment}, {"en"}),
                    service(5, "Old job scheme", "A closed employment scheme", city, "", {t_employment}, {},
                            "inactive")})},
  };
}

class DirectoryServiceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      db_ = testing_support::NewMigratedSqlite(dir_);
    } else {
      auto opened = storage::OpenPostgres(testing_support::PostgresEnvironment::Cluster().NewMigratedDatabaseUrl(),
                                          {.connections = 4});
      ASSERT_TRUE(opened.ok()) << opened.status().ToString();
      db_ = std::move(opened).value();
      ASSERT_TRUE(storage::Migrate(*db_, storage::OnedoorSchema()).ok());
    }
    auto synonyms = Synonyms::Parse(
        "synonyms:\n  - [job, employment, work, career, empleo, \"buscar empleo\"]\n  - [food, "
        "groceries, "
        "alimento, nutrición]\n",
        "s.yaml");
    ASSERT_TRUE(synonyms.ok()) << synonyms.status().ToString();
    service_ = std::make_unique<DirectoryService>(*db_, audit_, outbox_, clock_, std::move(synonyms).value());
    Dataset data;
    ASSERT_TRUE(FlattenDocument(Bundle(), "", "bundle", data).ok());
    auto report = service_->Import(admin_, data, false);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_EQ(report->services, 5);
    EXPECT_EQ(report->added, static_cast<int64_t>(data.size()));
  }

  std::vector<std::string> Names(const SearchQuery& q) {
    auto r = service_->Search(q);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {};
    std::vector<std::string> out;
    auto docs = service_->GetMany("service", r->ids, false);
    EXPECT_TRUE(docs.ok());
    for (const auto& d : *docs) out.push_back(d["name"]);
    return out;
  }

  std::vector<std::string> Sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  }

  testing_support::TempDir dir_;
  std::unique_ptr<storage::Database> db_;
  core::FakeClock clock_;
  audit::AuditLog audit_{clock_};
  exchange::Outbox outbox_{clock_};
  authz::Principal admin_ = [] {
    authz::Principal p;
    p.kind = authz::PrincipalKind::kSystem;
    p.name = "test";
    p.roles = {authz::Role::kAdmin};
    return p;
  }();
  std::unique_ptr<DirectoryService> service_;
};

TEST_P(DirectoryServiceTest, SearchStemsWordsAndFindsSynonyms) {
  // "jobs" is "job" after stemming, and a synonym of "employment" and "career".
  EXPECT_EQ(Sorted(Names({.text = "jobs"})), Sorted({"Job club", "Careers advice", "Old job scheme"}));
  EXPECT_EQ(Sorted(Names({.text = "groceries"})), Sorted({"Food bank", "SNAP application help"}));
  // Every word must match: food and stamps.
  EXPECT_THAT(Names({.text = "food stamps"}), ElementsAre("SNAP application help"));
  // The common words of a question are left out.
  EXPECT_THAT(Names({.text = "I need a food bank"}), ElementsAre("Food bank"));
  // The last word is also a prefix, for search as you type.
  EXPECT_EQ(Sorted(Names({.text = "civ", .active_only = true})), Sorted({"Job club", "SNAP application help"}));
  // The name counts more than the description.
  EXPECT_EQ(Names({.text = "food"}).front(), "Food bank");
}

TEST_P(DirectoryServiceTest, WordsInAnotherLanguageFindTheirGroupWithOrWithoutAccents) {
  // The directory's services are described in English: a word of another language in a group
  // finds them, typed in any case, with or without its accent, in the plural.
  const auto food = Sorted({"Food bank", "SNAP application help"});
  EXPECT_EQ(Sorted(Names({.text = "alimentos"})), food);
  EXPECT_EQ(Sorted(Names({.text = "NUTRICION"})), food);
  EXPECT_EQ(Sorted(Names({.text = "nutrición"})), food);
  // The words of a question in Spanish that say nothing are left out.
  EXPECT_EQ(Sorted(Names({.text = "Necesito ayuda con los alimentos"})), food);
  // A phrase of a group is looked up whole: "buscar empleo" is one synonym of "job".
  EXPECT_EQ(Sorted(Names({.text = "buscar empleo"})), Sorted(Names({.text = "job"})));
}

TEST_P(DirectoryServiceTest, WhenNoServiceHasEveryWordServicesWithSomeAreShown) {
  auto r = service_->Search({.text = "food spaceships"});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->any_word);
  EXPECT_EQ(r->total, 2);
  auto none = service_->Search({.text = "spaceships"});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->total, 0);
}

TEST_P(DirectoryServiceTest, FiltersByTermLanguagePlaceProgramAgencyAndStatus) {
  EXPECT_EQ(Sorted(Names({.taxonomy_term_id = Uuid(4, 2)})), Sorted({"Food bank", "SNAP application help"}));
  EXPECT_EQ(Sorted(Names({.taxonomy_id = Uuid(3, 1), .active_only = true})),
            Sorted({"Job club", "Food bank", "SNAP application help", "Careers advice"}));
  EXPECT_EQ(Sorted(Names({.language = "ES"})), Sorted({"Job club", "SNAP application help"}));
  EXPECT_EQ(Sorted(Names({.postcode = "62 565"})), Sorted({"Food bank", "Careers advice"}));
  EXPECT_EQ(Sorted(Names({.city = "springfield"})), Sorted({"Job club", "SNAP application help"}));
  EXPECT_THAT(Names({.program = "us-snap"}), ElementsAre("SNAP application help"));
  EXPECT_EQ(Sorted(Names({.agency = "city-social"})), Sorted({"Job club", "SNAP application help", "Old job scheme"}));
  EXPECT_THAT(Names({.text = "job", .agency = "city-social", .active_only = true}), ElementsAre("Job club"));
  EXPECT_EQ(Names({.organization_id = Uuid(1, 2)}).size(), 2u);
}

TEST_P(DirectoryServiceTest, PagesCountEveryMatch) {
  auto first = service_->Search({.page = 1, .per_page = 2});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->total, 5);
  EXPECT_EQ(first->ids.size(), 2u);
  auto third = service_->Search({.page = 3, .per_page = 2});
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->ids.size(), 1u);
  EXPECT_EQ(service_->Search({.page = 0}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->Search({.per_page = 101}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->Search({.modified_after = "yesterday"}).status().code(), StatusCode::kInvalidArgument);
}

TEST_P(DirectoryServiceTest, AServiceComesNestedWithWhatOnedoorKnowsOfIt) {
  auto view = service_->Service(Uuid(5, 3));
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_EQ(view->doc["organization"]["name"], "City Social Services");
  EXPECT_EQ(view->doc["service_at_locations"][0]["location"]["addresses"][0]["city"], "Springfield");
  EXPECT_EQ(view->doc["attributes"].size(), 2u);
  EXPECT_THAT(view->programs, ElementsAre(std::pair<std::string, std::string>("us-snap", "SNAP")));
  EXPECT_EQ(view->agency, "city-social");
  EXPECT_EQ(service_->Get("service", Uuid(5, 99), true).status().code(), StatusCode::kNotFound);
}

TEST_P(DirectoryServiceTest, ImportingTheSameDocumentAgainChangesNothing) {
  Dataset data;
  ASSERT_TRUE(FlattenDocument(Bundle(), "", "bundle", data).ok());
  auto again = service_->Import(admin_, data, false);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->added, 0);
  EXPECT_EQ(again->changed, 0);
  EXPECT_EQ(again->unchanged, static_cast<int64_t>(data.size()));
  auto exported = service_->Export();
  ASSERT_TRUE(exported.ok());
  EXPECT_EQ(Fingerprint(*exported), Fingerprint(data));
}

TEST_P(DirectoryServiceTest, AChangedServiceIsFoundByItsNewWordsOnly) {
  Dataset data;
  json s = {{"id", Uuid(5, 2)}, {"name", "Community pantry"}, {"description", "Free meals on Fridays"},
            {"status", "active"}, {"organization_id", Uuid(1, 2)}};
  ASSERT_TRUE(FlattenDocument(s, "service", "s.json", data).ok());
  auto r = service_->Import(admin_, data, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->changed, 1);
  EXPECT_THAT(Names({.text = "pantry"}), ElementsAre("Community pantry"));
  EXPECT_THAT(Names({.text = "bank"}), ElementsAre());
  // Its old attributes and place still count: the import replaced the service row only.
  EXPECT_THAT(Names({.taxonomy_term_id = Uuid(4, 2), .postcode = "62565"}), ElementsAre("Community pantry"));
}

TEST_P(DirectoryServiceTest, ReplacingTheDirectoryRemovesWhatIsNotInTheNewOne) {
  Dataset data;
  json s = {{"id", Uuid(5, 9)}, {"name", "Only service"}, {"status", "active"}, {"organization_id", Uuid(1, 7)}};
  ASSERT_TRUE(FlattenDocument(s, "service", "s.json", data).ok());
  auto r = service_->Import(admin_, data, true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->services, 1);
  EXPECT_GT(r->removed, 20);
  // The organization it names is not there: a warning, not an error.
  EXPECT_EQ(r->dangling, 1);
  EXPECT_THAT(r->warnings, ElementsAre(HasSubstr("organization_id " + Uuid(1, 7) + " is not in the directory")));
  EXPECT_THAT(Names({}), ElementsAre("Only service"));
  EXPECT_THAT(Names({.text = "food"}), ElementsAre());
}

TEST_P(DirectoryServiceTest, OnlyAdministratorsChangeTheDirectory) {
  authz::Principal worker;
  worker.name = "worker";
  worker.roles = {authz::Role::kCaseworker};
  Dataset data;
  EXPECT_EQ(service_->Import(worker, data, false).status().code(), StatusCode::kPermissionDenied);
  authz::Principal token = admin_;
  token.scopes = {"persons:read"};
  EXPECT_EQ(service_->Import(token, data, true).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Names({}).size(), 5u);
}

TEST_P(DirectoryServiceTest, ListsPageAndFilterRowsOfATable) {
  auto terms = service_->List("taxonomy_term", {{"taxonomy_id", Uuid(3, 1)}}, 1, 10, false);
  ASSERT_TRUE(terms.ok()) << terms.status().ToString();
  EXPECT_EQ(terms->total, 2);
  EXPECT_EQ(terms->rows[0]["name"], "Employment");
  auto orgs = service_->List("organization", {{"search", "river"}}, 1, 10, true);
  ASSERT_TRUE(orgs.ok());
  ASSERT_EQ(orgs->total, 1);
  EXPECT_EQ(orgs->rows[0]["name"], "Riverside Trust");
  EXPECT_EQ(service_->List("organization", {{"colour", "red"}}, 1, 10, false).status().code(),
            StatusCode::kInvalidArgument);
  auto used = service_->TermsInUse();
  ASSERT_TRUE(used.ok());
  ASSERT_EQ(used->size(), 2u);  // the program link is not a topic
  EXPECT_EQ((*used)[0].name, "Employment");
  EXPECT_EQ((*used)[0].services, 3);
  auto langs = service_->LanguagesInUse();
  ASSERT_TRUE(langs.ok());
  EXPECT_EQ(langs->size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Databases, DirectoryServiceTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

TEST(Synonyms, AFileWithAMistakeIsRefusedNamingTheLine) {
  EXPECT_THAT(Synonyms::Parse("synonyms:\n  - [job]\n", "s.yaml").status().message(), HasSubstr("s.yaml:2"));
  EXPECT_THAT(Synonyms::Parse("synonyms:\n  - [job, work]\n  - [work, labour]\n", "s.yaml").status().message(),
              HasSubstr("s.yaml:3: 'work' is already in another group"));
  EXPECT_THAT(Synonyms::Parse("words: []\n", "s.yaml").status().message(), HasSubstr("must have `synonyms:`"));
  auto shipped = Synonyms::Load(std::string(ONEDOOR_SOURCE_DIR) + "/config/synonyms.yaml");
  ASSERT_TRUE(shipped.ok()) << shipped.status().ToString();
  EXPECT_THAT(shipped->Expand("jobs"), ::testing::Contains("employment"));
  // The shipped groups have words in Spanish and Arabic too, found with or without accents.
  EXPECT_THAT(shipped->Expand("comida"), ::testing::Contains("food"));
  EXPECT_THAT(shipped->Expand("educacion"), ::testing::Contains("education"));
  EXPECT_THAT(shipped->Expand("alquileres"), ::testing::Contains("housing"));
  EXPECT_THAT(shipped->Expand("طعام"), ::testing::Contains("food"));
  // An Arabic word with its article finds the group of the word without it.
  EXPECT_THAT(shipped->Expand("السكن"), ::testing::Contains("housing"));
  // A final ة typed as ه, with or without the article.
  EXPECT_THAT(shipped->Expand("صحه"), ::testing::Contains("health"));
  EXPECT_THAT(shipped->Expand("الصحه"), ::testing::Contains("health"));
  // A phrase of a group is one, with or without the words that say nothing.
  EXPECT_TRUE(shipped->HasPhrase("recién nacido"));
  EXPECT_TRUE(shipped->HasPhrase("banco alimentos"));
  EXPECT_THAT(shipped->Expand("recien nacido"), ::testing::Contains("newborn"));
  // A word already in a group, accented or not, is refused in another.
  EXPECT_THAT(
      Synonyms::Parse("synonyms:\n  - [school, educación]\n  - [course, educacion]\n", "s.yaml")
          .status()
          .message(),
      HasSubstr("s.yaml:3: 'educacion' is already in another group"));
}

TEST(SearchWords, LeavesOutTheWordsThatSayNothing) {
  EXPECT_THAT(SearchWords("I lost my JOB!"), ElementsAre("lost", "job"));
  EXPECT_THAT(SearchWords("someone's died"), ElementsAre("someone's", "died"));
  EXPECT_THAT(SearchWords("Necesito ayuda para pagar el alquiler"),
              ElementsAre("pagar", "alquiler"));
  EXPECT_THAT(SearchWords("أحتاج مساعدة في السكن"), ElementsAre("السكن"));
  // In any case, with or without accents or the hamza.
  EXPECT_THAT(SearchWords("DÓNDE hay COMIDA"), ElementsAre("comida"));
  EXPECT_THAT(SearchWords("احتاج طعام"), ElementsAre("طعام"));
}

}  // namespace
}  // namespace directory
