#include "app/rules_commands.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/app.h"
#include "core/log.h"

#include "eligibility/bulk.h"
#include "eligibility/rule_set.h"
#include "eligibility/rule_tests.h"

namespace app {
namespace {

constexpr char kRulesUsage[] =
    "usage: onedoor rules check [--rules DIRS]\n"
    "       onedoor rules test [--rules DIRS] PATH...\n"
    "       onedoor rules screen [--rules DIRS] [--as-of DATE] [--threads N] (--csv FILE | --all) [--out FILE]\n"
    "       onedoor rules screen [--as-of DATE] [--threads N] --compare OLD_DIRS NEW_DIRS --csv FILE [--out FILE]\n"
    "       onedoor rules screen [--rules DIRS] [--as-of DATE] [--threads N] --csv FILE\n"
    "                            --enrolled ENROLMENTS.csv --take-up OUT.csv [--out FILE]\n"
    "       onedoor rules generate [--rules DIRS] --households N [--seed S] [--out FILE]\n"
    "DIRS is a list of rules files or folders separated by ':' (default: the rules_dirs setting).\n"
    "screen: every household of the CSV (header: id, household inputs, member1.age, member2.age...;\n"
    "  an empty cell is not given) against every program on DATE (default today), on N threads\n"
    "  (default: the number of cores). Writes id, then each program's outcome and amount, to FILE\n"
    "  (default standard output) and a summary to standard error. --all instead of --csv: every\n"
    "  registered household with a saved screening, with its latest answers and its members and\n"
    "  their ages from the registry (each read audited); --all works with --compare and --take-up.\n"
    "  --compare: the same households under two rule sets; writes who gains or loses eligibility\n"
    "  or whose amount changes (id,program,old_outcome,new_outcome,old_amount,new_amount,change).\n"
    "  --take-up: writes the households likely eligible for a program and not enrolled in it\n"
    "  (ENROLMENTS.csv has id,program rows) to OUT.csv; --out also writes every result.\n"
    "generate: N realistic random households (deterministic for a seed, default 1) as CSV.\n";

core::Date Today() { return core::SystemClock().Now().UtcDate(); }

int Usage() {
  std::fputs(kRulesUsage, stderr);
  return 2;
}

std::unique_ptr<eligibility::RuleSet> LoadRules(const std::string& dirs);

// "1,234,567": counts in summaries.
std::string Count(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::optional<uint64_t> ParseCount(const std::string& text) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// Standard output, or a file. Writes go through one buffer per batch of results. A file is
// written beside its place ("FILE.partial") and takes its name only once complete, so that a
// run that fails leaves the file that was there (last month's outreach list) as it was.
class Output {
 public:
  bool Open(const std::string& path) {
    if (path.empty() || path == "-") return true;
    file_.open(path + ".partial", std::ios::binary | std::ios::trunc);
    if (!file_) {
      std::fprintf(stderr, "cannot write %s\n", path.c_str());
      return false;
    }
    path_ = path;
    return true;
  }
  core::Status Write(const std::string& text) {
    std::ostream& out = file_.is_open() ? static_cast<std::ostream&>(file_) : std::cout;
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!out) return core::Status::DataLoss(fmt::format("cannot write {}", path_.empty() ? "standard output" : path_));
    return core::Status::Ok();
  }
  core::Status Close() {
    std::ostream& out = file_.is_open() ? static_cast<std::ostream&>(file_) : std::cout;
    out.flush();
    if (!out) return core::Status::DataLoss(fmt::format("cannot write {}", path_.empty() ? "standard output" : path_));
    if (file_.is_open()) {
      file_.close();
      if (std::rename((path_ + ".partial").c_str(), path_.c_str()) != 0) {
        return core::Status::DataLoss(fmt::format("cannot write {}", path_));
      }
    }
    return core::Status::Ok();
  }
  // After an error: a file left half written would pass for a result, so it goes; the one that
  // was there before stays.
  void Discard() {
    if (!file_.is_open()) return;
    file_.close();
    std::remove((path_ + ".partial").c_str());
  }

 private:
  std::ofstream file_;
  std::string path_;
};

struct ScreenArgs {
  core::Date as_of;
  int threads = 1;
  std::string csv;
  bool all = false;  // the registered households instead of a CSV file
  std::string out;
  std::string compare_old, compare_new;
  std::string enrolled, take_up;
};

// The registered households, a page at a time, each with the answers of its latest saved
// screening and its current members from the registry (household_size and each member's age on
// the as-of date). Households never screened have no answers and are left out. Reading them is
// a read of every member's data: each page is audited, one entry per member, as the system
// principal "bulk screening" with the purpose eligibility.
class RegisteredHouseholds {
 public:
  RegisteredHouseholds(std::unique_ptr<App> app, core::Date as_of) : app_(std::move(app)), as_of_(as_of) {}

