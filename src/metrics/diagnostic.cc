#include "metrics/diagnostic.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/utf8.h"

namespace metrics {

using core::Status;
using core::StatusOr;

const std::vector<ComplexityQuestion>& ComplexityQuestions() {
  static const auto* q = new std::vector<ComplexityQuestion>{
      {"range",
       "What is the range of need you seek to serve?",
       {{1, "A simple need: information or a single transaction, like a tax return or a vehicle registration"},
        {2, "A broad range of simple needs: information and transactions from many services"},
        {3, "Several linked needs, like work, income and health, that call for one assessment across services"},
        {4, "Complex needs of people facing disadvantage on many fronts at once, different from one person to the "
            "next"}}},
      {"frequency",
       "What is the frequency of interaction?",
       {{1, "A single interaction"},
        {2, "Irregular episodes: people come back now and then"},
        {3, "Regular interactions over months"},
        {4, "Continuous support"}}},
      {"nature",
       "What is the nature of the interaction?",
       {{1, "The person asks for information and is given it"},
        {2, "An application is processed and a payment or a document provided"},
        {3, "An assessment that leads to several services or benefits, arranged together"},
        {4, "Several interventions provided directly by a number of professionals"}}},
      {"expertise",
       "What level of expertise is required to serve the clients' needs?",
       {{1, "Simple information competencies"},
        {2, "Transactional competencies"},
        {3, "Relatively broad service knowledge"},
        {4, "Deep service expertise"}}},
  };
  return *q;
}

const std::vector<std::pair<std::string, std::string>>& ChangeAreas() {
  static const auto* a = new std::vector<std::pair<std::string, std::string>>{
      {"governance", "Governance"},
      {"performance", "Performance management"},
      {"workforce", "Workforce"},
      {"information", "Information sharing"},
  };
  return *a;
}

const std::vector<ChangeStatement>& ChangeStatements() {
  static const auto* s = new std::vector<ChangeStatement>{
      {"governance.scrutiny", "governance", true,
       "The extent to which the initiative is politically sensitive and subject to public scrutiny"},
      {"governance.disruption", "governance", true, "The impact of service disruption or failure on citizens"},
      {"governance.partners", "governance", true,
       "The number and diversity of partner agencies in their focus, ways of working, structures and lines of "
       "accountability"},
      {"governance.leaders", "governance", false,
       "The ability of the initiative's leaders to influence and control partner agencies"},
      {"governance.capability", "governance", false,
       "The experience, capacity and capability of those who need to take on governance roles"},
      {"governance.collaboration", "governance", false,
       "The experience of and facility for collaboration among the agencies"},
      {"performance.measures", "performance", true,
       "The difficulty of defining clear and operational outcome measures for the initiative"},
      {"performance.systems", "performance", true,
       "The degree of difference between the partner agencies' performance systems and structures"},
      {"performance.common_measures", "performance", false,
       "The facility to develop operational performance measures that apply to every partner agency"},
      {"performance.goals", "performance", false,
       "The extent to which the missions and goals of the partner agencies can be aligned or integrated"},
      {"performance.culture", "performance", false,
       "The strength and maturity of the performance cultures within the partner agencies"},
      {"workforce.diversity", "workforce", true,
       "The diversity and level of difference between the partner agencies' workforces"},
      {"workforce.stakeholders", "workforce", true,
       "The number and diversity of professional bodies, trade unions and other workforce stakeholders involved"},
      {"workforce.skills", "workforce", true,
       "How far the skills and knowledge the initiative needs differ from those of the current workforce"},
      {"workforce.regulation", "workforce", true,
       "The extent and restrictiveness of professional regulations and legislation governing working practices"},
      {"workforce.harmonise", "workforce", false,
       "The extent to which the working practices and cultures of the agencies' workforces can be harmonised"},
      {"workforce.collaboration", "workforce", false,
       "The experience of and facility for collaboration between the workforce groups"},
      {"workforce.support", "workforce", false,
       "The facility of the partner agencies to marshal the support of workforce stakeholders and professional "
       "bodies"},
      {"information.volume", "information", true,
       "The volume, complexity and sensitivity of the information that needs to be shared"},
      {"information.legislation", "information", true,
       "The extent and restrictiveness of legislation and regulation governing information sharing"},
      {"information.compatibility", "information", true,
       "How incompatible the agencies' current information systems and data handling processes are"},
      {"information.influence", "information", false,
       "The ability of the partner agencies to influence and shape the regulation of information sharing"},
      {"information.direction", "information", false,
       "The facility of the initiative's leaders to direct the partner agencies' use of information"},
      {"information.experience", "information", false,
       "The experience of information sharing within the agencies, and of the systems that support it"},
  };
  return *s;
}

const std::vector<std::string>& RatingNames() {
  static const auto* r = new std::vector<std::string>{"Low", "Fairly low", "Fairly high", "High"};
  return *r;
}

const std::vector<Model>& Models() {
  static const auto* m = new std::vector<Model>{
      {"information", "Collaborative information and assessment", 1},
      {"interface", "Collaborative customer interface", 2},
      {"networked", "Networked delivery", 3},
      {"joint", "Joint delivery", 4},
  };
  return *m;
}

namespace {

const Model& ModelAt(int level) { return Models().at(static_cast<size_t>(std::clamp(level, 1, 4) - 1)); }

const Model& ModelByKey(const std::string& key) {
  for (const auto& m : Models()) {
    if (m.key == key) return m;
  }
  return Models().front();
}

std::string Degree(double v) {
  const auto& names = RatingNames();
  const int i = v < 1.75 ? 0 : v < 2.5 ? 1 : v < 3.25 ? 2 : 3;
  std::string s = names[static_cast<size_t>(i)];
  s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

// The modules to switch on, rung by rung.
const std::vector<std::vector<std::string>>& ModuleRungs() {
  static const auto* r = new std::vector<std::vector<std::string>>{
      {"Client index: each person known once across the agencies", "Sharing agreements and consents",
       "Screening once for every program", "Tell us once: changes sent to every agency that needs them"},
      {"Service directory and life events", "Front office: contacts, queues, appointments and feedback",
       "Citizen portal"},
      {"Referrals between agencies", "Cases with a lead coordinator, plans and case conferences",
       "Work queues and teams"},
      {"Joint teams drawn from several agencies", "Applications decided together under one statutory clock",
       "Service targets and the monthly scorecard"},
  };
  return *r;
}

const std::map<std::string, std::string>& AreaFirstSteps() {
  static const auto* s = new std::map<std::string, std::string>{
      {"governance",
       "Governance: set up a joint board of the partner agencies' leaders, agree who decides what, and have it approve "
       "the sharing agreements"},
      {"performance",
       "Performance management: agree a small set of measures that apply to every partner, and set them as service "
       "targets and outcome indicators"},
      {"workforce",
       "Workforce: involve staff, unions and professional bodies early, and train staff in the shared ways of "
       "working before the change"},
      {"information",
       "Information sharing: agree what may be shared, on what legal basis, and how people's consent is asked, "
       "before systems are joined"},
  };
  return *s;
}

}  // namespace

Status CheckAnswers(const DiagnosticAnswers& answers) {
  std::vector<core::FieldError> errors;
  for (const auto& q : ComplexityQuestions()) {
    auto it = answers.complexity.find(q.key);
    if (it == answers.complexity.end()) {
      errors.push_back({"complexity." + q.key, "choose an answer"});
    } else if (it->second < 1 || it->second > 4) {
      errors.push_back({"complexity." + q.key, "must be 1, 2, 3 or 4"});
    }
  }
  for (const auto& [key, level] : answers.complexity) {
    const bool known = std::any_of(ComplexityQuestions().begin(), ComplexityQuestions().end(),
                                   [&](const ComplexityQuestion& q) { return q.key == key; });
    if (!known) errors.push_back({"complexity." + key, "there is no such question"});
  }
  for (const auto& s : ChangeStatements()) {
    auto it = answers.ratings.find(s.key);
    if (it == answers.ratings.end()) {
      errors.push_back({"ratings." + s.key, "choose a rating"});
    } else if (it->second < 1 || it->second > 4) {
      errors.push_back({"ratings." + s.key, "must be 1 (low) to 4 (high)"});
    }
  }
  for (const auto& [key, level] : answers.ratings) {
    const bool known = std::any_of(ChangeStatements().begin(), ChangeStatements().end(),
                                   [&](const ChangeStatement& s) { return s.key == key; });
    if (!known) errors.push_back({"ratings." + key, "there is no such statement"});
  }
  if (!errors.empty()) return Status::InvalidArgument("the diagnostic's answers are not complete", std::move(errors));
  return Status::Ok();
}

Assessment Assess(const DiagnosticAnswers& answers) {
  Assessment a;
  const std::map<std::string, std::string> names = {{"range", "Range of need"},
                                                    {"frequency", "Frequency of interaction"},
                                                    {"nature", "Nature of interaction"},
                                                    {"expertise", "Expertise required"}};
  // Step 1: the complexity of the outcome.
  double sum = 0;
  for (const auto& q : ComplexityQuestions()) {
    const int level = answers.complexity.at(q.key);
    sum += level;
    a.reasoning.push_back(fmt::format("{}: {} ({} of 4).", names.at(q.key),
                                      q.choices.at(static_cast<size_t>(level - 1)).text, level));
  }
  a.complexity = sum / 4;
  const int level = std::clamp(static_cast<int>(std::floor(a.complexity + 0.5)), 1, 4);
  const int range = answers.complexity.at("range");
  a.reasoning.push_back(fmt::format("Taken together the complexity of the outcome is {:.2f} on a scale of 1 to 4.",
                                    a.complexity));
  if (level == 1) {
    a.model = ModelAt(1);
    a.reasoning.push_back(
        "Low complexity: information and simple transactions are served well when the agencies share information "
        "and assessment behind the scenes, so that people give their details once.");
  } else if (level == 2) {
    a.model = ModelAt(2);
    a.reasoning.push_back(
        "Fairly low complexity over a range of services: one shared front door (a one-stop shop, one phone "
        "number, one website) where staff handle information and transactions for every agency.");
  } else if (range == 4) {
    a.model = ModelByKey("networked");
    a.reasoning.push_back(
        "High complexity, and needs that span many fields and differ from one person to the next: no single team "
        "can hold every expertise, so the agencies keep their professionals and work as a network around each "
        "person, with a lead who coordinates the plan.");
  } else {
    a.model = ModelByKey("joint");
    a.reasoning.push_back(
        "High complexity within a bounded set of needs: one team drawing its staff from the agencies can carry "
        "out the whole task together, under joint management.");
  }
  // Near the boundary between two levels, the model of the neighbouring level can also work.
  const auto model_for = [&](int l) -> const Model& {
    return l <= 2 ? ModelAt(l) : ModelByKey(range == 4 ? "networked" : "joint");
  };
  const double off = a.complexity - level;
  if (std::fabs(off) >= 0.25) {
    const int neighbour = level + (off > 0 ? 1 : -1);
    if (neighbour >= 1 && neighbour <= 4 && model_for(neighbour).key != a.model.key) {
      a.also = model_for(neighbour);
      a.reasoning.push_back(fmt::format(
          "The answers sit between two levels: {} can also work. {}", a.also->name,
          off < 0 ? "The highest level of integration is not always the most effective; choose the lighter model "
                    "where it delivers the outcome."
                  : "Watch whether the needs grow beyond what the recommended model can serve."));
    }
  }

  // Step 2: the profile of each area.
  for (const auto& [area, name] : ChangeAreas()) {
    double c = 0, f = 0;
    int cn = 0, fn = 0;
    for (const auto& s : ChangeStatements()) {
      if (s.area != area) continue;
      const int r = answers.ratings.at(s.key);
      if (s.challenge) {
        c += r;
        ++cn;
      } else {
        f += r;
        ++fn;
      }
    }
    AreaProfile p;
    p.area = area;
    p.name = name;
    p.challenge = cn > 0 ? c / cn : 0;
    p.facility = fn > 0 ? f / fn : 0;
    const double short_by = p.challenge - p.facility;
    p.balance = short_by <= 0 ? "ready" : short_by <= 0.5 ? "stretch" : "gap";
    const std::string degrees = fmt::format("{} challenge, {} facility to manage change", Degree(p.challenge),
                                            Degree(p.facility));
    p.summary = p.balance == "ready"    ? degrees + ": the facility matches the challenge"
                : p.balance == "stretch" ? degrees + ": the challenge is a little greater than the facility"
                                         : degrees + ": a gap to close before the change";
    p.summary[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(p.summary[0])));
    a.areas.push_back(std::move(p));
  }

