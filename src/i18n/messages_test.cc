#include "i18n/messages.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace i18n {
namespace {

namespace fs = std::filesystem;

class MessagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("onedoor-messages-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                                        "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "es");
    fs::create_directories(dir_ / "ar");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }

  fs::path dir_;
};

TEST_F(MessagesTest, TranslatesWithArgumentsAndPluralsOfTheLanguage) {
  Write("es/portal.json", R"({
    "Sign in": "Iniciar sesión",
    "Hello {name}": "Hola {name}",
    "{count, plural, one {# contact} other {# contacts}}": "{count, plural, one {# contacto} other {# contactos}}"
  })");
  Write("ar/layout.json", R"({"Sign in": "تسجيل الدخول"})");
  auto m = Messages::Load(dir_.string());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const auto& messages = **m;
  EXPECT_EQ(messages.Format("es", "Sign in"), "Iniciar sesión");
  EXPECT_EQ(messages.Format("ar", "Sign in"), "تسجيل الدخول");
  EXPECT_EQ(messages.Format("en", "Sign in"), "Sign in");
  EXPECT_EQ(messages.Format("es", "Hello {name}", {{"name", "Ana"}}), "Hola Ana");
  EXPECT_EQ(messages.Format("en", "Hello {name}", {{"name", "Ana"}}), "Hello Ana");
  const std::string plural = "{count, plural, one {# contact} other {# contacts}}";
  EXPECT_EQ(messages.Format("es", plural, {{"count", "1"}}), "1 contacto");
  EXPECT_EQ(messages.Format("es", plural, {{"count", "3"}}), "3 contactos");
  EXPECT_EQ(messages.Format("en", plural, {{"count", "1"}}), "1 contact");
  // Arabic has no translation of this one: English, with English plural rules.
  EXPECT_EQ(messages.Format("ar", "Hello {name}", {{"name", "Ana"}}), "Hello Ana");
  EXPECT_TRUE(messages.Has("es", "Sign in"));
  EXPECT_FALSE(messages.Has("ar", "Hello {name}"));
  EXPECT_EQ(messages.Count("es"), 3u);
  EXPECT_EQ(messages.Count("ar"), 1u);
}

TEST_F(MessagesTest, AMessageWrittenOverSeveralLinesIsTheSameMessage) {
  Write("es/a.json", R"({"Who looked at\n   your record": "Quién ha mirado su expediente"})");
  auto m = Messages::Load(dir_.string());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m)->Format("es", Collapse("  Who looked at\n      your record ")), "Quién ha mirado su expediente");
}

TEST_F(MessagesTest, BadCataloguesAreRefusedNamingTheFileAndTheMessage) {
  Write("es/broken.json", R"({"Sign in": )");
  auto m = Messages::Load(dir_.string());
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("broken.json: not JSON"), std::string::npos) << m.status().ToString();
  fs::remove(dir_ / "es/broken.json");

  Write("es/args.json", R"({"Hello {name}": "Hola {nombre}"})");
  m = Messages::Load(dir_.string());
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("args.json: message \"Hello {name}\": the translation must use the same arguments"),
            std::string::npos)
      << m.status().ToString();
  fs::remove(dir_ / "es/args.json");

  Write("es/pattern.json", R"({"Hello {name}": "Hola {name"})");
  m = Messages::Load(dir_.string());
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("the translation the message does not parse at character"), std::string::npos)
      << m.status().ToString();
  fs::remove(dir_ / "es/pattern.json");

  Write("es/one.json", R"({"Sign in": "Iniciar sesión"})");
  Write("es/two.json", R"({"Sign in": "Entrar"})");
  m = Messages::Load(dir_.string());
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("two.json: message \"Sign in\": given twice"), std::string::npos) << m.status().ToString();
}

TEST(NegotiateTest, TheChosenLanguageThenAcceptLanguageThenEnglish) {
  EXPECT_EQ(Negotiate("es", "en-GB,en"), "es");
  EXPECT_EQ(Negotiate("", "es-MX,es;q=0.9,en;q=0.8"), "es");
  EXPECT_EQ(Negotiate("fr", "fr-FR,fr;q=0.9,ar;q=0.5"), "ar");
  EXPECT_EQ(Negotiate("", "de;q=0.9, en;q=0.2, es;q=0.5"), "es");
  EXPECT_EQ(Negotiate("", "de, fr"), "en");
  EXPECT_EQ(Negotiate("", ""), "en");
  EXPECT_EQ(Negotiate("", "es;q=0"), "en");
  ASSERT_NE(FindLanguage("ar"), nullptr);
  EXPECT_TRUE(FindLanguage("ar")->rtl);
  EXPECT_FALSE(FindLanguage("es")->rtl);
  EXPECT_EQ(FindLanguage("xx"), nullptr);
}

TEST(FormatDateTest, DatesInTheLanguagesLongStyle) {
  const core::Date d{2026, 12, 2};
  EXPECT_EQ(FormatDate("en", d), "2 December 2026");
  EXPECT_EQ(FormatDate("es", d), "2 de diciembre de 2026");
  // Arabic: the month's Arabic name.
  EXPECT_NE(FormatDate("ar", d).find("ديسمبر"), std::string::npos) << FormatDate("ar", d);
}

TEST(ArgumentNamesTest, NamesEachOnceInOrder) {
  auto names = ArgumentNames("{a} and {b, plural, one {# {a}} other {#}} {c, select, x {y} other {z}}");
  ASSERT_TRUE(names.ok()) << names.status().ToString();
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_FALSE(ArgumentNames("{a").ok());
}

}  // namespace
}  // namespace i18n
