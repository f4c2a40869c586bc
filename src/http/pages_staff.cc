// Staff accounts, for an agency's administrators: the agency's accounts with their roles, state
// and live sessions (/staff), a new account with a temporary password (/staff/new), and one
// account (/staff/{id}) with its roles, a temporary password, signing it out everywhere and
// switching it off or on. Calls accounts::AccountService, which checks the caller is an
// administrator of the account's agency and audits every change and refusal.

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "http/json_body.h"
#include "http/page_support.h"

namespace http {
namespace {

using authz::Role;
using nlohmann::json;
using page_support::Capitalised;
using page_support::Common;
using page_support::ErrorFor;
using page_support::FormValue;
using page_support::Render;
using page_support::T;
using page_support::Trim;
using Form = std::multimap<std::string, std::string>;

struct RoleText {
  Role role;
  const char* label;
  const char* hint;
};

// What each role does, as the form explains it (docs/staff.md, "Staff accounts").
constexpr RoleText kRoleTexts[] = {
    {Role::kFrontdesk, "Front desk", "Registers and finds clients, books appointments and serves visitors at a counter."},
    {Role::kCaseworker, "Caseworker", "Works with clients: their records, screenings, referrals, cases and applications."},
    {Role::kSpecialist, "Specialist", "A caseworker of a specialist team, which takes the work escalated to it."},
    {Role::kCoordinator, "Coordinator", "Leads the team around a client across agencies."},
    {Role::kManager, "Manager", "Runs the agency's teams: work queues, performance, sharing proposals and reviews of emergency access."},
    {Role::kGovernance, "Governance", "Decides on sharing agreements between agencies; does not open client records."},
    {Role::kAdmin, "Administrator", "Manages the agency's staff accounts, offices and API tokens; does not open client records."},
    {Role::kAuditor, "Auditor", "Reviews emergency accesses and the audit log; does not open client records."},
};

std::string RoleLabel(const PageDeps& deps, const Context& ctx, Role r) {
  for (const auto& t : kRoleTexts) {
    if (t.role == r) return T(deps, ctx, t.label);
  }
  return std::string(authz::RoleName(r));
}

std::string RoleList(const PageDeps& deps, const Context& ctx, const std::vector<Role>& roles) {
  std::string out;
  for (Role r : roles) out += (out.empty() ? "" : ", ") + RoleLabel(deps, ctx, r);
  return out;
}

json RoleChoices(const PageDeps& deps, const Context& ctx, const std::vector<Role>& chosen) {
  json out = json::array();
  for (const auto& t : kRoleTexts) {
    const std::string name(authz::RoleName(t.role));
    const bool checked = std::find(chosen.begin(), chosen.end(), t.role) != chosen.end();
    // The governance role is the deployment operator's to give and take (`onedoor user create`),
    // not an administrator's: it is not offered, and an account that has it keeps it.
    const bool fixed = t.role == Role::kGovernance;
    if (fixed && !checked) continue;
    out.push_back(
        {{"value", name},
         {"id", "role-" + name},
         {"label", T(deps, ctx, t.label)},
         {"hint",
          fixed ? T(deps, ctx, "Given and taken by the deployment's operator, not here: it stays")
                : T(deps, ctx, t.hint)},
         {"checked", checked},
         {"fixed", fixed}});
  }
  return out;
}

// The roles ticked on a form; an unknown value is left out (the choices are fixed).
std::vector<Role> RolesOf(const Form& form) {
  std::vector<Role> out;
  for (auto [it, end] = form.equal_range("roles"); it != end; ++it) {
    if (auto r = authz::ParseRole(it->second); r.ok()) out.push_back(*r);
  }
  return out;
}

std::string StateText(const PageDeps& deps, const Context& ctx, const accounts::User& u) {
  if (!u.active) return T(deps, ctx, "Switched off");
  if (u.password_expired) return T(deps, ctx, "Temporary password expired");
  if (u.password_change_required) return T(deps, ctx, "Temporary password");
  return T(deps, ctx, "Active");
}

std::string StateTag(const accounts::User& u) {
  if (!u.active) return "govuk-tag--grey";
  if (u.password_expired) return "govuk-tag--red";
  if (u.password_change_required) return "govuk-tag--yellow";
  return "govuk-tag--green";
}

std::string SessionsText(const PageDeps& deps, const Context& ctx, const accounts::User& u) {
  if (u.live_sessions == 0) return T(deps, ctx, "Not signed in");
  return T(deps, ctx,
           "{count, plural, one {Signed in on # browser} other {Signed in on # browsers}}, last used {when}",
           {{"count", std::to_string(u.live_sessions)}, {"when", page_support::RegionTime(deps, *u.last_seen_at)}});
}

// `errors` on the page: each message by its field, and the summary's links.
void AddErrors(const PageDeps& deps, const Context& ctx, json& d, const std::vector<core::FieldError>& errors) {
  json list = json::array();
  for (const auto& e : errors) {
    std::string field = e.field;
    if (field.rfind("roles", 0) == 0) field = "roles";
    // A message that is part of a sentence ("is required") is said with its field's name, as it
    // alone does not say which.
    static const std::map<std::string, std::string> kLabels = {{"display_name", "Full name"},
                                                               {"username", "Username"},
                                                               {"email", "Work e-mail address"},
                                                               {"password", "Temporary password"},
                                                               {"office", "Office"},
                                                               {"roles", "Roles"}};
    std::string message = T(deps, ctx, Capitalised(e.message));
    const bool fragment = e.message.rfind("is ", 0) == 0 || e.message.rfind("must ", 0) == 0;
    if (auto label = kLabels.find(field); fragment && label != kLabels.end()) {
      if (!message.empty() && message[0] >= 'A' && message[0] <= 'Z')
        message[0] = static_cast<char>(message[0] - 'A' + 'a');
      message = T(deps, ctx, label->second) + ": " + message;
    }
    if (!d.contains("e_" + field)) d["e_" + field] = message;
    list.push_back({{"message", message}, {"href", "#" + (field == "roles" ? std::string("role-frontdesk") : field)}});
  }
  d["errors"] = std::move(list);
  d["has_errors"] = !errors.empty();
}

core::StatusOr<std::vector<accounts::User>> AgencyStaff(const PageDeps& deps, const Context& ctx) {
  if (!ctx.Who().agency.valid()) return core::Status::PermissionDenied("only an administrator of an agency manages its staff");
  return deps.accounts.ListUsers(ctx.Who(), ctx.Who().agency);
}

Response ListPage(const PageDeps& deps, const Context& ctx, const std::string& flash) {
  auto users = AgencyStaff(deps, ctx);
  if (!users.ok()) return ErrorFor(deps, ctx, users.status());
  auto offices = deps.accounts.ListOffices(ctx.Who().agency);
  json d = Common(deps, ctx, "Staff accounts", "staff");
  json rows = json::array();
  for (const auto& u : *users) {
    std::string office;
    if (offices.ok()) {
      for (const auto& o : *offices) {
        if (o.id == u.office) office = o.name;
      }
    }
    rows.push_back({{"id", u.id.value},
                    {"href", fmt::format("/staff/{}", u.id.value)},
                    {"name", u.display_name},
                    {"username", u.username},
                    {"roles", RoleList(deps, ctx, u.roles)},
                    {"office", office},
                    {"state", StateText(deps, ctx, u)},
                    {"state_tag", StateTag(u)},
                    {"sessions", SessionsText(deps, ctx, u)}});
  }
  d["accounts"] = std::move(rows);
  if (!flash.empty()) d["flash"] = flash;
  return Render(deps, 200, "staff_accounts", d);
}

Response NewPage(const PageDeps& deps, const Context& ctx, int status, const Form& form,
                 const std::vector<core::FieldError>& errors) {
  // Only an administrator of the agency: the same check as the list, audited when refused.
  auto users = AgencyStaff(deps, ctx);
  if (!users.ok()) return ErrorFor(deps, ctx, users.status());
  json d = Common(deps, ctx, "New staff account", "staff");
  for (const char* f : {"display_name", "username", "email"}) d[std::string("f_") + f] = FormValue(form, f);
  d["roles"] = RoleChoices(deps, ctx, RolesOf(form));
  json offices = json::array({{{"value", ""}, {"label", T(deps, ctx, "No office")}, {"selected", false}}});
  if (auto list = deps.accounts.ListOffices(ctx.Who().agency); list.ok()) {
    for (const auto& o : *list) {
      const std::string v = std::to_string(o.id.value);
      offices.push_back({{"value", v}, {"label", o.name}, {"selected", FormValue(form, "office") == v}});
    }
  }
  d["offices"] = std::move(offices);
  AddErrors(deps, ctx, d, errors);
  return Render(deps, status, "staff_new", d);
}

Response AccountPage(const PageDeps& deps, const Context& ctx, int64_t id, int status, const std::string& flash,
                     const std::vector<core::FieldError>& errors, const std::string& problem,
                     const Form* details = nullptr) {
  auto users = AgencyStaff(deps, ctx);
  if (!users.ok()) return ErrorFor(deps, ctx, users.status());
  auto it = std::find_if(users->begin(), users->end(), [&](const accounts::User& u) { return u.id.value == id; });
  if (it == users->end()) {
    return ErrorFor(deps, ctx, core::Status::NotFound(fmt::format("no staff account of your agency has id {}", id)));
  }
  const accounts::User& u = *it;
  json d = Common(deps, ctx, u.display_name, "staff");
  std::string office;
  // The details form shows what was sent when it comes back with an error, else the account's.
  const std::string chosen_office = details != nullptr ? FormValue(*details, "office")
                                                       : (u.office.valid() ? std::to_string(u.office.value) : "");
  json offices = json::array({{{"value", ""}, {"label", T(deps, ctx, "No office")}, {"selected", chosen_office.empty()}}});
  if (auto list = deps.accounts.ListOffices(ctx.Who().agency); list.ok()) {
    for (const auto& o : *list) {
      if (o.id == u.office) office = o.name;
      const std::string v = std::to_string(o.id.value);
      offices.push_back({{"value", v}, {"label", o.name}, {"selected", chosen_office == v}});
    }
  }
  d["offices"] = std::move(offices);
  d["f_display_name"] = details != nullptr ? FormValue(*details, "display_name") : u.display_name;
  d["f_email"] = details != nullptr ? FormValue(*details, "email") : u.email;
  const std::string base = fmt::format("/staff/{}", u.id.value);
  d["account"] = {{"name", u.display_name},
                  {"username", u.username},
                  {"email", u.email},
                  {"has_email", !u.email.empty()},
                  {"office", office},
                  {"has_office", !office.empty()},
                  {"roles_text", RoleList(deps, ctx, u.roles)},
                  {"state", StateText(deps, ctx, u)},
                  {"state_tag", StateTag(u)},
                  {"sessions", SessionsText(deps, ctx, u)},
                  {"password_until", u.password_expires_at && !u.password_expired
                                         ? page_support::RegionTime(deps, *u.password_expires_at)
                                         : std::string()},
                  {"signed_in", u.live_sessions > 0},
                  {"active", u.active},
                  {"self", u.id == ctx.Who().user},
                  {"roles_href", base + "/roles"},
                  {"details_href", base + "/details"},
                  {"password_href", base + "/password"},
                  {"sign_out_href", base + "/sign-out"},
                  {"switch_href", base + (u.active ? "/switch-off" : "/switch-on")}};
  // A section shows for any string, an empty one too: no row without a temporary password.
  if (d["account"]["password_until"].get<std::string>().empty()) d["account"].erase("password_until");
  d["roles"] = RoleChoices(deps, ctx, u.roles);
  if (!flash.empty()) d["flash"] = flash;
  AddErrors(deps, ctx, d, errors);
  if (!problem.empty()) {
    d["has_errors"] = true;
    d["errors"].push_back({{"message", problem}, {"href", "#actions"}});
  }
  return Render(deps, status, "staff_account", d);
}

// The answer to a command on account `id`: back to its page with `done` said, or the page again
// with what was wrong.
Response AfterCommand(const PageDeps& deps, const Context& ctx, int64_t id, const core::Status& s, const std::string& done) {
  if (s.ok()) return Response::Redirect(fmt::format("/staff/{}?done={}", id, done));
  if (s.code() == core::StatusCode::kInvalidArgument) return AccountPage(deps, ctx, id, 400, "", s.fields(), "");
  if (s.code() == core::StatusCode::kFailedPrecondition) {
    return AccountPage(deps, ctx, id, 409, "", {}, T(deps, ctx, Capitalised(s.message())));
  }
  return ErrorFor(deps, ctx, s);
}

core::StatusOr<int64_t> AccountId(const Context& ctx) { return ParseId(ctx.Param("id"), "id"); }

}  // namespace

void AddStaffPages(Router& router, const PageDeps& deps) {
  router.Add({"GET", "/staff", Auth::kPage, "", [&deps](Context& ctx) {
                std::string flash;
                if (ctx.request.Query("created") == "1") flash = T(deps, ctx, "Account created");
                return ListPage(deps, ctx, flash);
              }});

  router.Add({"GET", "/staff/new", Auth::kPage, "", [&deps](Context& ctx) {
                return NewPage(deps, ctx, 200, {}, {});
              }});

  router.Add({"POST", "/staff", Auth::kPage, "", [&deps](Context& ctx) {
                const Form form = ParseForm(ctx.request.body);
                accounts::NewUser user;
                user.kind = accounts::AccountKind::kStaff;
                user.display_name = Trim(FormValue(form, "display_name"));
                user.username = Trim(FormValue(form, "username"));
                user.email = Trim(FormValue(form, "email"));
                user.password = FormValue(form, "password");
                user.agency = ctx.Who().agency;
                user.roles = RolesOf(form);
                user.temporary_password = true;
                if (const std::string office = FormValue(form, "office"); !office.empty()) {
                  auto parsed = ParseId(office, "office");
                  if (!parsed.ok()) return NewPage(deps, ctx, 400, form, {{"office", "choose one of the agency's offices"}});
                  user.office = core::OfficeId{*parsed};
                }
                auto made = deps.accounts.CreateUser(ctx.Who(), user);
                if (made.status().code() == core::StatusCode::kInvalidArgument) {
                  return NewPage(deps, ctx, 400, form, made.status().fields());
                }
                if (made.status().code() == core::StatusCode::kAlreadyExists) {
                  return NewPage(deps, ctx, 409, form, {{"username", "that username is taken: choose another"}});
                }
                if (!made.ok()) return ErrorFor(deps, ctx, made.status());
                return Response::Redirect(fmt::format("/staff/{}?done=created", made->id.value));
              }});

  router.Add({"GET", "/staff/{id}", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = AccountId(ctx);
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                static const std::map<std::string, std::string> kDone = {
                    {"created", "Account created. Give its username and temporary password to its owner, who "
                                "chooses their own at the first sign-in"},
                    {"roles", "Roles saved"},
                    {"details", "Details saved"},
                    {"password", "Temporary password set, and the account signed out everywhere"},
                    {"signed-out", "The account is signed out everywhere"},
                    {"switched-off", "The account is switched off and signed out everywhere"},
                    {"switched-on", "The account is switched on"}};
                std::string flash;
                if (auto it = kDone.find(ctx.request.Query("done")); it != kDone.end()) flash = T(deps, ctx, it->second);
                return AccountPage(deps, ctx, *id, 200, flash, {}, "");
              }});

