#include "registry/person.h"
#include "registry/person_service.h"

#include <functional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace registry {
namespace {

using core::StatusCode;
using nlohmann::json;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

std::vector<std::string> FieldNames(const core::Status& status) {
  std::vector<std::string> out;
  for (const auto& f : status.fields()) out.push_back(f.field);
  return out;
}

// A person with every field set and valid.
Person FullPerson() {
  Person p;
  p.names = {{"official", "Amara", "Okonkwo"}, {"alias", "Ama", "Okonkwo"}};
  p.birth_date = core::PartialDate{1985, 3, 27};
  p.sex = "female";
  p.gender = "woman";
  p.identifiers = {{"national_id", "NI-123456", ""}, {"agency_number", "A-77", "city-social"}};
  p.addresses = {{"home", "12 High Street", "Flat 2", "Wellington", "Wellington Region", "6011", "NZ"}};
  p.phones = {{"mobile", "+64 21 555 0101"}};
  p.emails = {{"", "amara@example.org"}};
  p.preferred_language = "ig";
  p.needs = {true, "ig", "step-free access"};
  p.created_at = {1'700'000'000'000'000};
  p.updated_at = {1'700'000'100'000'000};
  return p;
}

// -------- Validate --------

TEST(PersonValidate, FullyValidPersonPasses) {
  core::Status s = Validate(FullPerson());
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST(PersonValidate, NamesInAnyScriptWithJoinersPass) {
  Person p;
  // A zero width non-joiner inside a Persian name, and combining marks, are part of the name.
  p.names = {{"official", "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", "Nguy\u1ec5n"}};
  EXPECT_TRUE(Validate(p).ok());
}

TEST(PersonValidate, MinimalPersonWithOnlyAGivenNamePasses) {
  Person p;
  p.names = {{"official", "Amara", ""}};
  EXPECT_TRUE(Validate(p).ok());
}

struct ValidateCase {
  std::string name;
  std::function<void(Person&)> mutate;
  std::vector<std::string> fields;
};

TEST(PersonValidate, EachRuleNamesTheExactField) {
  const std::vector<ValidateCase> cases = {
      {"no names", [](Person& p) { p.names.clear(); }, {"names"}},
      {"blank name",
       [](Person& p) {
         p.names[0].given = " ";
         p.names[0].family = "";
       },
       {"names/0/family"}},
      {"unknown name use", [](Person& p) { p.names[1].use = "nickname"; }, {"names/1/use"}},
      {"name of a zero width space and a NUL",
       [](Person& p) {
         p.names[0].given = "\u200b";
         p.names[0].family = std::string(1, '\0');
       },
       {"names/0/family"}},
      {"name of a no-break space and a byte order mark",
       [](Person& p) {
         p.names[0].given = "\u00a0";
         p.names[0].family = "\ufeff";
       },
       {"names/0/family"}},
      {"name with a line break",
       [](Person& p) { p.names[0].given = "Amara\nOkonkwo"; },
       {"names/0/given"}},
      {"name with an escape",
       [](Person& p) { p.names[0].family = "Ok\x1b[31m"; },
       {"names/0/family"}},
      {"identifier with a NUL",
       [](Person& p) { p.identifiers[0].value = std::string("P1\0", 3); },
       {"identifiers/0/value"}},
      {"address line with a tab",
       [](Person& p) { p.addresses[0].line1 = "12\tHigh Street"; },
       {"addresses/0/line1"}},
      {"no official name", [](Person& p) { p.names[0].use = "alias"; }, {"names"}},
      {"long family name",
       [](Person& p) { p.names[0].family = std::string(201, 'x'); },
       {"names/0/family"}},
      {"unknown identifier kind",
       [](Person& p) { p.identifiers[0].kind = "ssn"; },
       {"identifiers/0/kind"}},
      {"blank identifier value",
       [](Person& p) { p.identifiers[0].value = ""; },
       {"identifiers/0/value"}},
      {"agency number without issuer",
       [](Person& p) {
         p.identifiers = {{"agency_number", "A-1", ""}};
       },
       {"identifiers/0/issuer"}},
      {"duplicate identifier",
       [](Person& p) {
         p.identifiers = {{"passport", "P1", ""}, {"passport", "P1", ""}};
       },
       {"identifiers/1"}},
      {"empty address", [](Person& p) { p.addresses = {Address{}}; }, {"addresses/0"}},
      {"unknown address use",
       [](Person& p) { p.addresses[0].use = "holiday"; },
       {"addresses/0/use"}},
      {"long address line",
       [](Person& p) { p.addresses[0].line1 = std::string(201, 'x'); },
       {"addresses/0/line1"}},
      {"long city",
       [](Person& p) { p.addresses[0].city = std::string(201, 'x'); },
       {"addresses/0/city"}},
      {"long postcode",
       [](Person& p) { p.addresses[0].postcode = std::string(17, '1'); },
       {"addresses/0/postcode"}},
      {"bad phone", [](Person& p) { p.phones[0].value = "call me"; }, {"phones/0/value"}},
      {"unknown phone use", [](Person& p) { p.phones[0].use = "fax"; }, {"phones/0/use"}},
      {"bad email", [](Person& p) { p.emails[0].value = "amara.example.org"; }, {"emails/0/value"}},
      {"email with two ats",
       [](Person& p) { p.emails[0].value = "a@b@example.org"; },
       {"emails/0/value"}},
      {"unknown sex", [](Person& p) { p.sex = "yes"; }, {"sex"}},
      {"long gender", [](Person& p) { p.gender = std::string(101, 'g'); }, {"gender"}},
      {"long language",
       [](Person& p) { p.preferred_language = std::string(36, 'l'); },
       {"preferred_language"}},
      {"died the year before birth",
       [](Person& p) {
         p.death_date = core::PartialDate{1984, 0, 0};
       },
       {"death_date"}},
      {"died the month before birth",
       [](Person& p) {
         p.death_date = core::PartialDate{1985, 2, 0};
       },
       {"death_date"}},
      {"died the day before birth",
       [](Person& p) {
         p.death_date = core::PartialDate{1985, 3, 26};
       },
       {"death_date"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Person p = FullPerson();
    c.mutate(p);
    core::Status s = Validate(p);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(FieldNames(s), c.fields);
  }
}

TEST(PersonValidate, ReportsEveryProblemAtOnce) {
  Person p = FullPerson();
  p.sex = "x";
  p.phones[0].value = "?";
  p.emails[0].value = "nope";
  core::Status s = Validate(p);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldNames(s), UnorderedElementsAre("sex", "phones/0/value", "emails/0/value"));
}

// -------- FromJson --------

json ValidBody() {
  return json::parse(R"({
    "names": [{"use": "official", "given": "Amara", "family": "Okonkwo"}],
    "birth_date": "1985-03",
    "sex": "female",
    "identifiers": [{"kind": "passport", "value": "P123"}],
    "addresses": [{"line1": "12 High Street", "city": "Wellington"}],
    "phones": [{"use": "mobile", "value": "+64 21 555 0101"}],
    "emails": [{"value": "amara@example.org"}],
    "needs": {"interpreter": true, "interpreter_language": "ig"}
  })");
}

TEST(PersonFromJson, ReadsAValidBody) {
  auto p = FromJson(ValidBody());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->names.size(), 1u);
  EXPECT_EQ(p->names[0], (PersonName{"official", "Amara", "Okonkwo"}));
  ASSERT_TRUE(p->birth_date.has_value());
  EXPECT_EQ(*p->birth_date, (core::PartialDate{1985, 3, 0}));
  EXPECT_EQ(p->sex, "female");
  EXPECT_THAT(p->identifiers, ElementsAre(Identifier{"passport", "P123", ""}));
  ASSERT_EQ(p->addresses.size(), 1u);
  EXPECT_EQ(p->addresses[0].use, "home");  // the default
  EXPECT_EQ(p->addresses[0].city, "Wellington");
  EXPECT_THAT(p->phones, ElementsAre(ContactPoint{"mobile", "+64 21 555 0101"}));
  EXPECT_THAT(p->emails, ElementsAre(ContactPoint{"", "amara@example.org"}));
  EXPECT_TRUE(p->needs.interpreter);
  EXPECT_EQ(p->needs.interpreter_language, "ig");
  EXPECT_TRUE(Validate(*p).ok());
}

TEST(PersonFromJson, NameUseDefaultsToOfficial) {
  auto p = FromJson(json::parse(R"({"names": [{"given": "Amara"}]})"));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->names[0].use, "official");
}

TEST(PersonFromJson, UnknownFieldsAreFieldErrorsAtTopLevelAndNested) {
  json body = ValidBody();
  body["nickname"] = "Ama";
  body["names"][0]["nick"] = "Ama";
  body["addresses"][0]["street"] = "High";
  body["needs"]["dog"] = true;
  auto p = FromJson(body);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldNames(p.status()),
              UnorderedElementsAre("nickname", "names/0/nick", "addresses/0/street", "needs/dog"));
}

struct JsonCase {
  std::string name;
  std::function<void(json&)> mutate;
  std::string field;
};

TEST(PersonFromJson, WrongTypesAreFieldErrors) {
  const std::vector<JsonCase> cases = {
      {"names not a list", [](json& j) { j["names"] = "Amara"; }, "names"},
      {"name not an object", [](json& j) { j["names"][0] = "Amara"; }, "names/0"},
      {"given not a string", [](json& j) { j["names"][0]["given"] = 5; }, "names/0/given"},
      {"sex not a string", [](json& j) { j["sex"] = 1; }, "sex"},
      {"identifier not an object", [](json& j) { j["identifiers"][0] = 5; }, "identifiers/0"},
      {"identifier value a number", [](json& j) { j["identifiers"][0]["value"] = 123; }, "identifiers/0/value"},
      {"phones an object", [](json& j) { j["phones"] = json::object(); }, "phones"},
      {"interpreter a string", [](json& j) { j["needs"]["interpreter"] = "yes"; }, "needs/interpreter"},
      {"needs a list", [](json& j) { j["needs"] = json::array(); }, "needs"},
      {"birth date a number", [](json& j) { j["birth_date"] = 1985; }, "birth_date"},
      {"too many names", [](json& j) { j["names"] = json::array(); for (int i = 0; i < 21; ++i) j["names"].push_back({{"given", "A"}}); }, "names"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    json body = ValidBody();
    c.mutate(body);
    auto p = FromJson(body);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(FieldNames(p.status()), ElementsAre(c.field));
  }
}

TEST(PersonFromJson, ReadErrorsAndInvalidValuesAreReportedTogether) {
  json body = ValidBody();
  body["sex"] = 1;                                   // cannot be read
  body["emails"][0]["value"] = "amara.example.org";  // read, not valid
  body["phones"][0]["value"] = "call me";            // read, not valid
  body["identifiers"][0]["value"] = 5;               // cannot be read: not also "is required"
  auto p = FromJson(body);
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(FieldNames(p.status()), UnorderedElementsAre("sex", "identifiers/0/value",
                                                           "emails/0/value", "phones/0/value"));
}

TEST(PersonFromJson, BodyMustBeAnObject) {
  auto p = FromJson(json::array());
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
}

TEST(PersonFromJson, BadBirthDateIsAFieldError) {
  for (const char* bad : {"1985-13-01", "1985-02-30", "27/03/1985", "85", "1985-3"}) {
    SCOPED_TRACE(bad);
    json body = ValidBody();
    body["birth_date"] = bad;
    auto p = FromJson(body);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(FieldNames(p.status()), ElementsAre("birth_date"));
  }
}

// A decision that lets through the fields of the given categories of the built-in set.
authz::Decision Seeing(std::initializer_list<std::string_view> categories,
                       std::vector<authz::Withheld> withheld = {}) {
  authz::Decision d;
  d.allowed = true;
  d.reason = "test";
  const auto& cats = authz::DataCategories::Builtin();
  for (int f = 0; f < authz::kFieldCount; ++f) {
    const auto* c = cats.CategoryOf(f < static_cast<int>(authz::DataCategories::PersonFields().size()) ? "person" : "records", authz::FieldName(static_cast<authz::Field>(f)));
    for (auto want : categories) {
      if (c != nullptr && c->id == want) d.fields |= 1u << f;
    }
  }
  d.withheld = std::move(withheld);
  return d;
}

TEST(PersonFromJson, AcceptsTheFieldsThatToJsonWrites) {
  json out = ToJson(FullPerson(), Seeing({"identity"}, {{"contact", "Contact details", "x"}}));
  auto p = FromJson(out);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
}

// -------- ToJson --------

TEST(PersonToJson, HidesWithheldCategoriesAndListsThem) {
  Person p = FullPerson();
  p.id = core::PersonId{12};
  p.version = 3;
  authz::Decision d =
      Seeing({"identity", "needs"}, {{"contact", "Contact details", "contact details are not shared with this agency"}});
  json j = ToJson(p, d);
  EXPECT_EQ(j["id"], 12);
  EXPECT_EQ(j["version"], 3);
  EXPECT_TRUE(j.contains("names"));
  EXPECT_EQ(j["birth_date"], "1985-03-27");
  EXPECT_TRUE(j.contains("identifiers"));
  EXPECT_TRUE(j.contains("needs"));
  for (const char* hidden : {"addresses", "phones", "emails", "preferred_language"}) {
    EXPECT_FALSE(j.contains(hidden)) << hidden;
  }
  ASSERT_TRUE(j.contains("withheld"));
  ASSERT_EQ(j["withheld"].size(), 1u);
  EXPECT_EQ(j["withheld"][0]["category"], "contact");
  EXPECT_EQ(j["withheld"][0]["label"], "Contact details");
  EXPECT_EQ(j["withheld"][0]["reason"], "contact details are not shared with this agency");
  EXPECT_EQ(j.dump().find("12 High Street"), std::string::npos);
  EXPECT_EQ(j.dump().find("555"), std::string::npos);
}

// A read sends the stored document on without reading it into a Person: the answer must be
// exactly the one made from the Person, for every shape of record and every decision.
TEST(PersonStoredToJsonText, IsExactlyToJsonOfTheStoredRecord) {
  Person minimal;
  minimal.names = {{"official", "Li", ""}};
  Person partial = FullPerson();
  partial.birth_date = core::PartialDate{1990, 0, 0};
  partial.death_date = core::PartialDate{2024, 5, 0};
  partial.needs = {false, "", ""};
  partial.emails.clear();
  Person unicode = FullPerson();
  unicode.names = {{"official", "Zoë", "Ngāti-Ōrākei"}, {"other", "Алексей", "李"}};
  const std::vector<authz::Decision> decisions = {
      authz::SeeEverything("all"),
      Seeing({"identity"}, {{"contact", "Contact details", "not shared"}}),
      Seeing({"identity", "needs"}, {{"contact", "Contact details", "x"}, {"needs", "Needs", "y"}}),
      Seeing({}),
  };
  int compared = 0;
  for (Person p : {FullPerson(), minimal, partial, unicode}) {
    p.id = core::PersonId{77};
    p.version = 5;
    const std::string stored = ToStorageJson(p).dump();
    auto read = FromStorageJson(stored);
    ASSERT_TRUE(read.ok());
    read->id = p.id;
    read->version = p.version;
    for (const auto& d : decisions) {
      Person redacted = *read;
      Redact(redacted, d);
      auto direct = StoredToJsonText(stored, p.id, p.version, d);
      ASSERT_TRUE(direct.ok()) << direct.status().ToString();
      EXPECT_EQ(*direct, ToJson(redacted, d).dump()) << stored;
      // Spaced as another writer might have stored it.
      auto spaced = StoredToJsonText(nlohmann::json::parse(stored).dump(2), p.id, p.version, d);
      ASSERT_TRUE(spaced.ok()) << spaced.status().ToString();
      EXPECT_EQ(nlohmann::json::parse(*spaced), ToJson(redacted, d)) << stored;
      ++compared;
    }
  }
  EXPECT_EQ(compared, 16);
  for (const char* bad : {"not json", "[1]", "", R"({"created_at": "yesterday"})", R"({"names": [1, 2)",
                          R"({"names": []} trailing)", R"({"sex": })"}) {
    EXPECT_EQ(StoredToJsonText(bad, {}, 1, decisions[0]).status().code(), StatusCode::kDataLoss) << bad;
  }
}

// What a read of the API answers: the stored record's API form with the person's source records
// and household, as the JSON tree of the same would be written.
TEST(ReadAnswerText, IsTheApiFormWithSourcesAndHousehold) {
  Person p = FullPerson();
  p.id = core::PersonId{12};
  p.version = 3;
  const authz::Decision d = Seeing({"identity"}, {{"contact", "Contact details", "not \"shared\" here"}});
  PersonView view;
  view.stored = ToStorageJson(p).dump();
  view.person.id = p.id;
  view.person.version = p.version;
  view.decision = d;
  view.sources = {{core::AgencyId{2}, "Health \"North\"", "H-1"}, {core::AgencyId{5}, "Zoë's Trust", "Z\\9"}};
  view.household = HouseholdRef{core::HouseholdId{40}, "Okonkwo household", "parent"};
  Person redacted = p;
  Redact(redacted, d);
  nlohmann::json expected = ToJson(redacted, d);
  expected["source_records"] = {{{"agency_id", 2}, {"agency_name", "Health \"North\""}, {"local_id", "H-1"}},
                                {{"agency_id", 5}, {"agency_name", "Zoë's Trust"}, {"local_id", "Z\\9"}}};
  expected["household"] = {{"id", 40}, {"name", "Okonkwo household"}, {"relationship", "parent"}};
  auto text = ReadAnswerText(view);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(*text, expected.dump());

  view.sources.clear();
  view.household.reset();
  expected["source_records"] = nlohmann::json::array();
  expected.erase("household");
  text = ReadAnswerText(view);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, expected.dump());

  view.stored = "{";
  EXPECT_EQ(ReadAnswerText(view).status().code(), StatusCode::kDataLoss);
}

// Strings written as nlohmann::json writes them, for every character that needs escaping.
TEST(AppendJsonString, EscapesAsNlohmannDumpDoes) {
  std::string every_byte;
  for (int c = 1; c < 256; ++c) every_byte += static_cast<char>(c);
  for (std::string s : {std::string(), std::string("plain"), std::string("quote \" and \\ back"),
                        std::string("Zoë 李 Ngāti-Ōrākei\u00a0"), std::string("\b\f\n\r\t\x01\x1f\x7f end"),
                        std::string(1, '\0') + "nul", every_byte.substr(0, 0x7f)}) {  // bytes 1 to 0x7f
    std::string out;
    AppendJsonString(out, s);
    EXPECT_EQ(out, nlohmann::json(s).dump()) << s;
  }
}

TEST(PersonToJson, ShowsEverythingAndNoWithheldWhenAllVisible) {
  authz::Decision d = authz::SeeEverything("test");
  json j = ToJson(FullPerson(), d);
  for (const char* k : {"names", "birth_date", "sex", "gender", "identifiers", "addresses", "phones", "emails",
                        "preferred_language", "needs", "created_at", "updated_at"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  EXPECT_FALSE(j.contains("withheld"));
  EXPECT_EQ(j["created_at"], FullPerson().created_at.ToRfc3339());
}

TEST(PersonToJson, HidesIdentityWhenNotVisible) {
  json j = ToJson(FullPerson(), Seeing({"contact"}));
  for (const char* k : {"names", "birth_date", "sex", "gender", "identifiers", "needs"}) EXPECT_FALSE(j.contains(k)) << k;
  EXPECT_TRUE(j.contains("addresses"));
}

TEST(PersonRedact, ClearsWhatTheDecisionWithholdsAndKeepWithheldRestoresIt) {
  Person p = FullPerson();
  Redact(p, Seeing({"identity"}));
  EXPECT_FALSE(p.names.empty());
  EXPECT_TRUE(p.birth_date.has_value());
  EXPECT_TRUE(p.addresses.empty());
  EXPECT_TRUE(p.phones.empty());
  EXPECT_TRUE(p.emails.empty());
  EXPECT_TRUE(p.preferred_language.empty());
  EXPECT_FALSE(p.needs.interpreter);

  // An update by the same principal keeps the stored contact details it could not see.
  Person input = p;
  input.names[0].given = "Renamed";
  KeepWithheld(input, FullPerson(), Seeing({"identity"}));
  EXPECT_EQ(input.names[0].given, "Renamed");
  EXPECT_EQ(input.addresses, FullPerson().addresses);
  EXPECT_EQ(input.phones, FullPerson().phones);
  EXPECT_EQ(input.needs.interpreter, FullPerson().needs.interpreter);
}

// -------- Storage form --------

TEST(PersonValidate, ADeathThatMayBeOnTheBirthDateOrLaterPasses) {
  for (auto death : {core::PartialDate{1985, 0, 0}, core::PartialDate{1985, 3, 0}, core::PartialDate{1985, 3, 27},
                     core::PartialDate{2024, 11, 2}}) {
    Person p = FullPerson();
    p.death_date = death;
    EXPECT_TRUE(Validate(p).ok()) << death.ToString();
  }
  Person unborn = FullPerson();
  unborn.birth_date.reset();
  unborn.death_date = core::PartialDate{1900, 1, 1};
  EXPECT_TRUE(Validate(unborn).ok());
}

TEST(PersonStorage, RoundTripKeepsEverything) {
  Person p = FullPerson();
  p.death_date = core::PartialDate{2024, 11, 0};
  p.names.push_back({"other_script", "王", "芳"});
  p.names.push_back({"previous", "Ngā", "Māhina-O'Brien"});
  auto back = FromStorageJson(ToStorageJson(p).dump());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->names, p.names);
  EXPECT_EQ(back->birth_date, p.birth_date);
  EXPECT_EQ(back->sex, p.sex);
  EXPECT_EQ(back->gender, p.gender);
  EXPECT_EQ(back->identifiers, p.identifiers);
  EXPECT_EQ(back->addresses, p.addresses);
  EXPECT_EQ(back->phones, p.phones);
  EXPECT_EQ(back->emails, p.emails);
  EXPECT_EQ(back->preferred_language, p.preferred_language);
  EXPECT_EQ(back->needs, p.needs);
  EXPECT_EQ(back->death_date, p.death_date);
  EXPECT_EQ(back->created_at, p.created_at);
  EXPECT_EQ(back->updated_at, p.updated_at);
  EXPECT_EQ(back->DisplayName(), "Amara Okonkwo");
  EXPECT_THAT(Diff(p, *back), IsEmpty());
}

TEST(PersonStorage, RoundTripKeepsPartialBirthDatesAndEmptyFields) {
  Person p;
  p.names = {{"official", "", "王"}};
  p.birth_date = core::PartialDate{1990, 0, 0};
  auto back = FromStorageJson(ToStorageJson(p).dump());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->names, p.names);
  EXPECT_EQ(back->birth_date, p.birth_date);
  EXPECT_EQ(back->sex, "");
  EXPECT_THAT(back->identifiers, IsEmpty());
  EXPECT_FALSE(back->needs.interpreter);
  EXPECT_EQ(back->DisplayName(), "王");
}

TEST(PersonStorage, DamagedDocumentsAreDataLoss) {
  for (const char* bad : {"not json", "[1,2]", "5", R"({"names": "x"})", R"({"mystery": 1})",
                          R"({"names": [], "created_at": "yesterday"})"}) {
    SCOPED_TRACE(bad);
    auto p = FromStorageJson(bad);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.status().code(), StatusCode::kDataLoss);
  }
}