  core::Status Next(size_t max, std::vector<eligibility::BulkRow>* rows) {
    std::vector<std::pair<int64_t, std::string>> page;
    std::map<int64_t, std::vector<std::pair<int64_t, std::string>>> members;  // household → (person, birth date)
    RETURN_IF_ERROR(app_->db().Read([&](storage::Transaction& tx) -> core::Status {
      ASSIGN_OR_RETURN(storage::Rows found,
                       tx.Query("SELECT s.household_id, s.input FROM screenings s WHERE s.id IN (SELECT MAX(id) FROM "
                                "screenings GROUP BY household_id) AND s.household_id > ? ORDER BY s.household_id "
                                "LIMIT ?",
                                {after_, static_cast<int64_t>(max)}));
      for (const auto& row : found) page.emplace_back(row.Int(0), row.Text(1));
      if (page.empty()) return core::Status::Ok();
      ASSIGN_OR_RETURN(storage::Rows m,
                       tx.Query("SELECT hm.household_id, hm.person_id, p.birth_date FROM household_members hm JOIN "
                                "persons p ON p.id = hm.person_id WHERE hm.household_id >= ? AND hm.household_id <= ? "
                                "AND hm.end_date IS NULL ORDER BY hm.household_id, hm.id",
                                {page.front().first, page.back().first}));
      for (const auto& row : m) members[row.Int(0)].emplace_back(row.Int(1), row.OptText(2).value_or(""));
      return core::Status::Ok();
    }));
    if (page.empty()) return core::Status::Ok();
    after_ = page.back().first;
    RETURN_IF_ERROR(app_->db().Write([&](storage::Transaction& tx) -> core::Status {
      for (const auto& [household, input] : page) {
        for (const auto& [person, birth] : members[household]) {
          RETURN_IF_ERROR(app_->audit().Append(
              tx, principal_, {"screening.bulk_read", "household", std::to_string(household), core::PersonId{person},
                               true, fmt::format("re-screening every program as of {}", as_of_.ToString())}));
        }
      }
      return core::Status::Ok();
    }));
    for (const auto& [household, input] : page) {
      eligibility::BulkRow row;
      row.id = std::to_string(household);
      nlohmann::json j = nlohmann::json::parse(input, nullptr, false);
      if (j.is_discarded()) return core::Status::DataLoss(fmt::format("screening of household {} is not valid JSON", household));
      for (const auto& [k, v] : j["values"].items()) {
        if (k != "household_size") row.input.values.emplace_back(k, v.get<std::string>());
      }
      const auto& current = members[household];
      row.input.values.emplace_back("household_size", std::to_string(std::max<size_t>(current.size(), 1)));
      const auto& stored = j["members"];
      for (size_t i = 0; i < current.size(); ++i) {
        eligibility::HouseholdInput::Values m;
        if (i < stored.size()) {
          for (const auto& [k, v] : stored[i].items()) {
            if (k != "age") m.emplace_back(k, v.get<std::string>());
          }
        }
        auto birth = core::PartialDate::Parse(current[i].second);
        if (auto age = birth.ok() ? birth->AgeOn(as_of_) : std::nullopt) m.emplace_back("age", std::to_string(*age));
        row.input.members.push_back(std::move(m));
      }
      rows->push_back(std::move(row));
    }
    return core::Status::Ok();
  }

 App& app() { return *app_; }

