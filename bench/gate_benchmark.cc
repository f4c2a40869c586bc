// The access gate: one decision in process (docs/PERFORMANCE.md, "Access gate";
// make bench-gate). The goal is a median under 20 µs.
//
//   BM_GateDecide/*        the decision from facts already known (the pure part);
//   BM_GateWithFacts/*     the whole decision as services make it: the reference directory,
//                          the agreements' snapshot check and the consents read from SQLite
//                          inside the caller's transaction, for a person the agency holds, one it
//                          sees under agreements, and one it sees under an agreement on consent.
#include <benchmark/benchmark.h>

#include <memory>

#include "access/access_gate.h"
#include "access/data_categories.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "exchange/outbox.h"
#include "sharing/agreement_service.h"
#include "sharing/consent_service.h"
#include "sharing/gate_facts.h"
#include "storage/migrations.h"
#include "storage/schema.h"
#include "storage/sqlite/sqlite_database.h"

namespace {

using core::Status;

constexpr int kPersons = 20'000;
constexpr core::AgencyId kCity{1};
constexpr core::AgencyId kState{2};

authz::Principal Staff(core::AgencyId agency, authz::Role role, authz::Purpose purpose) {
  authz::Principal p;
  p.kind = authz::PrincipalKind::kStaff;
  p.user = core::UserId{agency.value * 100 + 1};
  p.agency = agency;
  p.name = "bench";
  p.roles = {role};
  p.purpose = purpose;
  return p;
}

void Check(const Status& s) {
  if (!s.ok()) {
    fprintf(stderr, "%s\n", s.ToString().c_str());
    std::abort();
  }
}

// A SQLite database in /tmp with the schema, two agencies, kPersons persons registered by the
// city (every tenth with a state source record), the shipped categories, and agreements for
// the state: identity and contact for case work, needs on consent, with consents for every
// second person.
struct World {
  World() {
    path = "/tmp/onedoor-gate-bench.db";
    std::remove(path.c_str());
    std::remove((path + "-wal").c_str());
    std::remove((path + "-shm").c_str());
    db = storage::OpenSqlite(path, {.read_connections = 2}).value();
    Check(storage::Migrate(*db, storage::OnedoorSchema()).status());
    Check(db->Write([](storage::Transaction& tx) -> Status {
      RETURN_IF_ERROR(tx.Execute("INSERT INTO agencies (code, name, kind, created_at) VALUES ('city', 'City', "
                                 "'government', 0), ('state', 'State', 'government', 0)")
                          .status());
      for (int i = 1; i <= kPersons; ++i) {
        RETURN_IF_ERROR(tx.Execute("INSERT INTO persons (version, display_name, doc, created_at, updated_at, "
                                   "created_by, created_agency) VALUES (1, 'x', '{}', 0, 0, 1, 1)")
                            .status());
        if (i % 10 == 0) {
          RETURN_IF_ERROR(tx.Execute("INSERT INTO source_records (agency_id, local_id, person_id, data, created_at, "
                                     "updated_at) VALUES (2, ?, ?, '{}', 0, 0)",
                                     {std::to_string(i), int64_t{i}})
                              .status());
        }
        if (i % 2 == 0) {
          RETURN_IF_ERROR(tx.Execute("INSERT INTO consents (person_id, receiving_agency_id, scope, categories, purpose, "
                                     "legal_basis, valid_from, how_to_withdraw, evidence, document_ref, recorded_by, "
                                     "recorded_by_name, agency_id, recorded_at, state, version) VALUES (?, 2, "
                                     "'partial', 'needs', 'case_work', 'consent', '2025-01-01', 'ask', "
                                     "'signed_form', 'D', 1, 'x', 1, 0, 'active', 1)",
                                     {int64_t{i}})
                              .status());
        }
      }
      return Status::Ok();
    }));
    categories = std::make_unique<authz::DataCategories>(
        authz::DataCategories::Load(ONEDOOR_SOURCE_DIR "/config/data-categories.yaml").value());
    agreements = std::make_unique<sharing::AgreementService>(*db, *categories, audit, outbox, clock);
    const authz::Principal gus = Staff(kCity, authz::Role::kGovernance, authz::Purpose::kServiceDelivery);
    for (auto [category, basis] : {std::pair{"identity", "law"}, {"contact", "law"}, {"needs", "consent"}}) {
      sharing::Proposal p;
      p.receiving_agency = kState;
      p.category = category;
      p.purpose = authz::Purpose::kCaseWork;
      p.legal_basis = basis;
      p.valid_from = {2025, 1, 1};
      p.description = "bench";
      auto proposed = agreements->Propose(gus, p);
      Check(proposed.status());
      Check(agreements->Decide(gus, proposed->id, sharing::AgreementDecision::kApprove, "").status());
    }
    facts = std::make_unique<sharing::GateFacts>(*db, *agreements, *categories, clock);
    gate = std::make_unique<authz::AccessGate>(*categories, *facts);
  }

  std::string path;
  core::FakeClock clock{core::Timestamp{1'780'000'000'000'000}};  // 2026-05-28
  audit::AuditLog audit{clock};
  exchange::Outbox outbox{clock};
  std::unique_ptr<storage::Database> db;
  std::unique_ptr<authz::DataCategories> categories;
  std::unique_ptr<sharing::AgreementService> agreements;
  std::unique_ptr<sharing::GateFacts> facts;
  std::unique_ptr<authz::AccessGate> gate;
};

World& TheWorld() {
  static World* w = new World;
  return *w;
}

void BM_GateDecide(benchmark::State& state) {
  World& w = TheWorld();
  const bool holds = state.range(0) == 1;
  authz::PersonFacts f;
  f.holds = holds;
  if (!holds) {
    f.categories.resize(w.categories->categories().size());
    f.categories[0].agreement = 1;
    f.categories[1].agreement = 2;
    f.categories[2] = {3, true, 7};
  }
  const authz::Principal who = Staff(holds ? kCity : kState, authz::Role::kCaseworker, authz::Purpose::kCaseWork);
  int64_t id = 1;
  for (auto _ : state) {
    authz::Decision d = w.gate->Decide(who, authz::Operation::kRead, core::PersonId{id}, authz::Resource::kPerson, &f);
    benchmark::DoNotOptimize(d);
    id = id % kPersons + 1;
  }
}
BENCHMARK(BM_GateDecide)->Arg(1)->Arg(0)->ArgName("holds");

// case 0: the city, which holds every person; case 1: the state, which holds every tenth and
// sees the others under its agreements, the one for needs on consent (half have consented).
void BM_GateWithFacts(benchmark::State& state) {
  World& w = TheWorld();
  const int who_case = static_cast<int>(state.range(0));
  const authz::Principal who = Staff(who_case == 0 ? kCity : kState, authz::Role::kCaseworker, authz::Purpose::kCaseWork);
  int64_t id = 1;
  Check(w.db->Read([&](storage::Transaction& tx) -> Status {
    for (auto _ : state) {
      authz::Decision d = w.gate->DecidePerson(who, authz::Operation::kRead, core::PersonId{id},
                                               authz::Resource::kPerson, &tx);
      if (!d.allowed) state.SkipWithError("refused");
      benchmark::DoNotOptimize(d);
      id = id % kPersons + 1;
    }
    return Status::Ok();
  }));
}
BENCHMARK(BM_GateWithFacts)->Arg(0)->Arg(1)->ArgName("case")->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