  // Step 3: the journey.
  std::vector<std::string> short_areas;
  bool wide_margin = true;
  for (const auto& p : a.areas) {
    if (p.balance != "ready") short_areas.push_back(p.name);
    if (p.facility - p.challenge < 1) wide_margin = false;
  }
  a.first_steps.push_back(
      "Bring the principal stakeholders together in a facilitated workshop to agree the outcome and work through "
      "these questions together");
  a.first_steps.push_back(
      "Start with the end in mind: write down the outcome and its indicators in the outcomes framework, and let it "
      "decide the model, not the systems at hand");
  if (short_areas.empty()) {
    a.journey = "transformational";
    a.pace = wide_margin ? "quick" : "measured";
    a.journey_reasoning.push_back(
        "In every area the facility to manage change matches or exceeds the challenge: the model can be put in "
        "place in one step, given resources, political support and the stakeholders' backing.");
    a.journey_reasoning.push_back(
        wide_margin ? "The facility exceeds the challenge by a whole point or more in every area: the change can be "
                      "completed in a single effort."
                    : "The margin is narrow somewhere: make the core changes first and the follow-up changes after, "
                      "at a measured pace.");
    a.first_steps.push_back(wide_margin ? "Plan the whole change as one programme, with its resources secured"
                                        : "Make the core changes first (one front door, shared records), then the "
                                          "follow-up changes");
    for (int rung = 0; rung < a.model.level; ++rung) {
      for (const auto& m : ModuleRungs()[static_cast<size_t>(rung)]) a.modules.push_back(m);
    }
  } else {
    a.journey = "evolutionary";
    std::string list;
    for (size_t i = 0; i < short_areas.size(); ++i) {
      list += (i == 0 ? "" : i + 1 == short_areas.size() ? " and " : ", ") + short_areas[i];
    }
    a.journey_reasoning.push_back(fmt::format(
        "In {} the challenge is greater than the facility to manage change: build towards {} in stages rather "
        "than in one step.",
        list, a.model.name));
    if (a.model.level > 1) {
      a.journey_reasoning.push_back(
          "Collaborative information and assessment is a realistic first step towards any of the other models: "
          "the agencies learn to share information and trust each other's assessments before they share a front "
          "door or a team.");
    }
    for (const auto& p : a.areas) {
      if (p.balance != "ready") a.first_steps.push_back(AreaFirstSteps().at(p.area));
    }
    a.first_steps.push_back("Start small, in one place or for one group of people, and show early successes before "
                            "widening");
    for (const auto& m : ModuleRungs()[0]) a.modules.push_back(m);
  }
  return a;
}

// ------------------------------------------------------------------ saved diagnostics

namespace {

std::string AnswersJson(const DiagnosticAnswers& a) {
  nlohmann::json j = {{"complexity", a.complexity}, {"ratings", a.ratings}};
  return j.dump();
}

DiagnosticAnswers ParseAnswers(const std::string& text) {
  DiagnosticAnswers a;
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return a;
  if (j.contains("complexity")) a.complexity = j["complexity"].get<std::map<std::string, int>>();
  if (j.contains("ratings")) a.ratings = j["ratings"].get<std::map<std::string, int>>();
  return a;
}

constexpr const char* kColumns = "id, initiative, note, answers, created_by, created_at";

SavedDiagnostic FromRow(const storage::Row& r) {
  SavedDiagnostic d;
  d.id = r.Int(0);
  d.initiative = r.Text(1);
  d.note = r.Text(2);
  d.answers = ParseAnswers(r.Text(3));
  d.created_by = r.Text(4);
  d.created_at = core::Timestamp{r.Int(5)};
  // Answers saved by a version with other questions are assessed on what is still asked.
  if (CheckAnswers(d.answers).ok()) d.assessment = Assess(d.answers);
  return d;
}

}  // namespace

DiagnosticService::DiagnosticService(storage::Database& db, audit::AuditLog& audit, const core::Clock& clock)
    : db_(db), audit_(audit), clock_(clock) {}

bool DiagnosticService::MayRead(const authz::Principal& who) {
  if (who.kind == authz::PrincipalKind::kSystem) return who.HasScope("metrics:read");
  return who.kind == authz::PrincipalKind::kStaff &&
         who.HasAnyRole({authz::Role::kGovernance, authz::Role::kManager, authz::Role::kAdmin, authz::Role::kAuditor});
}

bool DiagnosticService::MayPlan(const authz::Principal& who) {
  if (who.kind == authz::PrincipalKind::kSystem) return who.HasScope("metrics:write");
  return who.kind == authz::PrincipalKind::kStaff &&
         who.HasAnyRole({authz::Role::kGovernance, authz::Role::kManager, authz::Role::kAdmin});
}

StatusOr<SavedDiagnostic> DiagnosticService::Save(const authz::Principal& who, const std::string& initiative,
                                                  const std::string& note, const DiagnosticAnswers& answers) {
  if (!MayPlan(who)) {
    RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) {
      return audit_.Append(tx, who, {"diagnostic.save", "diagnostic", "", std::nullopt, false,
                                     "diagnostics are saved by governance, managers and administrators"});
    }));
    return Status::PermissionDenied("diagnostics are saved by governance, managers and administrators");
  }
  std::vector<core::FieldError> errors;
  if (initiative.empty() || core::Utf8Length(initiative) > 200) {
    errors.push_back({"initiative", "say what is being planned, in 1 to 200 characters"});
  }
  if (core::Utf8Length(note) > 2000) errors.push_back({"note", "at most 2000 characters"});
  if (Status s = CheckAnswers(answers); !s.ok()) {
    for (const auto& f : s.fields()) errors.push_back(f);
  }
  if (!errors.empty()) return Status::InvalidArgument("the diagnostic has invalid fields", std::move(errors));
  SavedDiagnostic out;
  out.initiative = initiative;
  out.note = note;
  out.answers = answers;
  out.assessment = Assess(answers);
  out.created_by = who.name;
  out.created_at = clock_.Now();
  RETURN_IF_ERROR(db_.Write([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query("INSERT INTO diagnostics (initiative, note, answers, model, journey, created_by, "
                              "created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                              {initiative, note, AnswersJson(answers), out.assessment.model.key,
                               out.assessment.journey, who.name, out.created_at.micros}));
    out.id = rows.at(0).Int(0);
    return audit_.Append(tx, who, {"diagnostic.save", "diagnostic", std::to_string(out.id), std::nullopt, true,
                                   out.assessment.model.name + ", " + out.assessment.journey});
  }));
  return out;
}