// -------- NameKey and DisplayName --------

TEST(PersonNameKey, FoldsCaseAndPunctuation) {
  EXPECT_EQ(NameKey("O'Brien-Smith"), "obrien smith");
  EXPECT_EQ(NameKey("  Mc Donald "), "mc donald");
  EXPECT_EQ(NameKey("St. John"), "st john");
  EXPECT_EQ(NameKey("ANNE--marie,  JONES"), "anne marie jones");
  EXPECT_EQ(NameKey(""), "");
  EXPECT_EQ(NameKey(" - "), "");
  EXPECT_EQ(NameKey("Ngā"), "nga");
  EXPECT_EQ(NameKey("王 芳"), "王 芳");
}

TEST(PersonNameKey, FoldsCaseAndAccentsInEveryScript) {
  for (const char* name : {"Émilie", "ÉMILIE", "émilie", "emilie", "E\u0301milie"})
    EXPECT_EQ(NameKey(name), "emilie") << name;
  EXPECT_EQ(NameKey("Østergård"), "østergard");
  EXPECT_EQ(NameKey("ØSTERGÅRD"), "østergard");
  EXPECT_EQ(NameKey("Пушкин"), "пушкин");
  EXPECT_EQ(NameKey("ПУШКИН"), "пушкин");
  EXPECT_EQ(NameKey("Ñúñez"), "nunez");
  EXPECT_EQ(NameKey("Łukasiewicz"), "łukasiewicz");
  EXPECT_EQ(NameKey("ŁUKASIEWICZ"), "łukasiewicz");
  EXPECT_EQ(NameKey("Weiß"), "weiss");
  EXPECT_EQ(NameKey("Tomás Hughes"), "tomas hughes");
  EXPECT_EQ(NameKey("مُحَمَّد"), "محمد");  // vowel points
}

