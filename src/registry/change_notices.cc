#include "registry/change_notices.h"

#include <set>

namespace registry {

using core::Status;
using core::StatusOr;

StatusOr<std::vector<KnownBy>> AgenciesThatKnow(storage::Transaction& tx, core::PersonId person) {
  ASSIGN_OR_RETURN(
      storage::Rows rows,
      tx.Query(
          "SELECT k.capacity, a.id, a.code, a.name, k.since FROM ("
          "SELECT 0 AS capacity, created_agency AS agency_id, created_at AS since FROM persons "
          "WHERE id = ? "
          "UNION ALL SELECT 1, agency_id, MIN(created_at) FROM source_records WHERE person_id = ? "
          "GROUP BY agency_id "
          "UNION ALL SELECT 2, s.agency_id, MIN(s.created_at) FROM household_members m JOIN "
          "screenings s ON "
          "s.household_id = m.household_id WHERE m.person_id = ? GROUP BY s.agency_id "
          "UNION ALL SELECT 3, t.agency_id, MIN(p.created_at) FROM applications p JOIN "
          "application_parts t ON "
          "t.application_id = p.id WHERE p.person_id = ? GROUP BY t.agency_id"
          ") k JOIN agencies a ON a.id = k.agency_id ORDER BY a.name, a.id, k.capacity",
          {person.value, person.value, person.value, person.value}));
  std::vector<KnownBy> out;
  for (const auto& r : rows) {
    KnownBy e;
    e.capacity = static_cast<Capacity>(r.Int(0));
    e.agency = core::AgencyId{r.Int(1)};
    e.agency_code = r.Text(2);
    e.agency_name = r.Text(3);
    e.since = core::Timestamp{r.Int(4)};
    out.push_back(std::move(e));
  }
  return out;
}

StatusOr<Holding> KnowsPerson(storage::Transaction& tx, core::AgencyId agency, core::PersonId person) {
  // The first row says whether the person exists and who registered them.
  ASSIGN_OR_RETURN(
      storage::Rows rows,
      tx.Query(
          "SELECT 0, created_agency FROM persons WHERE id = ? "
          "UNION ALL SELECT 1, agency_id FROM source_records WHERE person_id = ? AND agency_id = ?",
          {person.value, person.value, agency.value}));
  Holding out;
  for (const auto& r : rows) {
    if (r.Int(0) == 0) out.exists = true;
    if (r.Int(1) == agency.value) out.holds = true;
  }
  return out;
}

StatusOr<int> NotifyAgencies(storage::Transaction& tx, core::PersonId person, core::AgencyId from,
                             const std::string& type, const std::vector<std::string>& fields, int64_t version,
                             core::Timestamp at) {
  ASSIGN_OR_RETURN(std::vector<KnownBy> known, AgenciesThatKnow(tx, person));
  std::set<int64_t> agencies;
  for (const auto& k : known) {
    if (k.agency != from) agencies.insert(k.agency.value);
  }
  std::string list;
  for (const auto& f : fields) list += (list.empty() ? "" : ",") + f;
  for (int64_t agency : agencies) {
    // Pushed to the agency's webhook when it has an active one; read from the feed either way.
    RETURN_IF_ERROR(tx.Execute("INSERT INTO change_notices (person_id, agency_id, from_agency_id, type, fields, "
                               "version, created_at, state, delivery_state, next_attempt_at) VALUES (?, ?, ?, ?, ?, "
                               "?, ?, 'pending', CASE WHEN EXISTS (SELECT 1 FROM agency_webhooks WHERE agency_id = ? "
                               "AND state = 'active') THEN 'waiting' ELSE 'none' END, ?)",
                               {person.value, agency, from.value, type, list, version, at.micros, agency, at.micros})
                        .status());
  }
  return static_cast<int>(agencies.size());
}

}  // namespace registry