StatusOr<std::vector<SavedDiagnostic>> DiagnosticService::List(const authz::Principal& who,
                                                               const std::string& initiative) {
  if (!MayRead(who)) return Status::PermissionDenied("diagnostics are for governance, managers and administrators");
  std::vector<SavedDiagnostic> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     initiative.empty()
                         ? tx.Query(fmt::format("SELECT {} FROM diagnostics ORDER BY created_at DESC, id DESC LIMIT 500",
                                                kColumns))
                         : tx.Query(fmt::format("SELECT {} FROM diagnostics WHERE initiative = ? ORDER BY created_at "
                                                "DESC, id DESC LIMIT 500",
                                                kColumns),
                                    {initiative}));
    for (const auto& r : rows) out.push_back(FromRow(r));
    return Status::Ok();
  }));
  return out;
}

StatusOr<SavedDiagnostic> DiagnosticService::Get(const authz::Principal& who, int64_t id) {
  if (!MayRead(who)) return Status::PermissionDenied("diagnostics are for governance, managers and administrators");
  std::optional<SavedDiagnostic> out;
  RETURN_IF_ERROR(db_.Read([&](storage::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(storage::Rows rows,
                     tx.Query(fmt::format("SELECT {} FROM diagnostics WHERE id = ?", kColumns), {id}));
    if (!rows.empty()) out = FromRow(rows.at(0));
    return Status::Ok();
  }));
  if (!out) return Status::NotFound(fmt::format("no diagnostic has id {}", id));
  return *out;
}

}  // namespace metrics