  router.Add({"POST", "/staff/{id}/roles", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = AccountId(ctx);
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                const Form form = ParseForm(ctx.request.body);
                return AfterCommand(deps, ctx, *id, deps.accounts.SetRoles(ctx.Who(), core::UserId{*id}, RolesOf(form)),
                                    "roles");
              }});

  router.Add({"POST", "/staff/{id}/details", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = AccountId(ctx);
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                const Form form = ParseForm(ctx.request.body);
                core::OfficeId office_id;
                if (const std::string office = FormValue(form, "office"); !office.empty()) {
                  auto parsed = ParseId(office, "office");
                  if (!parsed.ok()) {
                    return AccountPage(deps, ctx, *id, 400, "", {{"office", "choose one of the agency's offices"}}, "",
                                       &form);
                  }
                  office_id = core::OfficeId{*parsed};
                }
                core::Status s = deps.accounts.SetStaffDetails(ctx.Who(), core::UserId{*id},
                                                               Trim(FormValue(form, "display_name")),
                                                               Trim(FormValue(form, "email")), office_id);
                if (s.code() == core::StatusCode::kInvalidArgument) {
                  return AccountPage(deps, ctx, *id, 400, "", s.fields(), "", &form);
                }
                return AfterCommand(deps, ctx, *id, s, "details");
              }});

  router.Add({"POST", "/staff/{id}/password", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = AccountId(ctx);
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                const Form form = ParseForm(ctx.request.body);
                return AfterCommand(deps, ctx, *id,
                                    deps.accounts.SetTemporaryPassword(ctx.Who(), core::UserId{*id},
                                                                      FormValue(form, "password")),
                                    "password");
              }});

  router.Add({"POST", "/staff/{id}/sign-out", Auth::kPage, "", [&deps](Context& ctx) {
                auto id = AccountId(ctx);
                if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                return AfterCommand(deps, ctx, *id, deps.accounts.EndUserSessions(ctx.Who(), core::UserId{*id}).status(),
                                    "signed-out");
              }});

  for (const bool on : {false, true}) {
    router.Add({"POST", on ? "/staff/{id}/switch-on" : "/staff/{id}/switch-off", Auth::kPage, "",
                [&deps, on](Context& ctx) {
                  auto id = AccountId(ctx);
                  if (!id.ok()) return ErrorFor(deps, ctx, id.status());
                  return AfterCommand(deps, ctx, *id, deps.accounts.SetUserActive(ctx.Who(), core::UserId{*id}, on),
                                      on ? "switched-on" : "switched-off");
                }});
  }
}

namespace page_support {
std::string RoleLabel(const PageDeps& deps, const Context& ctx, authz::Role role) {
  return http::RoleLabel(deps, ctx, role);
}
}  // namespace page_support

}  // namespace http