 private:
  std::unique_ptr<App> app_;
  core::Date as_of_;
  int64_t after_ = 0;
  authz::Principal principal_ = [] {
    authz::Principal p;
    p.kind = authz::PrincipalKind::kSystem;
    p.name = "bulk screening";
    p.roles = {authz::Role::kCaseworker};
    p.purpose = authz::Purpose::kEligibility;
    p.request_id = "rules-screen-all";
    return p;
  }();
};

// Where the households come from: a CSV file (--csv), or the registered households (--all,
// from the database that `config` names).
class Households {
 public:
  static std::unique_ptr<Households> Open(const core::Config& config, const ScreenArgs& args,
                                          const std::vector<const eligibility::RuleSet*>& rules) {
    auto h = std::unique_ptr<Households>(new Households());
    if (args.all) {
      auto app = App::Open(config, false);
      if (!app.ok()) {
        std::fprintf(stderr, "%s\n", app.status().ToString().c_str());
        return nullptr;
      }
      h->registered_ = std::make_shared<RegisteredHouseholds>(std::move(app).value(), args.as_of);
      auto registered = h->registered_;
      h->feed_ = eligibility::RowFeed([registered](size_t max, std::vector<eligibility::BulkRow>* rows) {
        return registered->Next(max, rows);
      });
      return h;
    }
    h->file_.open(args.csv, std::ios::binary);
    if (!h->file_) {
      std::fprintf(stderr, "cannot read %s\n", args.csv.c_str());
      return nullptr;
    }
    auto csv = eligibility::HouseholdCsv::Open(h->file_, args.csv, rules);
    if (!csv.ok()) {
      std::fprintf(stderr, "%s\n", csv.status().message().c_str());
      return nullptr;
    }
    h->csv_ = std::move(*csv);
    h->feed_ = h->csv_->Feed();
    return h;
  }
  const eligibility::HouseholdFeed& feed() const { return feed_; }
  // The deployment, when the households are the registry's (--all).
  App* app() { return registered_ ? &registered_->app() : nullptr; }

