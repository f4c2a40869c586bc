#include "storage/schema.h"

namespace storage {

const std::vector<Migration>& OnedoorSchema() {
  static const auto* migrations = new std::vector<Migration>{
      {1, "agencies, staff, sessions and tokens", R"sql(
CREATE TABLE agencies (
  id {{id}},
  code TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('government', 'nonprofit')),
  created_at BIGINT NOT NULL
);
CREATE TABLE offices (
  id {{id}},
  agency_id BIGINT NOT NULL REFERENCES agencies(id),
  name TEXT NOT NULL,
  address TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  UNIQUE (agency_id, name)
);
CREATE TABLE users (
  id {{id}},
  kind TEXT NOT NULL CHECK (kind IN ('staff', 'citizen')),
  username TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  email TEXT NOT NULL DEFAULT '',
  password_hash TEXT NOT NULL,
  agency_id BIGINT REFERENCES agencies(id),
  office_id BIGINT REFERENCES offices(id),
  person_id BIGINT,
  active BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE user_roles (
  user_id BIGINT NOT NULL REFERENCES users(id),
  role TEXT NOT NULL,
  PRIMARY KEY (user_id, role)
);
CREATE TABLE sessions (
  id_hash TEXT PRIMARY KEY,
  user_id BIGINT NOT NULL REFERENCES users(id),
  csrf_token TEXT NOT NULL,
  purpose TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE TABLE login_failures (
  id {{id}},
  username TEXT NOT NULL,
  at BIGINT NOT NULL
);
CREATE INDEX login_failures_username_at ON login_failures (username, at);
CREATE TABLE api_tokens (
  id {{id}},
  agency_id BIGINT NOT NULL REFERENCES agencies(id),
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  roles TEXT NOT NULL,
  scopes TEXT NOT NULL,
  created_by BIGINT REFERENCES users(id),
  created_at BIGINT NOT NULL,
  revoked_at BIGINT,
  last_used_at BIGINT
);
)sql"},
      {2, "client registry", R"sql(
CREATE TABLE persons (
  id {{id}},
  version BIGINT NOT NULL,
  display_name TEXT NOT NULL,
  birth_date TEXT,
  doc TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  created_by BIGINT NOT NULL,
  created_agency BIGINT NOT NULL
);
CREATE TABLE person_names (
  person_id BIGINT NOT NULL REFERENCES persons(id),
  family_key TEXT NOT NULL,
  given_key TEXT NOT NULL,
  full_key TEXT NOT NULL
);
CREATE INDEX person_names_family ON person_names (family_key, given_key);
CREATE INDEX person_names_given ON person_names (given_key);
CREATE INDEX person_names_person ON person_names (person_id);
CREATE TABLE person_identifiers (
  person_id BIGINT NOT NULL REFERENCES persons(id),
  kind TEXT NOT NULL,
  value TEXT NOT NULL
);
CREATE INDEX person_identifiers_value ON person_identifiers (kind, value);
CREATE INDEX person_identifiers_person ON person_identifiers (person_id);
CREATE INDEX persons_birth_date ON persons (birth_date);
CREATE TABLE person_history (
  id {{id}},
  person_id BIGINT NOT NULL REFERENCES persons(id),
  version BIGINT NOT NULL,
  at BIGINT NOT NULL,
  user_id BIGINT NOT NULL,
  agency_id BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  changes TEXT NOT NULL
);
CREATE INDEX person_history_person ON person_history (person_id, version);
CREATE TABLE households (
  id {{id}},
  name TEXT NOT NULL,
  version BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  created_by BIGINT NOT NULL
);
CREATE TABLE household_members (
  id {{id}},
  household_id BIGINT NOT NULL REFERENCES households(id),
  person_id BIGINT NOT NULL REFERENCES persons(id),
  relationship TEXT NOT NULL,
  start_date TEXT NOT NULL,
  end_date TEXT,
  created_at BIGINT NOT NULL
);
CREATE INDEX household_members_household ON household_members (household_id);
CREATE INDEX household_members_person ON household_members (person_id);
-- A person lives in one household at a time, even when two servers add them at once.
CREATE UNIQUE INDEX household_members_current ON household_members (person_id) WHERE end_date IS NULL;
CREATE TABLE source_records (
  id {{id}},
  agency_id BIGINT NOT NULL REFERENCES agencies(id),
  local_id TEXT NOT NULL,
  person_id BIGINT REFERENCES persons(id),
  data TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (agency_id, local_id)
);
CREATE INDEX source_records_person ON source_records (person_id);
)sql"},
      {3, "audit log and outbox", R"sql(
CREATE TABLE audit_log (
  seq {{key}},
  at BIGINT NOT NULL,
  user_id BIGINT NOT NULL,
  agency_id BIGINT NOT NULL,
  actor TEXT NOT NULL,
  roles TEXT NOT NULL,
  purpose TEXT NOT NULL,
  request_id TEXT NOT NULL,
  action TEXT NOT NULL,
  record_type TEXT NOT NULL,
  record_id TEXT NOT NULL,
  person_id BIGINT,
  allowed BIGINT NOT NULL,
  reason TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_log_person ON audit_log (person_id, seq);
CREATE TABLE outbox (
  id {{id}},
  at BIGINT NOT NULL,
  type TEXT NOT NULL,
  aggregate_type TEXT NOT NULL,
  aggregate_id TEXT NOT NULL,
  payload TEXT NOT NULL,
  attempts BIGINT NOT NULL DEFAULT 0,
  claimed_by TEXT,
  claimed_until BIGINT,
  delivered_at BIGINT
);
CREATE INDEX outbox_pending ON outbox (delivered_at, id);
)sql"},
      // Several audit chains (audit/audit_log.h). Existing entries become chain 0 and keep their
      // hashes. On PostgreSQL, entries of chains 1.. take their seq from audit_log_seq, which
      // starts after the largest seq so far; it is owned by the column, so `onedoor db copy`
      // moves it past the copied entries as it does the identity sequences.
      {4, "audit chains", R"sql(
ALTER TABLE audit_log ADD COLUMN chain BIGINT NOT NULL DEFAULT 0;
CREATE INDEX audit_log_chain ON audit_log (chain, seq);
{{postgres}}
CREATE SEQUENCE audit_log_seq OWNED BY audit_log.seq;
SELECT setval('audit_log_seq', COALESCE((SELECT MAX(seq) FROM audit_log), 0) + 1, false);
{{end}}
)sql"},
      // The client index's decisions: every change of a source record's link to a person (links
      // are never destructive: unlinking and relinking add rows), and pairs of records for a
      // person to review, with the reviewer's answer kept so that a pair is not asked again.
      {5, "client index links and reviews", R"sql(
CREATE TABLE source_record_links (
  id {{id}},
  source_record_id BIGINT NOT NULL REFERENCES source_records(id),
  person_id BIGINT REFERENCES persons(id),
  previous_person_id BIGINT,
  action TEXT NOT NULL CHECK (action IN ('linked', 'unlinked')),
  cause TEXT NOT NULL,
  weight DOUBLE PRECISION,
  at BIGINT NOT NULL,
  user_id BIGINT NOT NULL,
  actor TEXT NOT NULL
);
CREATE INDEX source_record_links_record ON source_record_links (source_record_id, id);
CREATE INDEX source_record_links_person ON source_record_links (person_id);
CREATE TABLE match_reviews (
  id {{id}},
  record_a BIGINT NOT NULL REFERENCES source_records(id),
  record_b BIGINT NOT NULL REFERENCES source_records(id),
  weight DOUBLE PRECISION NOT NULL,
  probability DOUBLE PRECISION NOT NULL,
  explanation TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'same', 'not_same')),
  created_at BIGINT NOT NULL,
  decided_by BIGINT,
  decided_at BIGINT,
  reason TEXT,
  CHECK (record_a < record_b),
  UNIQUE (record_a, record_b)
);
CREATE INDEX match_reviews_state ON match_reviews (state, id);
)sql"},
      // The client index's trained models (identity::Model::ToText), newest last: the real-time
      // match scores with the newest, on every server.
      {6, "client index models", R"sql(
CREATE TABLE identity_models (
  id {{id}},
  created_at BIGINT NOT NULL,
  note TEXT NOT NULL,
  model TEXT NOT NULL
);
)sql"},
      // Screenings of registered households: the answers as screened and every program's
      // result with its explanation, under the rules (by content hash) that produced it.
      {7, "screenings", R"sql(
CREATE TABLE screenings (
  id {{id}},
  household_id BIGINT NOT NULL REFERENCES households(id),
  as_of TEXT NOT NULL,
  rules_hash TEXT NOT NULL,
  input TEXT NOT NULL,
  result TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  created_by BIGINT NOT NULL,
  agency_id BIGINT NOT NULL
);
CREATE INDEX screenings_household ON screenings (household_id, id);
)sql"},
      // Sharing agreements between agencies (sharing/agreement_service.h): what a receiving
      // agency may receive, for what purpose, on what legal basis and for how long, and every
      // step of the governance workflow. The category is the deployment's id (data-categories
      // .yaml). A holding agency of NULL means any agency that holds the data. One approval
      // per user per agreement, even when two servers record approvals at once.
      {8, "sharing agreements", R"sql(
CREATE TABLE sharing_agreements (
  id {{id}},
  receiving_agency_id BIGINT NOT NULL REFERENCES agencies(id),
  holding_agency_id BIGINT REFERENCES agencies(id),
  category TEXT NOT NULL,
  sharing_class TEXT NOT NULL CHECK (sharing_class IN ('white', 'grey')),
  purpose TEXT NOT NULL,
  legal_basis TEXT NOT NULL,
  consent_required BIGINT NOT NULL,
  valid_from TEXT NOT NULL,
  valid_to TEXT,
  description TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('proposed', 'approved', 'refused', 'revoked')),
  approvals_needed BIGINT NOT NULL,
  proposed_by BIGINT NOT NULL,
  proposed_at BIGINT NOT NULL,
  decided_at BIGINT,
  reason TEXT NOT NULL,
  version BIGINT NOT NULL
);
CREATE INDEX sharing_agreements_state ON sharing_agreements (state, id);
CREATE INDEX sharing_agreements_receiving ON sharing_agreements (receiving_agency_id, category, purpose);
CREATE TABLE sharing_agreement_events (
  id {{id}},
  agreement_id BIGINT NOT NULL REFERENCES sharing_agreements(id),
  action TEXT NOT NULL CHECK (action IN ('proposed', 'approved', 'refused', 'revoked')),
  user_id BIGINT NOT NULL,
  actor TEXT NOT NULL,
  agency_id BIGINT NOT NULL,
  at BIGINT NOT NULL,
  reason TEXT NOT NULL
);
CREATE INDEX sharing_agreement_events_agreement ON sharing_agreement_events (agreement_id, id);
CREATE UNIQUE INDEX sharing_agreement_approvals_once ON sharing_agreement_events (agreement_id, user_id)
  WHERE action = 'approved';
)sql"},
      // Consents given by persons (sharing/consent_service.h), with the fields of ISO/IEC TS
      // 27560: a receiving agency or a kind of agency, the categories (comma-separated ids),
      // purpose, legal basis, validity, how to withdraw, evidence, and every event.
      {9, "consents", R"sql(
CREATE TABLE consents (
  id {{id}},
  person_id BIGINT NOT NULL REFERENCES persons(id),
  receiving_agency_id BIGINT REFERENCES agencies(id),
  agency_kind TEXT CHECK (agency_kind IN ('government', 'nonprofit')),
  scope TEXT NOT NULL CHECK (scope IN ('full', 'partial')),
  categories TEXT NOT NULL,
  purpose TEXT NOT NULL,
  legal_basis TEXT NOT NULL,
  valid_from TEXT NOT NULL,
  valid_to TEXT,
  how_to_withdraw TEXT NOT NULL,
  evidence TEXT NOT NULL CHECK (evidence IN ('signed_form', 'citizen_action')),
  document_ref TEXT NOT NULL,
  recorded_by BIGINT NOT NULL,
  recorded_by_name TEXT NOT NULL,
  agency_id BIGINT NOT NULL,
  recorded_at BIGINT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('active', 'paused', 'withdrawn')),
  version BIGINT NOT NULL,
  CHECK ((receiving_agency_id IS NULL) <> (agency_kind IS NULL))
);
CREATE INDEX consents_person ON consents (person_id, id);
CREATE TABLE consent_events (
  id {{id}},
  consent_id BIGINT NOT NULL REFERENCES consents(id),
  event TEXT NOT NULL CHECK (event IN ('given', 'paused', 'resumed', 'withdrawn', 'expired')),
  user_id BIGINT NOT NULL,
  actor TEXT NOT NULL,
  agency_id BIGINT NOT NULL,
  at BIGINT NOT NULL,
  evidence TEXT NOT NULL,
  document_ref TEXT NOT NULL,
  reason TEXT NOT NULL
);
CREATE INDEX consent_events_consent ON consent_events (consent_id, id);
)sql"},
      // Emergency accesses (break-glass) waiting for review, written by the audit log with the
      // entry that released the data (sharing/break_glass_service.h).
      {10, "break-glass reviews", R"sql(
CREATE TABLE break_glass_accesses (
  id {{id}},
  audit_seq BIGINT NOT NULL,
  at BIGINT NOT NULL,
  user_id BIGINT NOT NULL,
  actor TEXT NOT NULL,
  agency_id BIGINT NOT NULL,
  person_id BIGINT NOT NULL REFERENCES persons(id),
  action TEXT NOT NULL,
  justification TEXT NOT NULL,
  request_id TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'justified', 'not_justified')),
  reviewed_by BIGINT,
  reviewer TEXT,
  reviewed_at BIGINT,
  review_note TEXT
);
CREATE INDEX break_glass_accesses_state ON break_glass_accesses (state, agency_id, id);
CREATE INDEX break_glass_accesses_request ON break_glass_accesses (request_id, person_id);
)sql"},
      // Tell us once: one notice per change of a person's data and per other agency that knows
      // the person, written with the change; applied when the agency says so
      // (registry/change_notices.h, sharing/change_notice_service.h).
      {11, "change notices", R"sql(
CREATE TABLE change_notices (
  id {{id}},
  person_id BIGINT NOT NULL REFERENCES persons(id),
  agency_id BIGINT NOT NULL REFERENCES agencies(id),
  from_agency_id BIGINT NOT NULL,
  type TEXT NOT NULL,
  fields TEXT NOT NULL,
  version BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'applied')),
  applied_at BIGINT,
  applied_by TEXT,
  note TEXT
);
CREATE INDEX change_notices_agency ON change_notices (agency_id, id);
CREATE INDEX change_notices_person ON change_notices (person_id, id);
)sql"},
      // Change notices pushed to each agency's own webhook (sharing/notice_delivery.h): the
      // delivery state of each notice, and where each agency wants them.
      {12, "change notice delivery", R"sql(
ALTER TABLE change_notices ADD COLUMN delivery_state TEXT NOT NULL DEFAULT 'none'
  CHECK (delivery_state IN ('none', 'waiting', 'delivered', 'dead'));
ALTER TABLE change_notices ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE change_notices ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE change_notices ADD COLUMN lease_owner TEXT;
ALTER TABLE change_notices ADD COLUMN lease_until BIGINT;
ALTER TABLE change_notices ADD COLUMN delivered_at BIGINT;
ALTER TABLE change_notices ADD COLUMN last_error TEXT;
CREATE INDEX change_notices_delivery ON change_notices (delivery_state, agency_id, person_id, id);
CREATE TABLE agency_webhooks (
  agency_id BIGINT PRIMARY KEY REFERENCES agencies(id),
  url TEXT NOT NULL,
  secret TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('active', 'disabled')),
  disabled_reason TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);
)sql"},
      // Rotating an agency's webhook secret: the secret replaced keeps signing until
      // previous_until (sharing/change_notice_service.h).
      {13, "webhook secret rotation", R"sql(
ALTER TABLE agency_webhooks ADD COLUMN previous_secret TEXT;
ALTER TABLE agency_webhooks ADD COLUMN previous_until BIGINT;
)sql"},
      // A dead-lettered notice pushed again: its 72 hours start over from delivery_since.
      {14, "change notice redelivery", R"sql(
ALTER TABLE change_notices ADD COLUMN delivery_since BIGINT;
)sql"},
      // Referrals from one agency to another, with the person's consent, and every step of
      // each (cases/referral_service.h).
      {15, "referrals", R"sql(
CREATE TABLE referrals (
  id {{id}},
  person_id BIGINT NOT NULL REFERENCES persons(id),
  person_name TEXT NOT NULL,
  from_agency_id BIGINT NOT NULL REFERENCES agencies(id),
  from_user_id BIGINT NOT NULL,
  from_actor TEXT NOT NULL,
  to_agency_id BIGINT NOT NULL REFERENCES agencies(id),
  service TEXT NOT NULL,
  urgency TEXT NOT NULL CHECK (urgency IN ('routine', 'soon', 'urgent')),
  message TEXT NOT NULL,
  consent_id BIGINT NOT NULL REFERENCES consents(id),
  state TEXT NOT NULL CHECK (state IN ('sent', 'received', 'accepted', 'declined', 'in_progress', 'completed',
                                       'closed', 'withdrawn')),
  reason TEXT NOT NULL,
  outcome TEXT NOT NULL,
  respond_by BIGINT NOT NULL,
  answered_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  version BIGINT NOT NULL
);
CREATE INDEX referrals_to ON referrals (to_agency_id, state, id);
CREATE INDEX referrals_from ON referrals (from_agency_id, state, id);
CREATE INDEX referrals_person ON referrals (person_id, id);
CREATE TABLE referral_events (
  id {{id}},
  referral_id BIGINT NOT NULL REFERENCES referrals(id),
  action TEXT NOT NULL,
  from_state TEXT NOT NULL,
  to_state TEXT NOT NULL,
  user_id BIGINT NOT NULL,
  actor TEXT NOT NULL,
  agency_id BIGINT NOT NULL,
  at BIGINT NOT NULL,
  note TEXT NOT NULL
);
CREATE INDEX referral_events_referral ON referral_events (referral_id, id);
)sql"},
      // Multi-agency cases: the agencies taking part (each on the person's consent), case
      // conferences, the plan's goals and actions, and the case's timeline
      // (cases/case_service.h).
      {16, "multi-agency cases", R"sql(
CREATE TABLE cases (
  id {{id}},
  person_id BIGINT NOT NULL REFERENCES persons(id),
  household_id BIGINT REFERENCES households(id),
  title TEXT NOT NULL,
  criteria TEXT NOT NULL,
  coordinator_user_id BIGINT NOT NULL,
  coordinator TEXT NOT NULL,
  coordinating_agency_id BIGINT NOT NULL REFERENCES agencies(id),
  lead_agency_id BIGINT REFERENCES agencies(id),
  state TEXT NOT NULL CHECK (state IN ('open', 'closed')),
  review_every_days BIGINT NOT NULL,
  next_review_at BIGINT NOT NULL,
  outcome TEXT NOT NULL,
  close_reason TEXT NOT NULL,
  opened_at BIGINT NOT NULL,
  closed_at BIGINT,
  version BIGINT NOT NULL
);
CREATE INDEX cases_person ON cases (person_id, id);
CREATE TABLE case_participants (
  case_id BIGINT NOT NULL REFERENCES cases(id),
  agency_id BIGINT NOT NULL REFERENCES agencies(id),
  consent_id BIGINT REFERENCES consents(id),
  joined_at BIGINT NOT NULL,
  joined_by TEXT NOT NULL,
  PRIMARY KEY (case_id, agency_id)
);
CREATE INDEX case_participants_agency ON case_participants (agency_id, case_id);
CREATE TABLE case_conferences (
  id {{id}},
  case_id BIGINT NOT NULL REFERENCES cases(id),
  scheduled_at BIGINT NOT NULL,
  place TEXT NOT NULL,
  attendees TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('scheduled', 'held', 'cancelled')),
  minutes TEXT NOT NULL,
  decisions TEXT NOT NULL,
  recorded_at BIGINT,
  recorded_by TEXT NOT NULL
);
CREATE INDEX case_conferences_case ON case_conferences (case_id, scheduled_at);
CREATE TABLE case_items (
  id {{id}},
  case_id BIGINT NOT NULL REFERENCES cases(id),
  kind TEXT NOT NULL CHECK (kind IN ('goal', 'action')),
  goal_id BIGINT REFERENCES case_items(id),
  text TEXT NOT NULL,
  agency_id BIGINT REFERENCES agencies(id),
  assignee TEXT NOT NULL,
  due_date TEXT,
  state TEXT NOT NULL CHECK (state IN ('open', 'achieved', 'dropped', 'done', 'cancelled')),
  note TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX case_items_case ON case_items (case_id, id);
CREATE TABLE case_events (
  id {{id}},
  case_id BIGINT NOT NULL REFERENCES cases(id),
  at BIGINT NOT NULL,
  user_id BIGINT NOT NULL,
  actor TEXT NOT NULL,
  agency_id BIGINT NOT NULL,
  kind TEXT NOT NULL,
  text TEXT NOT NULL
);
CREATE INDEX case_events_case ON case_events (case_id, id);
)sql"},
      // Apply once: an application from a screening, one part per program applied for, each
      // decided by the agency that owns the program by its statutory due date
      // (cases/application_service.h).
      {17, "applications", R"sql(
CREATE TABLE applications (
  id {{id}},
  person_id BIGINT NOT NULL REFERENCES persons(id),
  household_id BIGINT NOT NULL REFERENCES households(id),
  screening_id BIGINT NOT NULL REFERENCES screenings(id),
  agency_id BIGINT NOT NULL REFERENCES agencies(id),
  made_by TEXT NOT NULL,
  answers TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX applications_person ON applications (person_id, id);
CREATE TABLE application_parts (
  id {{id}},
  application_id BIGINT NOT NULL REFERENCES applications(id),
  program TEXT NOT NULL,
  program_name TEXT NOT NULL,
  agency_id BIGINT NOT NULL REFERENCES agencies(id),
  screened TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'more_information')),
  expedited BIGINT NOT NULL,
  received TEXT NOT NULL,
  due TEXT NOT NULL,
  clock TEXT NOT NULL,
  reason TEXT NOT NULL,
  request TEXT NOT NULL,
  decided_at BIGINT,
  decided_by TEXT NOT NULL,
  version BIGINT NOT NULL
);
CREATE INDEX application_parts_application ON application_parts (application_id, id);
CREATE INDEX application_parts_agency ON application_parts (agency_id, state, due);
)sql"},
      // Documents uploaded once and kept with the person, each in a data category; the bytes
      // as base64 text with their SHA-256 (cases/document_service.h).
      {18, "documents", R"sql(
CREATE TABLE documents (
  id {{id}},
  person_id BIGINT NOT NULL REFERENCES persons(id),
  application_id BIGINT REFERENCES applications(id),
  kind TEXT NOT NULL,
  category TEXT NOT NULL,
  file_name TEXT NOT NULL,
  media_type TEXT NOT NULL,
  size BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  content TEXT NOT NULL,
  uploaded_by TEXT NOT NULL,
  agency_id BIGINT NOT NULL REFERENCES agencies(id),
  uploaded_at BIGINT NOT NULL
);
CREATE INDEX documents_person ON documents (person_id, id);
)sql"},
      // Tiered work queues: each agency's teams and their members, and the work routed to
      // them by the intake rules (cases/work_queue.h).
      {19, "work queues", R"sql(
CREATE TABLE teams (
  id {{id}},
  agency_id BIGINT NOT NULL REFERENCES agencies(id),
  name TEXT NOT NULL,
  tier TEXT NOT NULL CHECK (tier IN ('front_line', 'specialist')),
  skills TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (agency_id, name)
);
CREATE TABLE team_members (
  team_id BIGINT NOT NULL REFERENCES teams(id),
  user_id BIGINT NOT NULL REFERENCES users(id),
  username TEXT NOT NULL,
  PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);
CREATE TABLE work_items (
  id {{id}},
  agency_id BIGINT NOT NULL REFERENCES agencies(id),
  source TEXT NOT NULL,
  source_id BIGINT NOT NULL,
  person_id BIGINT NOT NULL REFERENCES persons(id),
  title TEXT NOT NULL,
  complexity TEXT NOT NULL CHECK (complexity IN ('simple', 'complex')),
  tier TEXT NOT NULL,
  skills TEXT NOT NULL,
  rule TEXT NOT NULL,
  team_id BIGINT REFERENCES teams(id),
  state TEXT NOT NULL CHECK (state IN ('open', 'claimed', 'done')),
  assignee_user_id BIGINT,
  assignee TEXT NOT NULL,
  escalated BIGINT NOT NULL,
  due TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  version BIGINT NOT NULL
);
CREATE INDEX work_items_agency ON work_items (agency_id, state, due);
CREATE INDEX work_items_source ON work_items (source, source_id);
CREATE TABLE work_events (
  id {{id}},
  item_id BIGINT NOT NULL REFERENCES work_items(id),
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  note TEXT NOT NULL
);
CREATE INDEX work_events_item ON work_events (item_id, id);
)sql"},
      {20, "service directory", R"sql(
CREATE TABLE directory_records (
  tbl TEXT NOT NULL,
  id TEXT NOT NULL,
  doc TEXT NOT NULL,
  name TEXT NOT NULL,
  organization_id TEXT,
  service_id TEXT,
  location_id TEXT,
  service_at_location_id TEXT,
  contact_id TEXT,
  phone_id TEXT,
  link_id TEXT,
  taxonomy_id TEXT,
  parent_id TEXT,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (tbl, id)
);
CREATE INDEX directory_records_name ON directory_records (tbl, name, id);
CREATE INDEX directory_records_organization ON directory_records (tbl, organization_id);
CREATE INDEX directory_records_service ON directory_records (tbl, service_id);
CREATE INDEX directory_records_location ON directory_records (tbl, location_id);
CREATE INDEX directory_records_service_at_location ON directory_records (tbl, service_at_location_id);
CREATE INDEX directory_records_contact ON directory_records (tbl, contact_id);
CREATE INDEX directory_records_phone ON directory_records (tbl, phone_id);
CREATE INDEX directory_records_link ON directory_records (tbl, link_id);
CREATE INDEX directory_records_taxonomy ON directory_records (tbl, taxonomy_id);
CREATE INDEX directory_records_parent ON directory_records (tbl, parent_id);
CREATE TABLE directory_services (
  id {{id}},
  service_id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  modified_at BIGINT NOT NULL,
  search_text TEXT NOT NULL
);
CREATE INDEX directory_services_name ON directory_services (name, service_id);
CREATE TABLE directory_service_facets (
  service_id TEXT NOT NULL,
  facet TEXT NOT NULL,
  value TEXT NOT NULL,
  label TEXT NOT NULL,
  PRIMARY KEY (facet, value, service_id)
);
CREATE INDEX directory_service_facets_service ON directory_service_facets (service_id);
CREATE TABLE directory_meta (
  key TEXT PRIMARY KEY,
  value BIGINT NOT NULL
);
{{sqlite}}
CREATE VIRTUAL TABLE directory_services_fts USING fts5(name, body, content='directory_services', content_rowid='id', prefix='2 3 4',
  tokenize='porter unicode61 remove_diacritics 2');
CREATE TRIGGER directory_services_ai AFTER INSERT ON directory_services BEGIN
  INSERT INTO directory_services_fts (rowid, name, body) VALUES (new.id, new.name, new.search_text);
END;
CREATE TRIGGER directory_services_ad AFTER DELETE ON directory_services BEGIN
  INSERT INTO directory_services_fts (directory_services_fts, rowid, name, body)
  VALUES ('delete', old.id, old.name, old.search_text);
END;
CREATE TRIGGER directory_services_au AFTER UPDATE ON directory_services BEGIN
  INSERT INTO directory_services_fts (directory_services_fts, rowid, name, body)
  VALUES ('delete', old.id, old.name, old.search_text);
  INSERT INTO directory_services_fts (rowid, name, body) VALUES (new.id, new.name, new.search_text);
END;
{{end}}
{{postgres}}
CREATE INDEX directory_services_search ON directory_services
  USING GIN (to_tsvector('english', name || ' ' || search_text));
{{end}}
)sql"},
      {21, "interactions", R"sql(
CREATE TABLE interactions (
  id {{id}},
  person_id BIGINT REFERENCES persons(id),
  agency_id BIGINT NOT NULL REFERENCES agencies(id),
  office_id BIGINT REFERENCES offices(id),
  user_id BIGINT REFERENCES users(id),
  recorded_by TEXT NOT NULL,
  channel TEXT NOT NULL CHECK (channel IN ('desk', 'phone', 'web', 'email', 'outreach')),
  topic TEXT NOT NULL,
  service_id TEXT,
  outcome TEXT NOT NULL CHECK (outcome IN ('resolved', 'referred', 'booked', 'follow_up')),
  duration_seconds BIGINT,
  note TEXT NOT NULL,
  satisfaction BIGINT CHECK (satisfaction BETWEEN 1 AND 5),
  satisfaction_comment TEXT NOT NULL DEFAULT '',
  rated_at BIGINT,
  feedback_hash TEXT,
  at BIGINT NOT NULL
);
CREATE INDEX interactions_person ON interactions (person_id, at);
CREATE INDEX interactions_agency ON interactions (agency_id, at);
CREATE UNIQUE INDEX interactions_feedback ON interactions (feedback_hash);
)sql"},
      {22, "access centre queues", R"sql(
CREATE TABLE queues (
  id {{id}},
  office_id BIGINT NOT NULL REFERENCES offices(id),
  code TEXT NOT NULL,
  name TEXT NOT NULL,
  directory_service_id TEXT,
  created_at BIGINT NOT NULL,
  UNIQUE (office_id, code)
);
CREATE TABLE counters (
  id {{id}},
  office_id BIGINT NOT NULL REFERENCES offices(id),
  name TEXT NOT NULL,
  queues TEXT NOT NULL,
  staff_user_id BIGINT REFERENCES users(id),
  staff TEXT NOT NULL,
  signed_in_at BIGINT,
  created_at BIGINT NOT NULL,
  UNIQUE (office_id, name)
);
CREATE TABLE tickets (
  id {{id}},
  office_id BIGINT NOT NULL REFERENCES offices(id),
  queue_id BIGINT NOT NULL REFERENCES queues(id),
  day TEXT NOT NULL,
  code TEXT NOT NULL,
  number BIGINT NOT NULL,
  label TEXT NOT NULL,
  priority BIGINT NOT NULL,
  person_id BIGINT REFERENCES persons(id),
  state TEXT NOT NULL CHECK (state IN ('waiting', 'called', 'serving', 'done', 'no_show')),
  counter_id BIGINT REFERENCES counters(id),
  recalls BIGINT NOT NULL,
  arrived_at BIGINT NOT NULL,
  called_at BIGINT,
  served_at BIGINT,
  finished_at BIGINT,
  UNIQUE (office_id, day, code, number)
);
CREATE INDEX tickets_waiting ON tickets (queue_id, day, state, priority, arrived_at);
CREATE INDEX tickets_counter ON tickets (counter_id, state);
CREATE INDEX tickets_office ON tickets (office_id, day, state);
CREATE TABLE ticket_events (
  id {{id}},
  office_id BIGINT NOT NULL REFERENCES offices(id),
  ticket_id BIGINT NOT NULL REFERENCES tickets(id),
  action TEXT NOT NULL,
  counter_id BIGINT,
  actor TEXT NOT NULL,
  at BIGINT NOT NULL
);
CREATE INDEX ticket_events_office ON ticket_events (office_id, id);
)sql"},
      {23, "appointments", R"sql(
CREATE TABLE appointment_slots (
  id {{id}},
  office_id BIGINT NOT NULL REFERENCES offices(id),
  queue_id BIGINT NOT NULL REFERENCES queues(id),
  starts_at BIGINT NOT NULL,
  ends_at BIGINT NOT NULL,
  capacity BIGINT NOT NULL,
  booked BIGINT NOT NULL CHECK (booked >= 0),
  created_at BIGINT NOT NULL,
  UNIQUE (queue_id, starts_at)
);
CREATE TABLE appointments (
  id {{id}},
  slot_id BIGINT NOT NULL REFERENCES appointment_slots(id),
  office_id BIGINT NOT NULL REFERENCES offices(id),
  person_id BIGINT REFERENCES persons(id),
  reference TEXT NOT NULL UNIQUE,
  contact TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('booked', 'cancelled', 'checked_in')),
  booked_by TEXT NOT NULL,
  booked_at BIGINT NOT NULL,
  cancelled_at BIGINT,
  ticket_id BIGINT REFERENCES tickets(id)
);
CREATE INDEX appointments_slot ON appointments (slot_id);
CREATE TABLE outgoing_messages (
  id {{id}},
  appointment_id BIGINT REFERENCES appointments(id),
  channel TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
  address TEXT NOT NULL,
  body TEXT NOT NULL,
  send_after BIGINT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'failed', 'cancelled')),
  created_at BIGINT NOT NULL
);
CREATE INDEX outgoing_messages_due ON outgoing_messages (state, send_after);
)sql"},
      {24, "office opening hours and time zones, appointments by office", R"sql(
ALTER TABLE offices ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';
CREATE TABLE office_hours (
  office_id BIGINT NOT NULL REFERENCES offices(id),
  weekday BIGINT NOT NULL CHECK (weekday BETWEEN 1 AND 7),
  opens BIGINT NOT NULL,
  closes BIGINT NOT NULL,
  CHECK (opens >= 0 AND opens < closes AND closes <= 1440),
  PRIMARY KEY (office_id, weekday, opens)
);
CREATE TABLE office_closures (
  office_id BIGINT NOT NULL REFERENCES offices(id),
  day TEXT NOT NULL,
  reason TEXT NOT NULL,
  PRIMARY KEY (office_id, day)
);
CREATE INDEX appointments_office_contact ON appointments (office_id, contact);
CREATE INDEX appointment_slots_office ON appointment_slots (office_id, starts_at);
)sql"},
      {25, "joint teams", R"sql(
CREATE TABLE team_agencies (
  team_id BIGINT NOT NULL REFERENCES teams(id),
  agency_id BIGINT NOT NULL REFERENCES agencies(id),
  agreement_id BIGINT NOT NULL REFERENCES sharing_agreements(id),
  added_at BIGINT NOT NULL,
  added_by TEXT NOT NULL,
  PRIMARY KEY (team_id, agency_id)
);
CREATE INDEX team_agencies_agency ON team_agencies (agency_id, team_id);
)sql"},
      {26, "service targets", R"sql(
CREATE TABLE service_targets (
  id {{id}},
  agency_id BIGINT NOT NULL REFERENCES agencies(id),
  metric TEXT NOT NULL,
  comparison TEXT NOT NULL CHECK (comparison IN ('at_least', 'at_most')),
  target DOUBLE PRECISION NOT NULL,
  minutes BIGINT NOT NULL,
  set_by TEXT NOT NULL,
  set_at BIGINT NOT NULL
);
CREATE INDEX service_targets_agency ON service_targets (agency_id, id);
)sql"},
      // Service metrics read an agency's work of a period: each table by agency and time, and the
      // contacts without visiting their rows.
      {27, "indexes for service metrics", R"sql(
CREATE INDEX interactions_metrics ON interactions (agency_id, at, channel, outcome, satisfaction);
CREATE INDEX tickets_metrics ON tickets (office_id, arrived_at, queue_id, state, called_at, served_at, finished_at);
CREATE INDEX referrals_metrics ON referrals (to_agency_id, created_at, answered_at, respond_by, state);
CREATE INDEX application_parts_metrics ON application_parts (agency_id, decided_at, due);
)sql"},
      // The outcomes framework (metrics/outcomes.h) and the integration diagnostic
      // (metrics/diagnostic.h).
      {28, "outcomes framework and integration diagnostic", R"sql(
CREATE TABLE outcomes (
  id {{id}},
  name TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE outcome_indicators (
  id {{id}},
  outcome_id BIGINT NOT NULL REFERENCES outcomes(id),
  metric TEXT NOT NULL,
  minutes BIGINT NOT NULL,
  comparison TEXT NOT NULL CHECK (comparison IN ('at_least', 'at_most')),
  target DOUBLE PRECISION NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX outcome_indicators_outcome ON outcome_indicators (outcome_id, id);
CREATE TABLE outcome_contributions (
  id {{id}},
  outcome_id BIGINT NOT NULL REFERENCES outcomes(id),
  agency_id BIGINT NOT NULL REFERENCES agencies(id),
  kind TEXT NOT NULL CHECK (kind IN ('program', 'service')),
  ref TEXT NOT NULL,
  name TEXT NOT NULL,
  how TEXT NOT NULL,
  added_by TEXT NOT NULL,
  added_at BIGINT NOT NULL,
  UNIQUE (outcome_id, agency_id, kind, ref)
);
CREATE INDEX outcome_contributions_agency ON outcome_contributions (agency_id, outcome_id);
CREATE TABLE diagnostics (
  id {{id}},
  initiative TEXT NOT NULL,
  note TEXT NOT NULL,
  answers TEXT NOT NULL,
  model TEXT NOT NULL,
  journey TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX diagnostics_initiative ON diagnostics (initiative, created_at);
)sql"},
      // What the service metrics need beyond the work itself: each case review with the date it
      // was due, and the take-up counts of each bulk screening of the registry.
      {29, "case reviews and take-up for the service metrics", R"sql(
CREATE TABLE case_reviews (
  id {{id}},
  case_id BIGINT NOT NULL REFERENCES cases(id),
  agency_id BIGINT NOT NULL REFERENCES agencies(id),
  due_at BIGINT NOT NULL,
  reviewed_at BIGINT NOT NULL
);
CREATE INDEX case_reviews_agency ON case_reviews (agency_id, due_at, reviewed_at);
CREATE INDEX cases_reviews_due ON cases (coordinating_agency_id, state, next_review_at);
CREATE TABLE take_up_runs (
  id {{id}},
  run_at BIGINT NOT NULL,
  as_of TEXT NOT NULL,
  households BIGINT NOT NULL
);
CREATE TABLE take_up_counts (
  run_id BIGINT NOT NULL REFERENCES take_up_runs(id),
  program TEXT NOT NULL,
  program_name TEXT NOT NULL,
  agency_code TEXT NOT NULL,
  eligible BIGINT NOT NULL,
  eligible_enrolled BIGINT NOT NULL,
  enrolled_not_eligible BIGINT NOT NULL,
  PRIMARY KEY (run_id, program)
);
CREATE INDEX change_notices_metrics ON change_notices (agency_id, created_at, applied_at);
CREATE INDEX interactions_repeats ON interactions (person_id, agency_id, topic, at);
ALTER TABLE interactions ADD COLUMN repeat_contact BIGINT NOT NULL DEFAULT 0;
DROP INDEX interactions_metrics;
CREATE INDEX interactions_metrics ON interactions (agency_id, at, channel, outcome, satisfaction, person_id,
  repeat_contact);
CREATE INDEX change_notices_pending ON change_notices (agency_id, state);
)sql"},
      // The citizen portal's accounts (accounts/portal_service.h): the e-mail address confirmed,
      // and the one-time code a person shows at a desk to link the account to their record.
      {30, "citizen portal accounts", R"sql(
CREATE TABLE citizen_profiles (
  user_id BIGINT PRIMARY KEY REFERENCES users(id),
  email_verified_at BIGINT,
  verify_hash TEXT,
  verify_expires BIGINT NOT NULL DEFAULT 0,
  link_hash TEXT,
  link_expires BIGINT NOT NULL DEFAULT 0,
  linked_at BIGINT,
  linked_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX citizen_profiles_verify ON citizen_profiles (verify_hash);
CREATE INDEX citizen_profiles_link ON citizen_profiles (link_hash);
)sql"},
      // A forgotten password: the one-time link sent to the confirmed address.
      {31, "portal password reset", R"sql(
ALTER TABLE citizen_profiles ADD COLUMN reset_hash TEXT;
ALTER TABLE citizen_profiles ADD COLUMN reset_expires BIGINT NOT NULL DEFAULT 0;
ALTER TABLE citizen_profiles ADD COLUMN reset_asked_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX citizen_profiles_reset ON citizen_profiles (reset_hash);
)sql"},
      // A person applies and uploads from the portal themself: such an application or document
      // was made at no agency (agency_id NULL). A person's answer to a request for more
      // information is kept with the part it answers.
      {32, "applications and documents from the portal", R"sql(
{{sqlite}}
PRAGMA writable_schema=ON;
UPDATE sqlite_schema SET sql = replace(sql, 'agency_id BIGINT NOT NULL REFERENCES agencies(id)',
  'agency_id BIGINT REFERENCES agencies(id)') WHERE type = 'table' AND name IN ('applications', 'documents');
PRAGMA schema_version={{next_schema_version}};
PRAGMA writable_schema=OFF;
{{end}}
{{postgres}}
ALTER TABLE applications ALTER COLUMN agency_id DROP NOT NULL;
ALTER TABLE documents ALTER COLUMN agency_id DROP NOT NULL;
{{end}}
ALTER TABLE application_parts ADD COLUMN answer TEXT NOT NULL DEFAULT '';
ALTER TABLE application_parts ADD COLUMN answered_at BIGINT;
)sql"},
      // Authorised representatives (portal/representative_service.h): who may act for a person
      // in the portal, in what, until when; and the person a session acts for.
      {33, "representatives", R"sql(
CREATE TABLE representatives (
  id {{id}},
  person_id BIGINT NOT NULL REFERENCES persons(id),
  user_id BIGINT NOT NULL REFERENCES users(id),
  relationship TEXT NOT NULL,
  scopes TEXT NOT NULL,
  granted_at BIGINT NOT NULL,
  until TEXT,
  ended_at BIGINT
);
CREATE INDEX representatives_person ON representatives (person_id, id);
CREATE INDEX representatives_user ON representatives (user_id, ended_at);
ALTER TABLE sessions ADD COLUMN acting_for BIGINT REFERENCES representatives(id);
)sql"},
      // Signing in to the portal with OpenID Connect (portal/oidc.h): the login attempts under
      // way, and each provider's subject linked to its portal account.
      {34, "openid connect sign-in", R"sql(
CREATE TABLE oidc_logins (
  state_hash TEXT PRIMARY KEY,
  provider TEXT NOT NULL,
  nonce TEXT NOT NULL,
  verifier TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE TABLE external_identities (
  issuer TEXT NOT NULL,
  subject TEXT NOT NULL,
  user_id BIGINT NOT NULL REFERENCES users(id),
  provider TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT NOT NULL,
  PRIMARY KEY (issuer, subject)
);
CREATE INDEX external_identities_user ON external_identities (user_id);
)sql"},
      // A person asks from the portal to have their account linked by matching their details
      // with the registry; staff review the likely records and link, or decline with a reason.
      {35, "portal link requests", R"sql(
CREATE TABLE portal_link_requests (
  id {{id}},
  user_id BIGINT NOT NULL REFERENCES users(id),
  given TEXT NOT NULL,
  family TEXT NOT NULL,
  birth_date TEXT NOT NULL,
  postcode TEXT NOT NULL DEFAULT '',
  address TEXT NOT NULL DEFAULT '',
  lang TEXT NOT NULL DEFAULT 'en',
  state TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  decided_at BIGINT,
  decided_by TEXT NOT NULL DEFAULT '',
  person_id BIGINT REFERENCES persons(id),
  reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX portal_link_requests_state ON portal_link_requests (state, id);
CREATE INDEX portal_link_requests_user ON portal_link_requests (user_id, id);
)sql"},
      // Seals of the audit log (audit/seal.h): each chain's newest entry and count, signed.
      {36, "audit seals", R"sql(
CREATE TABLE audit_seals (
  id {{id}},
  sealed_at BIGINT NOT NULL,
  entries BIGINT NOT NULL,
  heads TEXT NOT NULL,
  key_id TEXT NOT NULL,
  signature TEXT NOT NULL
);
)sql"},
      // API tokens expire (accounts/account_service.h, IssueToken); those issued before keep
      // working until revoked.
      {37, "api token expiry", R"sql(
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
)sql"},
      // The portal sends at most one message about an account to an address every few minutes
      // (portal/portal_service.h, SignUp): the newest message to an address, by an index probe.
      {38, "messages by address", R"sql(
CREATE INDEX outgoing_messages_address ON outgoing_messages (address, created_at);
)sql"},
      // Where a session is used from, so that its owner can tell their devices apart
      // (accounts/account_service.h, ListOwnSessions).
      {39, "where sessions are used from", R"sql(
ALTER TABLE sessions ADD COLUMN client_address TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
)sql"},
      // An administrator gives a staff account a temporary password, to be changed at its next
      // sign-in (accounts/account_service.h, SetTemporaryPassword).
      {40, "temporary passwords", R"sql(
ALTER TABLE users ADD COLUMN password_change_required BIGINT NOT NULL DEFAULT 0;
)sql"},
      // A temporary password stops working after a few days (temporary_password_days); NULL for
      // a password the account chose itself.
      {41, "temporary passwords expire", R"sql(
ALTER TABLE users ADD COLUMN password_expires_at BIGINT;
)sql"},
      // Failed sign-ins are counted per client address too, so that wrong passwords from one
      // place do not lock the account's owner out everywhere (accounts/account_service.h, Login).
      {42, "failed sign-ins by address", R"sql(
ALTER TABLE login_failures ADD COLUMN client_address TEXT NOT NULL DEFAULT '';
)sql"},
      // Each audit entry keeps the address its request came from (audit/audit_log.h, Record);
      // entries from before have none, and hash as they did.
      {43, "where audited requests came from", R"sql(
ALTER TABLE audit_log ADD COLUMN client_address TEXT NOT NULL DEFAULT '';
)sql"},
      // An API token's own request limit a minute (http/caller_limit.h); NULL: the deployment's
      // token_requests_per_minute, 0: none (set by an operator only).
      {44, "request limits per API token", R"sql(
ALTER TABLE api_tokens ADD COLUMN requests_per_minute BIGINT;
)sql"},
      // Name search keys fold case and accents in every script (registry::NameKey): the keys of
      // names that are not plain ASCII are made again by the program's step
      // (registry::RekeyFoldedNames, set by app::App).
      {45, "names folded for search", ""},
      // Identifiers are found however they were typed (registry::IdentifierKey: "ni 100-000"
      // finds NI100000); the keys of identifiers stored before are made by the program's step
      // (registry::KeyIdentifiers, set by app::App).
      {46, "identifiers found however typed", R"sql(
ALTER TABLE person_identifiers ADD COLUMN value_key TEXT NOT NULL DEFAULT '';
CREATE INDEX person_identifiers_key ON person_identifiers (value_key);
)sql"},
      // The events of one record are delivered in their order even when one of them fails and
      // waits for its retry (exchange/outbox.cc, Claim): the events still to deliver, by record.
      {47, "events of a record in order", R"sql(
CREATE INDEX outbox_aggregate_pending ON outbox (aggregate_type, aggregate_id, id) WHERE delivered_at IS NULL;
)sql"},
      // A name in Arabic script is found without its article too ("علي" finds العلي): the keys of
      // names that are not plain ASCII are made again by the program's step
      // (registry::RekeyFoldedNames, set by app::App).
      {48, "names found without the Arabic article", ""},
      // The staff screening form's own key (eligibility/screening_service.h, ScreeningRequest):
      // the same form sent again with the same answers (a reload, a second click) gives the
      // screening it saved instead of a second one.
      {49, "screenings sent again from their form", R"sql(
ALTER TABLE screenings ADD COLUMN form_token TEXT;
CREATE UNIQUE INDEX screenings_form_token ON screenings (created_by, form_token) WHERE form_token IS NOT NULL;
)sql"},
      // A membership ended by the person's move into another household names the membership that
      // moved them (registry/household_service.h, RemoveMistake): removing that one as a mistake
      // gives the person their household back.
      {50, "memberships ended by a move", R"sql(
ALTER TABLE household_members ADD COLUMN ended_by BIGINT;
)sql"},
  };
  return *migrations;
}

}  // namespace storage
