#include "http/templates.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <kainjow/mustache.hpp>
#include <nlohmann/json.hpp>

namespace http {
namespace {

namespace mstch = kainjow::mustache;

mstch::data ToData(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::object: {
      mstch::data d{mstch::data::type::object};
      for (auto it = j.begin(); it != j.end(); ++it) d.set(it.key(), ToData(it.value()));
      return d;
    }
    case nlohmann::json::value_t::array: {
      mstch::data d{mstch::data::type::list};
      for (const auto& item : j) d.push_back(ToData(item));
      return d;
    }
    case nlohmann::json::value_t::string: return mstch::data{j.get<std::string>()};
    case nlohmann::json::value_t::boolean:
      return j.get<bool>() ? mstch::data{mstch::data::type::bool_true} : mstch::data{mstch::data::type::bool_false};
    case nlohmann::json::value_t::null: return mstch::data{mstch::data::type::bool_false};
    default: return mstch::data{j.dump()};
  }
}

constexpr const char* kRequired[] = {"layout",      "login",          "clients_search", "client_form", "client_view",
                                     "client_history", "household_view", "error",          "home",
                                     "reviews",     "review",         "screening",
                                     "agreements_register", "agreements_governance", "agreement_form", "client_refused", "break_glass",
                                     "consent_receipt", "consent_form", "referrals", "referral_form", "referral_view", "cases", "case_form", "case_view", "applications", "application_view", "work", "teams", "directory", "directory_service", "life_events", "life_event", "contacts", "contact_form", "contact_recorded", "feedback", "feedback_thanks", "queue_display", "queue_kiosk", "queue_ticket", "queue_desk", "offices", "office", "office_appointments", "appointment_book", "appointment_booked", "appointment_online", "appointment_manage", "performance", "scorecard", "outcomes", "agency_outcomes", "diagnostics", "diagnostic_form", "diagnostic_view", "diagnostic_compare", "portal_sign_up", "portal_check_email", "portal_verified", "portal_sign_in", "portal_home"};

// Pieces several templates include ({{> _contact_fields}}); named with a leading _ so that they
// never hide a value of the page's data.
constexpr const char* kPartials[] = {"_contact_fields", "_appointment_summary"};

}  // namespace

core::StatusOr<std::unique_ptr<Templates>> Templates::Load(const std::string& dir) {
  auto t = std::unique_ptr<Templates>(new Templates());
  for (const char* name : kPartials) {
    const std::string path = fmt::format("{}/templates/{}.mustache", dir, name);
    std::ifstream in(path);
    if (!in) return core::Status::NotFound(fmt::format("{}: template not found (check web_root)", path));
    std::stringstream ss;
    ss << in.rdbuf();
    t->partials_[name] = ss.str();
  }
  for (const char* name : kRequired) {
    const std::string path = fmt::format("{}/templates/{}.mustache", dir, name);
    std::ifstream in(path);
    if (!in) return core::Status::NotFound(fmt::format("{}: template not found (check web_root)", path));
    std::stringstream ss;
    ss << in.rdbuf();
    mstch::mustache check{ss.str()};
    if (!check.is_valid()) {
      return core::Status::InvalidArgument(fmt::format("{}: {}", path, check.error_message()));
    }
    t->sources_[name] = ss.str();
  }
  return t;
}

std::string Templates::RenderPage(const std::string& name, const nlohmann::json& data) const {
  mstch::data d = ToData(data);
  for (const auto& [partial, text] : partials_) {
    d.set(partial, mstch::partial([&text = text]() { return text; }));
  }
  mstch::mustache page{sources_.at(name)};
  std::string content = page.render(d);
  d.set("content", content);
  mstch::mustache layout{sources_.at("layout")};
  return layout.render(d);
}

}  // namespace http