 private:
  Households() = default;
  std::ifstream file_;
  std::unique_ptr<eligibility::HouseholdCsv> csv_;
  // Shared with the feed, which may outlive a move of this object's members.
  std::shared_ptr<RegisteredHouseholds> registered_;
  eligibility::HouseholdFeed feed_;
};

double Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void PrintRate(const char* what, uint64_t households, size_t programs, const ScreenArgs& args, double seconds) {
  std::fprintf(stderr, "%s %s households against %zu programs as of %s in %.2f s (%s households/s, %d threads)\n",
               what, Count(households).c_str(), programs, args.as_of.ToString().c_str(), seconds,
               Count(static_cast<uint64_t>(seconds > 0 ? households / seconds : 0)).c_str(), args.threads);
}

int ScreenOne(const core::Config& config, const ScreenArgs& args, const eligibility::RuleSet& rules) {
  auto households = Households::Open(config, args, {&rules});
  if (!households) return 1;
  Output out;
  if (!out.Open(args.out)) return 1;
  std::optional<eligibility::Enrolments> enrolments;
  Output take_up_out;
  if (!args.take_up.empty()) {
    std::ifstream in(args.enrolled, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", args.enrolled.c_str());
      return 1;
    }
    auto e = eligibility::Enrolments::ReadCsv(in, args.enrolled, rules);
    if (!e.ok()) {
      std::fprintf(stderr, "%s\n", e.status().message().c_str());
      return 1;
    }
    enrolments = std::move(*e);
    if (!take_up_out.Open(args.take_up)) return 1;
  }
  // With --take-up the results go out only when --out names a file.
  bool write_results = args.take_up.empty() || !args.out.empty();
  std::optional<eligibility::TakeUpReport> take_up;
  if (enrolments) take_up.emplace(rules, *enrolments);

  const auto& programs = rules.programs();
  std::vector<std::array<uint64_t, 5>> counts(programs.size(), std::array<uint64_t, 5>{});
  auto start = std::chrono::steady_clock::now();
  core::Status header = write_results ? out.Write(eligibility::ResultsCsvHeader(rules)) : core::Status::Ok();
  if (take_up && header.ok()) header = take_up_out.Write(eligibility::TakeUpCsvHeader());
  if (!header.ok()) {
    std::fprintf(stderr, "%s\n", header.message().c_str());
    return 1;
  }
  std::string buf;
  std::vector<eligibility::TakeUpRow> rows;
  auto n = eligibility::ScreenBulk(
      rules, {.as_of = args.as_of, .threads = args.threads}, households->feed(),
      [&](const eligibility::ScreenedBatch& b) -> core::Status {
        for (size_t h = 0; h < b.ids.size(); ++h) {
          for (size_t p = 0; p < b.programs; ++p) ++counts[p][static_cast<size_t>(b.at(h, p).outcome)];
        }
        if (write_results) {
          buf.clear();
          eligibility::AppendResultsCsv(b, &buf);
          RETURN_IF_ERROR(out.Write(buf));
        }
        if (take_up) {
          rows.clear();
          take_up->Add(b, &rows);
          buf.clear();
          eligibility::AppendTakeUpCsv(rows, &buf);
          RETURN_IF_ERROR(take_up_out.Write(buf));
        }
        return core::Status::Ok();
      });
  core::Status closed = n.ok() ? out.Close() : n.status();
  if (closed.ok() && take_up) closed = take_up_out.Close();
  if (!closed.ok()) {
    out.Discard();
    take_up_out.Discard();
    std::fprintf(stderr, "%s\n", closed.message().c_str());
    return 1;
  }
  PrintRate("screened", *n, programs.size(), args, Since(start));
  std::fprintf(stderr, "  %-24s %12s %12s %12s %8s %12s\n", "program", "eligible", "not_eligible", "unknown", "error",
               "not_in_force");
  for (size_t p = 0; p < programs.size(); ++p) {
    const auto& c = counts[p];
    std::fprintf(stderr, "  %-24s %12s %12s %12s %8s %12s\n", programs[p].id.c_str(), Count(c[0]).c_str(),
                 Count(c[1]).c_str(), Count(c[2]).c_str(), Count(c[3]).c_str(), Count(c[4]).c_str());
  }
  if (take_up) {
    std::fprintf(stderr, "take-up: %s enrolment rows for %s households; %s of them not among the screened households\n",
                 Count(enrolments->rows()).c_str(), Count(enrolments->households()).c_str(),
                 Count(take_up->EnrolledNotScreened()).c_str());
    std::fprintf(stderr, "  %-24s %12s %12s %14s %8s %22s\n", "program", "eligible", "enrolled", "not_enrolled",
                 "take-up", "enrolled_not_eligible");
    for (const auto& c : take_up->counts()) {
      std::string rate = c.eligible ? fmt::format("{:.1f}%", 100.0 * c.eligible_enrolled / c.eligible) : "-";
      std::fprintf(stderr, "  %-24s %12s %12s %14s %8s %22s\n", c.program.c_str(), Count(c.eligible).c_str(),
                   Count(c.eligible_enrolled).c_str(), Count(c.eligible_not_enrolled).c_str(), rate.c_str(),
                   Count(c.enrolled_not_eligible).c_str());
    }
    std::map<std::string, uint64_t> unknown(enrolments->unknown_programs().begin(),
                                            enrolments->unknown_programs().end());  // sorted
    for (const auto& [program, rows_named] : unknown) {
      std::fprintf(stderr, "  (enrolments in %s, a program the rules do not have: %s rows, ignored)\n",
                   program.c_str(), Count(rows_named).c_str());
    }
    // The registry's take-up is kept for the service metrics of each program's agency.
    if (App* app = households->app(); app != nullptr) {
      core::Status recorded = app->db().Write([&](storage::Transaction& tx) -> core::Status {
        ASSIGN_OR_RETURN(storage::Rows run,
                         tx.Query("INSERT INTO take_up_runs (run_at, as_of, households) VALUES (?, ?, ?) RETURNING id",
                                  {app->clock().Now().micros, args.as_of.ToString(), static_cast<int64_t>(*n)}));
        for (const auto& c : take_up->counts()) {
          const eligibility::Program* program = nullptr;
          for (const auto& p : programs) {
            if (p.id == c.program) program = &p;
          }
          if (program == nullptr) continue;
          RETURN_IF_ERROR(tx.Execute("INSERT INTO take_up_counts (run_id, program, program_name, agency_code, "
                                     "eligible, eligible_enrolled, enrolled_not_eligible) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                     {run.at(0).Int(0), c.program, program->name, program->agency,
                                      static_cast<int64_t>(c.eligible), static_cast<int64_t>(c.eligible_enrolled),
                                      static_cast<int64_t>(c.enrolled_not_eligible)})
                              .status());
        }
        return core::Status::Ok();
      });
      if (!recorded.ok()) {
        std::fprintf(stderr, "the take-up was not recorded: %s\n", recorded.message().c_str());
        return 1;
      }
      std::fprintf(stderr, "take-up recorded for the service metrics\n");
    }
  }
  return 0;
}

int ScreenCompare(const core::Config& config, const ScreenArgs& args) {
  auto before = LoadRules(args.compare_old);
  if (!before) return 1;
  auto after = LoadRules(args.compare_new);
  if (!after) return 1;
  auto households = Households::Open(config, args, {before.get(), after.get()});
  if (!households) return 1;
  Output out;
  if (!out.Open(args.out)) return 1;
  eligibility::RuleChangeReport report(*before, *after);
  auto start = std::chrono::steady_clock::now();
  core::Status header = out.Write(eligibility::ChangesCsvHeader());
  if (!header.ok()) {
    std::fprintf(stderr, "%s\n", header.message().c_str());
    return 1;
  }
  std::vector<eligibility::ProgramChange> changes;
  std::string buf;
  auto n = eligibility::ScreenBulkPair(*before, *after, {.as_of = args.as_of, .threads = args.threads},
                                       households->feed(),
                                       [&](const eligibility::ScreenedBatch& b, const eligibility::ScreenedBatch& a) {
                                         changes.clear();
                                         report.Add(b, a, &changes);
                                         buf.clear();
                                         eligibility::AppendChangesCsv(changes, &buf);
                                         return out.Write(buf);
                                       });
  core::Status closed = n.ok() ? out.Close() : n.status();
  if (!closed.ok()) {
    out.Discard();
    std::fprintf(stderr, "%s\n", closed.message().c_str());
    return 1;
  }
  PrintRate("compared", *n, report.counts().size(), args, Since(start));
  std::fprintf(stderr, "  old rules %s (%s), new rules %s (%s)\n", args.compare_old.c_str(),
               before->content_hash().substr(0, 16).c_str(), args.compare_new.c_str(),
               after->content_hash().substr(0, 16).c_str());
  std::fprintf(stderr, "  %-24s %12s %12s %10s %10s %10s %11s %20s\n", "program", "eligible_old", "eligible_new",
               "gains", "losses", "amount_up", "amount_down", "total_amount_change");
  for (const auto& c : report.counts()) {
    std::fprintf(stderr, "  %-24s %12s %12s %10s %10s %10s %11s %20s\n", c.program.c_str(),
                 Count(c.eligible_before).c_str(), Count(c.eligible_after).c_str(), Count(c.gains).c_str(),
                 Count(c.losses).c_str(), Count(c.amount_up).c_str(), Count(c.amount_down).c_str(),
                 eligibility::TotalString(c.amount_change).c_str());
  }
  return 0;
}

int ScreenCommand(const core::Config& config, const std::string& dirs, const std::vector<std::string>& rest) {
  ScreenArgs args;
  args.as_of = Today();
  args.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (size_t i = 0; i < rest.size(); ++i) {
    const std::string& a = rest[i];
    auto value = [&]() -> const std::string* { return i + 1 < rest.size() ? &rest[++i] : nullptr; };
    const std::string* v = nullptr;
    if (a == "--all") {
      args.all = true;
      continue;
    }
    if (a == "--compare") {
      if (i + 2 >= rest.size()) return Usage();
      args.compare_old = rest[++i];
      args.compare_new = rest[++i];
      continue;
    }
    if (a != "--as-of" && a != "--threads" && a != "--csv" && a != "--out" && a != "--enrolled" && a != "--take-up") {
      return Usage();
    }
    if (!(v = value())) return Usage();
    if (a == "--as-of") {
      auto d = core::Date::Parse(*v);
      if (!d.ok()) {
        std::fprintf(stderr, "--as-of: %s\n", d.status().message().c_str());
        return 2;
      }
      args.as_of = *d;
    } else if (a == "--threads") {
      auto t = ParseCount(*v);
      if (!t || *t < 1 || *t > 256) {
        std::fprintf(stderr, "--threads: expected a number from 1 to 256\n");
        return 2;
      }
      args.threads = static_cast<int>(*t);
    } else if (a == "--csv") {
      args.csv = *v;
    } else if (a == "--out") {
      args.out = *v;
    } else if (a == "--enrolled") {
      args.enrolled = *v;
    } else {
      args.take_up = *v;
    }
  }
  if (args.csv.empty() == !args.all) return Usage();  // one source: --csv FILE or --all
  if (args.enrolled.empty() != args.take_up.empty()) return Usage();
  if (!args.compare_old.empty()) {
    if (!args.take_up.empty()) return Usage();
    return ScreenCompare(config, args);
  }
  auto rules = LoadRules(dirs);
  if (!rules) return 1;
  return ScreenOne(config, args, *rules);
}

int GenerateCommand(const std::string& dirs, const std::vector<std::string>& rest) {
  std::optional<uint64_t> households;
  uint64_t seed = 1;
  std::string out_path;
  for (size_t i = 0; i < rest.size(); ++i) {
    if (i + 1 >= rest.size()) return Usage();
    const std::string& a = rest[i];
    const std::string& v = rest[++i];
    if (a == "--households") {
      households = ParseCount(v);
      if (!households) return Usage();
    } else if (a == "--seed") {
      auto s = ParseCount(v);
      if (!s) return Usage();
      seed = *s;
    } else if (a == "--out") {
      out_path = v;
    } else {
      return Usage();
    }
  }
  if (!households) return Usage();
  auto rules = LoadRules(dirs);
  if (!rules) return 1;
  auto start = std::chrono::steady_clock::now();
  eligibility::HouseholdGenerator generator(seed);
  core::Status s;
  if (out_path.empty() || out_path == "-") {
    s = generator.WriteCsv(*rules, *households, std::cout);
  } else {
    std::ofstream file(out_path, std::ios::binary | std::ios::trunc);
    if (!file) {
      std::fprintf(stderr, "cannot write %s\n", out_path.c_str());
      return 1;
    }
    s = generator.WriteCsv(*rules, *households, file);
    if (!s.ok()) std::remove(out_path.c_str());
  }
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return 1;
  }
  std::fprintf(stderr, "wrote %s households (seed %llu) in %.2f s\n", Count(*households).c_str(),
               static_cast<unsigned long long>(seed), Since(start));
  auto missing = eligibility::HouseholdGenerator::NotGenerated(*rules);
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    std::fprintf(stderr, "inputs of these rules the generator does not fill (left empty): %s\n", list.c_str());
  }
  return 0;
}

