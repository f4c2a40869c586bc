#include "http/templates.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <kainjow/mustache.hpp>
#include <nlohmann/json.hpp>

#include "i18n/messages.h"

namespace http {
namespace {

namespace mstch = kainjow::mustache;

// Builds each value once in place: kainjow's set() and push_back() copy the whole value given
// them, so values are moved into the containers instead (the containers themselves are not
// const; only their accessors are).
mstch::data ToData(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::object: {
      mstch::data d{mstch::data::type::object};
      for (auto it = j.begin(); it != j.end(); ++it) {
        d.set(it.key(), mstch::data{false});
        *const_cast<mstch::data*>(d.get(it.key())) = ToData(it.value());
      }
      return d;
    }
    case nlohmann::json::value_t::array: {
      mstch::data d{mstch::data::type::list};
      // Reserved first: the vector would copy (not move) its items when it grows.
      auto& list = const_cast<mstch::basic_list<std::string>&>(d.list_value());
      list.reserve(j.size());
      for (const auto& item : j) list.push_back(ToData(item));
      return d;
    }
    case nlohmann::json::value_t::string: return mstch::data{j.get_ref<const std::string&>()};
    case nlohmann::json::value_t::boolean:
      return j.get<bool>() ? mstch::data{mstch::data::type::bool_true} : mstch::data{mstch::data::type::bool_false};
    case nlohmann::json::value_t::null: return mstch::data{mstch::data::type::bool_false};
    default: return mstch::data{j.dump()};
  }
}

constexpr const char* kRequired[] = {"layout",
                                     "login",
                                     "clients_search",
                                     "client_form",
                                     "client_view",
                                     "client_history",
                                     "client_timeline",
                                     "household_view",
                                     "household_start",
                                     "household_end",
                                     "household_remove",
                                     "error",
                                     "home",
                                     "reviews",
                                     "review",
                                     "screening",
                                     "agreements_register",
                                     "agreements_governance",
                                     "agreement_form",
                                     "client_refused",
                                     "break_glass",
                                     "audit_log",
                                     "consent_receipt",
                                     "consent_form",
                                     "referrals",
                                     "referral_form",
                                     "referral_view",
                                     "cases",
                                     "case_form",
                                     "case_view",
                                     "applications",
                                     "application_view",
                                     "work",
                                     "teams",
                                     "directory",
                                     "directory_service",
                                     "life_events",
                                     "life_event",
                                     "contacts",
                                     "contact_form",
                                     "contact_recorded",
                                     "feedback",
                                     "feedback_thanks",
                                     "queue_display",
                                     "queue_kiosk",
                                     "queue_ticket",
                                     "queue_desk",
                                     "offices",
                                     "office",
                                     "office_appointments",
                                     "appointment_book",
                                     "appointment_booked",
                                     "appointment_online",
                                     "appointment_manage",
                                     "performance",
                                     "scorecard",
                                     "outcomes",
                                     "agency_outcomes",
                                     "diagnostics",
                                     "diagnostic_form",
                                     "diagnostic_view",
                                     "diagnostic_compare",
                                     "portal_sign_up",
                                     "portal_check_email",
                                     "portal_verified",
                                     "portal_sign_in",
                                     "portal_home",
                                     "portal_forgotten",
                                     "portal_reset",
                                     "portal_check",
                                     "portal_results",
                                     "portal_applications",
                                     "portal_application",
                                     "portal_appointments",
                                     "portal_oidc_problem",
                                     "portal_find_record",
                                     "portal_links",
                                     "portal_link_review",
                                     "portal_consent_form",
                                     "account_password",
                                     "account_sessions",
                                     "staff_accounts",
                                     "staff_new",
                                     "staff_account",
                                     "tokens",
                                     "token_new",
                                     "token_issued",
                                     "token_limit"};

// Pieces several templates include ({{> _contact_fields}}); named with a leading _ so that they
// never hide a value of the page's data.
constexpr const char* kPartials[] = {"_contact_fields", "_appointment_summary", "_answer_field", "_oidc_buttons",
                                    "_staff_roles"};

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
  auto messages = i18n::Messages::Load(dir + "/locales");
  if (!messages.ok()) return messages.status();
  t->messages_ = std::move(*messages);
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

// A parsed template, taken from the pool of `name` or parsed now, and given back after use: a
// parsed template is not shared by two threads at once.
class Templates::Lease {
 public:
  Lease(const Templates& t, const std::string& name) : t_(t), name_(name) {
    {
      std::lock_guard lock(t_.pool_mutex_);
      auto& free = t_.pool_[name_];
      if (!free.empty()) {
        parsed_ = std::move(free.back());
        free.pop_back();
      }
    }
    if (!parsed_) parsed_ = std::make_unique<mstch::mustache>(t_.sources_.at(name_));
  }
  ~Lease() {
    std::lock_guard lock(t_.pool_mutex_);
    t_.pool_[name_].push_back(std::move(parsed_));
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  mstch::mustache& operator*() { return *parsed_; }

 private:
  const Templates& t_;
  const std::string& name_;
  std::unique_ptr<mstch::mustache> parsed_;
};

Templates::~Templates() = default;

std::string Templates::RenderPage(const std::string& name, const nlohmann::json& data) const {
  mstch::data d = ToData(data);
  for (const auto& [partial, text] : partials_) {
    d.set(partial, mstch::partial([&text = text]() { return text; }));
  }
  // {{#t}}Hello {name}{{/t}}: the message in the page's language; each argument is the page
  // value of that name as it stands where the message is (raw, then the whole text escaped).
  std::string lang = "en";
  if (const auto it = data.find("lang"); it != data.end() && it->is_string()) lang = it->get<std::string>();
  d.set("t", mstch::lambda2([this, lang](const std::string& text, const mstch::renderer& render) {
          const std::string message = i18n::Collapse(text);
          std::map<std::string, std::string> args;
          if (message.find('{') != std::string::npos) {
            auto names = i18n::ArgumentNames(message);
            if (names.ok()) {
              for (const auto& n : *names) args[n] = render("{{{" + n + "}}}");
            }
          }
          return mstch::html_escape<std::string>(messages_->Format(lang, message, args));
        }));
  std::string content;
  {
    Lease page(*this, name);
    content = (*page).render(d);
  }
  d.set("content", mstch::data{false});
  *const_cast<mstch::data*>(d.get("content")) = mstch::data{std::move(content)};
  static const std::string kLayout = "layout";
  Lease layout(*this, kLayout);
  return (*layout).render(d);
}

}  // namespace http
