#include "app/demo_data.h"

#include <algorithm>
#include <optional>
#include <random>
#include <string_view>
#include <tuple>

#include <fmt/format.h>

#include "app/directory_commands.h"
#include "identity/registry_linker.h"

#include <set>

namespace app {
namespace {

struct DemoAgency {
  const char* code;
  const char* name;
  accounts::AgencyKind kind;
  const char* office;
  const char* address;
  const char* suffix;
};

constexpr DemoAgency kAgencies[] = {
    {"city-social", "City Social Services Department", accounts::AgencyKind::kGovernment, "Riverside One-Stop Centre",
     "12 Market Street, Riverside", "city"},
    {"state-benefits", "State Benefits Agency", accounts::AgencyKind::kGovernment, "Central Benefits Office",
     "1 Parliament Way, Capital City", "state"},
    {"health-authority", "Regional Health Authority", accounts::AgencyKind::kGovernment, "Northside Health Hub",
     "80 Hospital Road, Northside", "health"},
    {"harbour-trust", "Harbour Community Trust", accounts::AgencyKind::kNonprofit, "Harbour Drop-in Centre",
     "5 Quay Lane, Harbourside", "ngo"},
};

struct DemoUser {
  const char* username;
  const char* display;
  int agency;
  std::vector<authz::Role> roles;
};

const std::vector<DemoUser>& Users() {
  using authz::Role;
  static const auto* users = new std::vector<DemoUser>{
      {"admin.city", "Alex Admin", 0, {Role::kAdmin}},
      {"frontdesk.city", "Farah Desk", 0, {Role::kFrontdesk}},
      {"caseworker.city", "Casey Worker", 0, {Role::kCaseworker}},
      {"coordinator.city", "Cora Ordinator", 0, {Role::kCoordinator}},
      {"manager.city", "Mina Manager", 0, {Role::kManager}},
      {"auditor.city", "Audra Auditor", 0, {Role::kAuditor}},
      {"caseworker.state", "Sam Benefits", 1, {Role::kCaseworker}},
      {"specialist.state", "Sigrid Special", 1, {Role::kSpecialist}},
      {"frontdesk.state", "Theo Counter", 1, {Role::kFrontdesk}},
      {"admin.state", "Ada State", 1, {Role::kAdmin}},
      {"manager.state", "Stan Manager", 1, {Role::kManager}},
      {"caseworker.health", "Hana Nurse", 2, {Role::kCaseworker}},
      {"governance.health", "Gus Governance", 2, {Role::kGovernance}},
      {"governance.city", "Greta Governance", 0, {Role::kGovernance}},
      {"caseworker.ngo", "Nia Volunteer", 3, {Role::kCaseworker}},
      {"coordinator.ngo", "Omar Coordinator", 3, {Role::kCoordinator}},
  };
  return *users;
}

constexpr const char* kGiven[] = {"Amara", "Liam",  "Mei",    "Oliver", "Aisha",  "Noah",   "Sofia", "Mateo",
                                  "Priya", "Jack",  "Zara",   "Ethan",  "Leila",  "Lucas",  "Hana",  "Tomás",
                                  "Grace", "Arjun", "Chloe",  "Kofi",   "Isla",   "Yusuf",  "Emma",  "Wiremu",
                                  "Ava",   "Sione", "Olivia", "Dmitri", "Fatima", "Samuel", "Ngaio", "Chen"};
constexpr const char* kFamily[] = {"Okonkwo", "Smith",  "Nguyen",   "Patel",   "O'Brien", "García", "Kowalski",
                                   "Tanaka",  "Haddad", "Williams", "Te Rangi", "Brown",   "Müller", "Rossi",
                                   "Ivanova", "Singh",  "Mensah",   "Jones",   "Fernández", "Kim",  "Ahmed",
                                   "Taylor",  "Lee",    "Tupou",    "Walker",  "Hughes",  "Cohen",  "Ward"};
constexpr const char* kStreets[] = {"Market Street", "Harbour Road", "Elm Avenue", "Station Lane",
                                    "Hillcrest Drive", "Mill Road",   "Park Terrace", "Quay Lane"};
constexpr const char* kTowns[] = {"Riverside", "Northside", "Harbourside", "Capital City", "Eastvale"};
constexpr const char* kLanguages[] = {"en", "en", "en", "mi", "zh", "ar", "es", "pl", "hi", "to"};

// A sharing agreement of the demo consortium and who decided it.
struct DemoAgreement {
  const char* receiving;  // agency code
  const char* category;
  authz::Purpose purpose;
  const char* legal_basis;
  const char* description;
  core::Date valid_from;
  std::optional<core::Date> valid_to;
  std::vector<const char*> approvers;  // governance usernames, in order; none: left pending
  const char* refused_by = nullptr;
  const char* reason = "";
  // Who proposed it: a manager of the receiving agency or a governance user. Nobody approves
  // what they proposed, nor an agreement for their own agency to receive data.
  const char* proposer = "governance.health";
};

const std::vector<DemoAgreement>& Agreements() {
  using authz::Purpose;
  // clang-format off
  static auto* agreements = new std::vector<DemoAgreement>{
      {"city-social", "contact", Purpose::kServiceDelivery,
       "GDPR art. 6(1)(e); Social Services Act s.12 (duty of partner agencies to cooperate)",
       "To reach clients referred by partner agencies, and to keep their addresses and phone numbers current.",
       {2025, 1, 1}, std::nullopt, {"governance.health"}, nullptr, "", "manager.city"},
      {"state-benefits", "income", Purpose::kEligibility,
       "GDPR art. 6(1)(c); Social Security Act s.45 (verification of means)",
       "To check the income a household declares when it is screened and when a claim is decided.",
       {2025, 4, 1}, std::nullopt, {"governance.health", "governance.city"}, nullptr, "", "manager.state"},
      {"harbour-trust", "needs", Purpose::kServiceDelivery, "consent",
       "To book interpreters and arrange accessible appointments at the Harbour drop-in centre.",
       {2026, 1, 1}, core::Date{2027, 12, 31}, {"governance.city"}},
      {"harbour-trust", "health", Purpose::kCaseWork, "GDPR art. 9(2)(h); Community Care Act s.4",
       "To take a client's health into account in the trust's support plans.", {2026, 1, 1}, std::nullopt, {},
       "governance.health",
       "The trust's support plans do not need health records; a referral with the person's consent gives what is "
       "needed.",
       "governance.city"},
      {"health-authority", "household", Purpose::kCaseWork,
       "GDPR art. 6(1)(e) and 9(2)(h); Health and Care Act s.82 (cooperation with social services)",
       "To plan hospital discharge and home care with the people the patient lives with.", {2026, 1, 1},
       std::nullopt, {}},
  };
  // clang-format on
  static const bool consortium = [] {
    // The consortium's common ground: every partner may recognise a person who comes to any of
    // its doors (identity, at the front desk and in service delivery) and reach them (contact).
    for (const DemoAgency& a : kAgencies) {
      for (auto [category, purpose, description] :
           {std::tuple{"identity", Purpose::kFrontDesk,
                       "To recognise a person who comes to any door of the consortium and not register them twice."},
            std::tuple{"identity", Purpose::kServiceDelivery,
                       "To know whom a referral, an application or a case is about."},
            std::tuple{"contact", Purpose::kServiceDelivery,
                       "To reach clients referred by partner agencies, and to keep their addresses and phone numbers "
                       "current."}}) {
        bool exists = false;
        for (const auto& d : *agreements) {
          exists = exists || (std::string_view(d.receiving) == a.code && std::string_view(d.category) == category &&
                              d.purpose == purpose);
        }
        if (exists) continue;
        // Proposed and approved by the two governance users, neither for their own agency.
        const bool city = std::string_view(a.code) == kAgencies[0].code;
        agreements->push_back(
            {a.code,
             category,
             purpose,
             "GDPR art. 6(1)(e); Consortium Partnership Agreement s.3 (one front door)",
             description,
             {2025, 1, 1},
             std::nullopt,
             {city ? "governance.health" : "governance.city"},
             nullptr,
             "",
             city ? "governance.city" : "governance.health"});
      }
    }
    return true;
  }();
  (void)consortium;
  return *agreements;
}

// A staff principal for demo user `username`, as if signed in.
core::StatusOr<authz::Principal> DemoStaff(App& app, const std::string& username) {
  const authz::Principal system = accounts::AccountService::SystemPrincipal("demo-data");
  ASSIGN_OR_RETURN(auto agencies, app.accounts().ListAgencies());
  for (const auto& agency : agencies) {
    ASSIGN_OR_RETURN(auto users, app.accounts().ListUsers(system, agency.id));
    for (const auto& u : users) {
      if (u.username != username) continue;
      authz::Principal p;
      p.kind = authz::PrincipalKind::kStaff;
      p.user = u.id;
      p.agency = u.agency;
      p.name = u.username;
      p.roles = u.roles;
      p.purpose = authz::Purpose::kAdministration;
      return p;
    }
  }
  return core::Status::NotFound(fmt::format("the demo user {} does not exist", username));
}

// The demo sharing agreements, proposed and decided through the service (so audited, with
// events). Does nothing if any agreement exists; adds governance.city and manager.state to a
// demo database loaded before they existed.
struct DemoSharing {
  int agreements = 0;  // 0 when they were there already
  int approved = 0;
  int pending = 0;
  std::string Describe() const {
    return fmt::format("{} sharing agreements ({} approved, {} waiting for a decision)", agreements, approved, pending);
  }
};

core::StatusOr<DemoSharing> LoadDemoAgreements(App& app) {
  DemoSharing out;
  sharing::AgreementQuery any;
  any.limit = 1;
  ASSIGN_OR_RETURN(auto existing, app.agreements().List(any));
  if (!existing.empty()) return out;
  // Users who decide or propose agreements and came after the first demo databases.
  for (const DemoUser& u : Users()) {
    if (std::string_view(u.username) != "governance.city" &&
        std::string_view(u.username) != "manager.state")
      continue;
    if (DemoStaff(app, u.username).ok()) continue;
    ASSIGN_OR_RETURN(auto agency, app.accounts().FindAgencyByCode(kAgencies[u.agency].code));
    ASSIGN_OR_RETURN(auto offices, app.accounts().ListOffices(agency.id));
    accounts::NewUser nu;
    nu.username = u.username;
    nu.display_name = u.display;
    nu.email = std::string(u.username) + "@demo.onedoor.example";
    nu.password = kDemoPassword;
    nu.agency = agency.id;
    if (!offices.empty()) nu.office = offices.front().id;
    nu.roles = u.roles;
    RETURN_IF_ERROR(app.accounts().CreateUser(accounts::AccountService::SystemPrincipal("demo-data"), nu).status());
  }
  for (const auto& d : Agreements()) {
    ASSIGN_OR_RETURN(authz::Principal proposer, DemoStaff(app, d.proposer));
    ASSIGN_OR_RETURN(auto receiving, app.accounts().FindAgencyByCode(d.receiving));
    sharing::Proposal p;
    p.receiving_agency = receiving.id;
    p.category = d.category;
    p.purpose = d.purpose;
    p.legal_basis = d.legal_basis;
    p.description = d.description;
    p.valid_from = d.valid_from;
    p.valid_to = d.valid_to;
    ASSIGN_OR_RETURN(auto a, app.agreements().Propose(proposer, p));
    for (const char* approver : d.approvers) {
      ASSIGN_OR_RETURN(authz::Principal who, DemoStaff(app, approver));
      ASSIGN_OR_RETURN(a, app.agreements().Decide(who, a.id, sharing::AgreementDecision::kApprove, ""));
    }
    if (d.refused_by != nullptr) {
      ASSIGN_OR_RETURN(authz::Principal who, DemoStaff(app, d.refused_by));
      ASSIGN_OR_RETURN(a, app.agreements().Decide(who, a.id, sharing::AgreementDecision::kRefuse, d.reason));
    }
    ++out.agreements;
    out.approved += a.state == sharing::AgreementState::kApproved;
    out.pending += a.state == sharing::AgreementState::kProposed;
  }
  return out;
}

}  // namespace

// Each agency's two teams: the front line (caseworkers and the front desk) and the
// specialists (specialists and coordinators; caseworkers where an agency has neither).
// Does nothing once any team exists.
core::Status LoadDemoTeams(App& app) {
  return app.db().Write([&](storage::Transaction& tx) -> core::Status {
    ASSIGN_OR_RETURN(storage::Rows any, tx.Query("SELECT COUNT(*) FROM teams"));
    if (any.at(0).Int(0) > 0) return core::Status::Ok();
    ASSIGN_OR_RETURN(storage::Rows agencies, tx.Query("SELECT id FROM agencies ORDER BY id"));
    for (const auto& a : agencies) {
      const int64_t agency = a.Int(0);
      int64_t teams[2] = {0, 0};
      const char* names[2] = {"Front line", "Specialists"};
      const char* tiers[2] = {"front_line", "specialist"};
      for (int t = 0; t < 2; ++t) {
        ASSIGN_OR_RETURN(storage::Rows made, tx.Query("INSERT INTO teams (agency_id, name, tier, skills, created_at) "
                                                      "VALUES (?, ?, ?, '', 0) RETURNING id",
                                                      {agency, std::string(names[t]), std::string(tiers[t])}));
        teams[t] = made.at(0).Int(0);
      }
      ASSIGN_OR_RETURN(storage::Rows staff, tx.Query("SELECT u.id, u.username, r.role FROM users u JOIN user_roles r ON "
                                                     "r.user_id = u.id WHERE u.agency_id = ? ORDER BY u.id",
                                                     {agency}));
      bool has_specialist = false;
      for (const auto& s : staff) has_specialist = has_specialist || s.Text(2) == "specialist" || s.Text(2) == "coordinator";
      std::set<std::pair<int64_t, int64_t>> added;
      for (const auto& s : staff) {
        const std::string role = s.Text(2);
        std::vector<int64_t> into;
        if (role == "caseworker" || role == "frontdesk") into.push_back(teams[0]);
        if (role == "specialist" || role == "coordinator" || (role == "caseworker" && !has_specialist)) {
          into.push_back(teams[1]);
        }
        for (int64_t team : into) {
          if (!added.insert({team, s.Int(0)}).second) continue;
          RETURN_IF_ERROR(tx.Execute("INSERT INTO team_members (team_id, user_id, username) VALUES (?, ?, ?)",
                                     {team, s.Int(0), s.Text(1)})
                              .status());
        }
      }
    }
    return core::Status::Ok();
  });
}

// The queues and counters of each agency's first office: at the city's one-stop centre, three
// queues and three counters; elsewhere one queue and one counter. Does nothing once any exists.
constexpr char kDemoRegistrationService[] = "866a3fa4-e928-51bd-b188-d2bdf0b56f9e";

core::Status LoadDemoQueues(App& app) {
  std::vector<std::pair<int64_t, int64_t>> offices;  // office, agency
  bool has_registration = false;                      // the demo directory is loaded
  RETURN_IF_ERROR(app.db().Read([&](storage::Transaction& tx) -> core::Status {
    ASSIGN_OR_RETURN(storage::Rows any, tx.Query("SELECT COUNT(*) FROM queues"));
    if (any.at(0).Int(0) > 0) return core::Status::Ok();
    ASSIGN_OR_RETURN(storage::Rows service, tx.Query("SELECT COUNT(*) FROM directory_records WHERE tbl = 'service' "
                                                     "AND id = ?",
                                                     {std::string(kDemoRegistrationService)}));
    has_registration = service.at(0).Int(0) > 0;
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT MIN(id), agency_id FROM offices GROUP BY agency_id ORDER BY agency_id"));
    for (const auto& r : rows) offices.push_back({r.Int(0), r.Int(1)});
    return core::Status::Ok();
  }));
  for (const auto& [office, agency] : offices) {
    authz::Principal manager = accounts::AccountService::SystemPrincipal("demo-data");
    manager.agency = core::AgencyId{agency};
    manager.roles = {authz::Role::kManager};
    const bool city = agency == offices.front().second;
    std::vector<int64_t> ids;
    const std::vector<std::pair<const char*, const char*>> queues =
        city ? std::vector<std::pair<const char*, const char*>>{{"A", "Benefits and money"}, {"B", "Housing"},
                                                                {"C", "Registrations and documents"}}
             : std::vector<std::pair<const char*, const char*>>{{"A", "General enquiries"}};
    for (const auto& [code, name] : queues) {
      // Registrations serve the directory's "Registering a birth or a death", bookable online.
      const std::string service =
          city && has_registration && std::string_view(code) == "C" ? kDemoRegistrationService : "";
      ASSIGN_OR_RETURN(auto q, app.queues().CreateQueue(manager, office, code, name, service));
      ids.push_back(q.id);
    }
    if (city) {
      RETURN_IF_ERROR(app.queues().CreateCounter(manager, office, "Counter 1", {ids[0], ids[1]}).status());
      RETURN_IF_ERROR(app.queues().CreateCounter(manager, office, "Counter 2", {ids[0], ids[2]}).status());
      RETURN_IF_ERROR(app.queues().CreateCounter(manager, office, "Counter 3", ids).status());
    } else {
      RETURN_IF_ERROR(app.queues().CreateCounter(manager, office, "Counter 1", ids).status());
    }
    if (city) {
      // The one-stop centre keeps no hours, so that its kiosk works whenever the demo is tried;
      // registrations and documents are by appointment too, in slots on the next five weekdays,
      // 09:00 to 12:00 local time.
      auto today = frontoffice::ToLocal(app.clock().Now(), app.office_hours().default_zone());
      if (!today.ok()) return today.status();
      int opened = 0;
      for (int64_t day = today->date.ToDays() + 1; opened < 5; ++day) {
        const core::Date date = core::Date::FromDays(day);
        if (frontoffice::Weekday(date) > 5) continue;
        ASSIGN_OR_RETURN(core::Timestamp first, frontoffice::FromLocal(date, 9 * 60, app.office_hours().default_zone()));
        RETURN_IF_ERROR(app.appointments().CreateSlots(manager, ids[2], {first, 12, 15, 1}).status());
        ++opened;
      }
    } else {
      // Elsewhere, office hours: weekdays and Saturday morning, closed on public holidays.
      frontoffice::HoursChange hours;
      for (int d = 1; d <= 5; ++d) hours.periods.push_back({d, 9 * 60, 17 * 60});
      hours.periods.push_back({6, 9 * 60, 12 * 60});
      const int year = app.clock().Now().UtcDate().year;
      for (int y : {year, year + 1}) {
        hours.closures.push_back({core::Date{y, 1, 1}, "New Year's Day"});
        hours.closures.push_back({core::Date{y, 12, 25}, "Christmas Day"});
      }
      std::sort(hours.closures.begin(), hours.closures.end(),
                [](const auto& a, const auto& b) { return a.date < b.date; });
      RETURN_IF_ERROR(app.office_hours().Set(manager, office, hours).status());
    }
  }
  return core::Status::Ok();
}

// The demo service directory (demo/directory.json, HSDS): every demo agency's services and a few
// community organisations'. Importing it again changes nothing.
core::StatusOr<int64_t> LoadDemoDirectory(App& app) {
  directory::Dataset data;
  RETURN_IF_ERROR(ReadDirectoryFiles(ONEDOOR_DEMO_DIRECTORY, "", data));
  ASSIGN_OR_RETURN(auto report, app.service_directory().Import(
                                    accounts::AccountService::SystemPrincipal("demo-data"), data, false));
  return report.added + report.changed;
}


// The consortium's outcomes with their indicators and the agencies' programs and services mapped
// to them, and an initiative assessed twice with the integration diagnostic. Does nothing once
// any outcome exists.
core::Status LoadDemoOutcomes(App& app) {
  bool any = false;
  RETURN_IF_ERROR(app.db().Read([&](storage::Transaction& tx) -> core::Status {
    ASSIGN_OR_RETURN(storage::Rows rows, tx.Query("SELECT COUNT(*) FROM outcomes"));
    any = rows.at(0).Int(0) > 0;
    return core::Status::Ok();
  }));
  if (any) return core::Status::Ok();
  ASSIGN_OR_RETURN(authz::Principal governance, DemoStaff(app, "governance.city"));
  auto& outcomes = app.outcomes();
  auto agency = [&](const char* code) -> core::StatusOr<core::AgencyId> {
    ASSIGN_OR_RETURN(auto a, app.accounts().FindAgencyByCode(code));
    return a.id;
  };
  struct Map {
    const char* agency;
    const char* kind;
    const char* ref;
    const char* how;
  };
  struct DemoOutcome {
    const char* name;
    const char* description;
    std::vector<metrics::NewIndicator> indicators;
    std::vector<Map> work;
  };
  const std::vector<DemoOutcome> demo = {
      {"People are helped at their first contact",
       "Whatever door people come through, they are asked once and most leave with their matter settled.",
       {{"first_contact_resolution_percent", 0, "at_least", 70},
        {"waited_within_percent", 20, "at_least", 90},
        {"satisfied_percent", 0, "at_least", 90}},
       {{"city-social", "service", kDemoRegistrationService, "Births and deaths registered at the one-stop centre in one visit"},
        {"harbour-trust", "program", "harbour_food_card", "The food card is issued at the drop-in the day people ask"}}},
      {"Households have enough to live on",
       "Everyone gets the income support they are entitled to, on time, without having to ask twice.",
       {{"decided_in_time_percent", 0, "at_least", 95}},
       {{"state-benefits", "program", "snap", "Food assistance decided within the statutory clock"},
        {"city-social", "program", "winter_fuel_grant", "A grant towards heating for older and disabled people and young children"},
        {"harbour-trust", "program", "harbour_food_card", "Food for households waiting for a decision"}}},
      {"Families with complex needs get one coordinated response",
       "One plan and one lead professional for families who need several agencies at once.",
       {{"referrals_answered_in_time_percent", 0, "at_least", 95}, {"referrals_accepted_percent", 0, "at_least", 80}},
       {{"health-authority", "program", "medicaid_adult", "Health cover for parents, so that health needs are met within the plan"}}},
  };
  for (const auto& d : demo) {
    ASSIGN_OR_RETURN(metrics::Outcome o, outcomes.AddOutcome(governance, d.name, d.description));
    for (const auto& i : d.indicators) RETURN_IF_ERROR(outcomes.AddIndicator(governance, o.id, i).status());
    for (const auto& w : d.work) {
      auto id = agency(w.agency);
      if (!id.ok()) continue;  // an agency the demo consortium does not have
      auto added = outcomes.AddContribution(governance, o.id, {*id, w.kind, w.ref, w.how});
      // A program the loaded rules do not have, or a service missing from the directory.
      if (!added.ok() && added.status().code() != core::StatusCode::kInvalidArgument) return added.status();
    }
  }
  // The same initiative assessed at the first workshop and again later.
  metrics::DiagnosticAnswers first;
  first.complexity = {{"range", 4}, {"frequency", 4}, {"nature", 4}, {"expertise", 3}};
  for (const auto& st : metrics::ChangeStatements()) {
    first.ratings[st.key] = st.challenge ? (st.area == "information" || st.area == "governance" ? 4 : 3) : 2;
  }
  RETURN_IF_ERROR(app.diagnostics()
                      .Save(governance, "Families with complex needs, Riverside",
                            "First workshop of the city, the state benefits agency, the health authority and the "
                            "Harbour trust.",
                            first)
                      .status());
  metrics::DiagnosticAnswers later = first;
  for (const auto& st : metrics::ChangeStatements()) later.ratings[st.key] = st.challenge ? 3 : 3;
  later.ratings["governance.leaders"] = 4;
  RETURN_IF_ERROR(app.diagnostics()
                      .Save(governance, "Families with complex needs, Riverside",
                            "After the sharing agreements and the joint board were in place.", later)
                      .status());
  return core::Status::Ok();
}

core::StatusOr<std::string> LoadDemoData(App& app, int people) {
  auto& accounts = app.accounts();
  if (accounts.FindAgencyByCode(kAgencies[0].code).ok()) {
    ASSIGN_OR_RETURN(DemoSharing sharing, LoadDemoAgreements(app));
    RETURN_IF_ERROR(LoadDemoTeams(app));
    ASSIGN_OR_RETURN(int64_t directory_rows, LoadDemoDirectory(app));
    RETURN_IF_ERROR(LoadDemoQueues(app));
    RETURN_IF_ERROR(LoadDemoOutcomes(app));
    std::string added = sharing.agreements == 0 ? "" : sharing.Describe();
    if (directory_rows > 0) added += (added.empty() ? "" : ", ") + fmt::format("{} rows of the service directory", directory_rows);
    if (added.empty()) return std::string("demo data already loaded; nothing changed");
    return "demo data already loaded; added " + added;
  }
  const authz::Principal system = accounts::AccountService::SystemPrincipal("demo-data");
  std::vector<accounts::Agency> agencies;
  std::vector<accounts::Office> offices;
  for (const auto& a : kAgencies) {
    ASSIGN_OR_RETURN(auto agency, accounts.CreateAgency(system, {{}, a.code, a.name, a.kind}));
    ASSIGN_OR_RETURN(auto office, accounts.CreateOffice(system, {{}, agency.id, a.office, a.address}));
    agencies.push_back(agency);
    offices.push_back(office);
  }
  for (const auto& u : Users()) {
    accounts::NewUser nu;
    nu.username = u.username;
    nu.display_name = u.display;
    nu.email = std::string(u.username) + "@demo.onedoor.example";
    nu.password = kDemoPassword;
    nu.agency = agencies[u.agency].id;
    nu.office = offices[u.agency].id;
    nu.roles = u.roles;
    RETURN_IF_ERROR(accounts.CreateUser(system, nu).status());
  }

  // People, created by each agency's caseworker so that the history shows who registered them.
  std::mt19937 rng(20261123);
  auto pick = [&](auto& arr) { return arr[rng() % std::size(arr)]; };
  std::vector<authz::Principal> workers;
  for (size_t i = 0; i < agencies.size(); ++i) {
    authz::Principal w = system;
    w.kind = authz::PrincipalKind::kStaff;
    w.agency = agencies[i].id;
    w.roles = {authz::Role::kCaseworker};
    w.name = std::string("demo-data@") + kAgencies[i].suffix;
    w.purpose = authz::Purpose::kServiceDelivery;
    workers.push_back(w);
  }
  int created = 0;
  int households = 0;
  while (created < people) {
    const std::string family = pick(kFamily);
    const int size = 1 + static_cast<int>(rng() % 4);
    const std::string street = fmt::format("{} {}", 1 + rng() % 200, pick(kStreets));
    const std::string town = pick(kTowns);
    const std::string postcode = fmt::format("{:04}", 1000 + rng() % 8000);
    const authz::Principal& worker = workers[rng() % workers.size()];
    ASSIGN_OR_RETURN(auto household, app.households().Create(worker, "The " + family + " household"));
    ++households;
    for (int m = 0; m < size && created < people; ++m) {
      registry::Person p;
      p.names.push_back({"official", pick(kGiven), family});
      if (rng() % 10 == 0) p.names.push_back({"alias", pick(kGiven), family});
      const bool child = m >= 2;
      const int year = child ? 2008 + static_cast<int>(rng() % 16) : 1950 + static_cast<int>(rng() % 55);
      core::PartialDate dob{year, 1 + static_cast<int>(rng() % 12), 1 + static_cast<int>(rng() % 28)};
      if (rng() % 25 == 0) dob.day = 0;
      p.birth_date = dob;
      p.sex = rng() % 2 ? "female" : "male";
      p.preferred_language = pick(kLanguages);
      p.needs.interpreter = p.preferred_language != "en" && rng() % 2;
      if (p.needs.interpreter) p.needs.interpreter_language = p.preferred_language;
      if (!child) p.identifiers.push_back({"national_id", fmt::format("NI{:07}", 1000000 + created * 7919 % 8999999), ""});
      p.addresses.push_back({"home", street, "", town, "", postcode, ""});
      if (!child) p.phones.push_back({"mobile", fmt::format("04{:02} {:03} {:03}", rng() % 100, rng() % 1000, rng() % 1000)});
      ASSIGN_OR_RETURN(auto person, app.persons().Create(worker, p));
      ++created;
      const char* relationship = m == 0 ? "head" : m == 1 ? "partner" : "child";
      core::Date since{2020 + static_cast<int>(rng() % 5), 1 + static_cast<int>(rng() % 12), 1};
      // A child born after the family moved in lives there from their birth.
      since = std::max(since, core::Date{dob.year, dob.month, std::max(dob.day, 1)});
      ASSIGN_OR_RETURN(
          auto h, app.households().AddMember(worker, household.id, person.id, relationship, since));
      (void)h;
      // Each agency that knows the person keeps its own source record: the registering agency
      // names the person; the others' records are linked to them by the client index, as
      // matching would.
      for (size_t a = 0; a < workers.size(); ++a) {
        const bool registered_here = a == static_cast<size_t>(worker.agency.value - agencies[0].id.value);
        if (rng() % 3 != 0 && !registered_here) continue;
        const std::string local_id = fmt::format("{}-{:05}", kAgencies[a].suffix, person.id.value);
        ASSIGN_OR_RETURN(auto record, app.persons().PutSourceRecord(
                                          workers[a], local_id,
                                          registered_here ? std::optional(person.id) : std::nullopt,
                                          R"({"source":"demo"})"));
        if (!registered_here) {
          RETURN_IF_ERROR(app.persons()
                              .LinkSources(identity::ClientIndexPrincipal(), person.id, nullptr,
                                           {{record.id, std::nullopt}}, "demo")
                              .status());
        }
      }
    }
  }
  // The households are the consortium's history, loaded as it stands, not changes someone made
  // today: no agency is told that a member joined the household of a client it knows.
  RETURN_IF_ERROR(app.db().Write([](storage::Transaction& tx) {
    return tx.Execute("DELETE FROM change_notices WHERE type = 'household.changed'").status();
  }));
  ASSIGN_OR_RETURN(DemoSharing sharing, LoadDemoAgreements(app));
  RETURN_IF_ERROR(LoadDemoTeams(app));
  RETURN_IF_ERROR(LoadDemoDirectory(app).status());
  RETURN_IF_ERROR(LoadDemoQueues(app));
  RETURN_IF_ERROR(LoadDemoOutcomes(app));
  return fmt::format(
      "loaded {} agencies, {} staff, {} people in {} households, {}, and the service directory; every demo login "
      "uses the password {}",
      agencies.size(), Users().size(), created, households, sharing.Describe(), kDemoPassword);
}

}  // namespace app