TEST(PersonDisplayName, UsesTheFirstOfficialName) {
  Person p;
  EXPECT_EQ(p.DisplayName(), "(no name)");
  p.names = {{"alias", "Ama", "O"}, {"official", "Amara", "Okonkwo"}};
  EXPECT_EQ(p.DisplayName(), "Amara Okonkwo");
  p.names = {{"official", "", "Okonkwo"}};
  EXPECT_EQ(p.DisplayName(), "Okonkwo");
}

// -------- Diff --------

TEST(PersonDiff, IdenticalPersonsHaveNoChanges) { EXPECT_THAT(Diff(FullPerson(), FullPerson()), IsEmpty()); }

TEST(PersonDiff, ReportsChangedAddedAndRemovedPaths) {
  Person before = FullPerson();
  Person after = FullPerson();
  after.sex = "other";                                // changed
  after.phones.push_back({"work", "+64 4 555 0199"});  // added
  after.names.pop_back();                             // removed: the alias
  after.updated_at = {1'800'000'000'000'000};         // timestamps are not changes
  std::vector<std::string> fields;
  for (const auto& c : Diff(before, after)) {
    fields.push_back(c.field);
    if (c.field == "sex") {
      EXPECT_EQ(c.before, "female");
      EXPECT_EQ(c.after, "other");
    } else if (c.field == "phones/1/value") {
      EXPECT_EQ(c.before, "");
      EXPECT_EQ(c.after, "+64 4 555 0199");
    } else if (c.field == "names/1/given") {
      EXPECT_EQ(c.before, "Ama");
      EXPECT_EQ(c.after, "");
    }
  }
  EXPECT_THAT(fields, UnorderedElementsAre("sex", "phones/1/use", "phones/1/value", "names/1/use", "names/1/given",
                                           "names/1/family"));
}

TEST(PersonDiff, ReportsNonStringValuesAsText) {
  Person before = FullPerson();
  Person after = FullPerson();
  after.needs.interpreter = false;
  after.birth_date.reset();
  auto changes = Diff(before, after);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].field, "birth_date");
  EXPECT_EQ(changes[0].before, "1985-03-27");
  EXPECT_EQ(changes[0].after, "");
  EXPECT_EQ(changes[1].field, "needs/interpreter");
  EXPECT_EQ(changes[1].before, "true");
  EXPECT_EQ(changes[1].after, "false");
}

}  // namespace
}  // namespace registry