std::unique_ptr<eligibility::RuleSet> LoadRules(const std::string& dirs) {
  std::vector<std::string> warnings;
  auto rules = eligibility::RuleSet::Load(RulesDirs(dirs), Today(), &warnings);
  for (const auto& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  if (!rules.ok()) {
    std::fprintf(stderr, "%s\n", rules.status().message().c_str());
    return nullptr;
  }
  return std::move(*rules);
}

}  // namespace

std::vector<std::string> RulesDirs(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t colon = list.find(':', start);
    if (colon == std::string::npos) colon = list.size();
    if (colon > start) out.push_back(list.substr(start, colon - start));
    start = colon + 1;
  }
  return out;
}

int RulesCommand(const core::Config& config, const std::vector<std::string>& args) {
  if (args.size() < 2) return Usage();
  std::string dirs = config.rules_dirs;
  std::vector<std::string> rest;
  for (size_t i = 2; i < args.size(); ++i) {
    if (args[i] == "--rules") {
      if (i + 1 >= args.size()) return Usage();
      dirs = args[++i];
    } else {
      rest.push_back(args[i]);
    }
  }
  const std::string& sub = args[1];
  if (sub == "screen") return ScreenCommand(config, dirs, rest);
  if (sub == "generate") return GenerateCommand(dirs, rest);
  if (sub != "check" && sub != "test") return Usage();
  auto rules = LoadRules(dirs);
  if (!rules) return 1;
  if (sub == "check") {
    if (!rest.empty()) return Usage();
    // A folder typed wrong, or one without rule files, must not pass as a pack that checks.
    if (rules->programs().empty()) {
      std::fprintf(
          stderr,
          "onedoor: %s: no programs in these rules: check the folders (rules_dirs or --rules)\n",
          dirs.c_str());
      return 1;
    }
    const size_t programs = rules->programs().size();
    std::printf("%zu %s, %zu inputs and variables, %zu parameters; rules %s\n", programs,
                programs == 1 ? "program" : "programs", rules->symbols().size(),
                rules->parameters().size(), rules->content_hash().substr(0, 16).c_str());
    for (const auto& p : rules->programs()) {
      std::printf("  %-24s %-18s %s (version %s)\n", p.id.c_str(), p.agency.c_str(), p.name.c_str(), p.version.c_str());
    }
    return 0;
  }
  if (rest.empty()) return Usage();
  auto summary = eligibility::RunRuleTests(*rules, rest, std::cout);
  std::cout.flush();
  if (!summary.ok()) {
    std::fprintf(stderr, "%s\n", summary.status().message().c_str());
    return 1;
  }
  return summary->failed == 0 ? 0 : 1;
}

}  // namespace app
