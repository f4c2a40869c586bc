#include "eligibility/bulk.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "eligibility/decimal.h"

namespace eligibility {
namespace {

bool InForce(const Program& p, core::Date as_of) {
  return !((p.effective_from && as_of < *p.effective_from) ||
           (p.effective_to && *p.effective_to < as_of));
}

// Reads each program's outcome and amount for every household of the batch, as Screen does:
// the eligible symbol settles the outcome; an eligible household's amount is read when known,
// stays empty when unknown, and makes the outcome an error when it is one.
void ReadOutcomes(const RuleSet& rules, Evaluator& ev, size_t n, ScreenedBatch* out) {
  const auto& programs = rules.programs();
  const size_t np = programs.size();
  out->programs = np;
  out->results.assign(n * np, ProgramOutcome{});
  for (size_t p = 0; p < np; ++p) {
    const Program& prog = programs[p];
    ProgramOutcome* r = out->results.data() + p;
    if (!InForce(prog, ev.as_of())) {
      for (size_t h = 0; h < n; ++h) r[h * np].outcome = Outcome::kNotInForce;
      continue;
    }
    const Column& e = ev.Symbol(prog.eligible_symbol);
    bool any_eligible = false;
    for (size_t h = 0; h < n; ++h) {
      Outcome o = e.s[h] == kKnown     ? (e.v[h] ? Outcome::kEligible : Outcome::kNotEligible)
                  : e.s[h] == kUnknown ? Outcome::kUnknown
                                       : Outcome::kError;
      r[h * np].outcome = o;
      any_eligible |= o == Outcome::kEligible;
    }
    if (!any_eligible || prog.amount_node < 0) continue;
    const Column& a = ev.Node(prog.amount_node);
    for (size_t h = 0; h < n; ++h) {
      ProgramOutcome& x = r[h * np];
      if (x.outcome != Outcome::kEligible) continue;
      if (a.s[h] == kKnown) {
        x.amount = a.v[h];
      } else if (a.s[h] == kError) {
        x.outcome = Outcome::kError;
      }
    }
  }
}

// Runs a feed through one or more rule sets on several workers. Each worker claims a chunk
// (serialised), loads it into its own batch per rule set and evaluates it (in parallel), then
// hands the results over; they reach the sink in stream order, from one worker at a time.
class Runner {
 public:
  using Deliver = std::function<core::Status(std::vector<ScreenedBatch>&)>;

  Runner(std::vector<const RuleSet*> sets, const BulkOptions& options, const HouseholdFeed& feed,
         Deliver deliver)
      : sets_(std::move(sets)), options_(options), feed_(feed), deliver_(std::move(deliver)) {}

  core::StatusOr<uint64_t> Run() {
    int n = std::max(1, options_.threads);
    std::vector<std::thread> threads;
    for (int i = 1; i < n; ++i) threads.emplace_back([this] { Work(); });
    Work();
    for (auto& t : threads) t.join();
    std::lock_guard lock(error_mu_);
    if (!error_.ok()) return error_;
    return delivered_households_;
  }

 private:
  void Fail(core::Status status) {
    {
      std::lock_guard lock(error_mu_);
      if (error_.ok()) error_ = std::move(status);
    }
    stop_ = true;
    std::lock_guard lock(deliver_mu_);
    delivered_cv_.notify_all();
  }

  void Work() {
    std::vector<std::unique_ptr<Batch>> batches;
    std::vector<std::unique_ptr<Evaluator>> evaluators;
    for (const RuleSet* rules : sets_) {
      batches.push_back(std::make_unique<Batch>(*rules));
      evaluators.push_back(std::make_unique<Evaluator>(*rules));
    }
    const size_t max = std::max<size_t>(1, options_.batch_size);
    // At most this many chunks claimed and not yet handed to the sink: bounds the memory held
    // for a batch that waits for an earlier, slower one.
    const uint64_t window = 4 * static_cast<uint64_t>(std::max(1, options_.threads));
    while (!stop_) {
      uint64_t seq = 0;
      ChunkLoader loader;
      {
        std::lock_guard claim(claim_mu_);
        {
          std::unique_lock lock(deliver_mu_);
          delivered_cv_.wait(lock, [&] { return stop_ || next_seq_ - next_deliver_ < window; });
        }
        if (stop_ || feed_done_) return;
        auto claimed = feed_(max);
        if (!claimed.ok()) return Fail(claimed.status());
        if (!*claimed) {
          feed_done_ = true;
          return;
        }
        loader = std::move(*claimed);
        seq = next_seq_++;
      }
      std::vector<ScreenedBatch> out(sets_.size());
      for (size_t k = 0; k < sets_.size(); ++k) {
        batches[k]->Clear();
        core::Status s = loader(*batches[k], k == 0 ? &out[0].ids : nullptr);
        if (!s.ok()) return Fail(std::move(s));
        if (batches[k]->households() != out[0].ids.size()) {
          return Fail(
              core::Status::Internal("a feed loaded a different number of households and ids"));
        }
      }
      for (size_t k = 0; k < sets_.size(); ++k) {
        evaluators[k]->Run(*batches[k], options_.as_of);
        ReadOutcomes(*sets_[k], *evaluators[k], out[0].ids.size(), &out[k]);
        if (k > 0) out[k].ids = out[0].ids;
      }
      Hand(seq, std::move(out));
    }
  }

  // Queues a worker's results; whoever finds no delivery under way hands every batch that is
  // next in order to the sink, outside the lock, so that the other workers keep claiming and
  // evaluating while the sink writes.
  void Hand(uint64_t seq, std::vector<ScreenedBatch> out) {
    std::unique_lock lock(deliver_mu_);
    pending_.emplace(seq, std::move(out));
    if (delivering_) return;  // the worker delivering will take it
    delivering_ = true;
    while (!stop_ && !pending_.empty() && pending_.begin()->first == next_deliver_) {
      auto node = pending_.extract(pending_.begin());
      auto& batches = node.mapped();
      for (auto& b : batches) b.first = delivered_households_;
      lock.unlock();
      core::Status s = deliver_(batches);
      lock.lock();
      delivered_households_ += batches[0].ids.size();
      ++next_deliver_;
      delivered_cv_.notify_all();
      if (!s.ok()) {
        {
          std::lock_guard elock(error_mu_);
          if (error_.ok()) error_ = std::move(s);
        }
        stop_ = true;
      }
    }
    delivering_ = false;
    delivered_cv_.notify_all();
  }

  const std::vector<const RuleSet*> sets_;
  const BulkOptions options_;
  const HouseholdFeed& feed_;
  const Deliver deliver_;
  std::atomic<bool> stop_{false};

  std::mutex claim_mu_;
  bool feed_done_ = false;  // GUARDED_BY(claim_mu_)
  uint64_t next_seq_ = 0;   // GUARDED_BY(claim_mu_)

  std::mutex deliver_mu_;  // taken inside claim_mu_, never the other way round
  std::condition_variable delivered_cv_;
  bool delivering_ = false;                                 // GUARDED_BY(deliver_mu_)
  uint64_t next_deliver_ = 0;                               // GUARDED_BY(deliver_mu_)
  uint64_t delivered_households_ = 0;                       // GUARDED_BY(deliver_mu_)
  std::map<uint64_t, std::vector<ScreenedBatch>> pending_;  // GUARDED_BY(deliver_mu_)

  std::mutex error_mu_;
  core::Status error_;  // GUARDED_BY(error_mu_)
};

}  // namespace

HouseholdFeed RowFeed(RowSource source) {
  return [source = std::move(source)](size_t max) -> core::StatusOr<ChunkLoader> {
    auto rows = std::make_shared<std::vector<BulkRow>>();
    RETURN_IF_ERROR(source(max, rows.get()));
    if (rows->empty()) return ChunkLoader{};
    return ChunkLoader([rows](Batch& batch, std::vector<std::string>* ids) -> core::Status {
      for (const BulkRow& row : *rows) {
        core::Status s = batch.Add(row.input);
        if (!s.ok()) {
          return core::Status::InvalidArgument(fmt::format("household {}: {}", row.id, s.message()),
                                               s.fields());
        }
        if (ids) ids->push_back(row.id);
      }
      return core::Status::Ok();
    });
  };
}

core::StatusOr<uint64_t> ScreenBulk(const RuleSet& rules, const BulkOptions& options,
                                    const HouseholdFeed& feed, const ResultSink& sink) {
  Runner runner({&rules}, options, feed,
                [&sink](std::vector<ScreenedBatch>& b) { return sink(b[0]); });
  return runner.Run();
}

core::StatusOr<uint64_t> ScreenBulkPair(const RuleSet& before, const RuleSet& after,
                                        const BulkOptions& options, const HouseholdFeed& feed,
                                        const PairSink& sink) {
  Runner runner({&before, &after}, options, feed,
                [&sink](std::vector<ScreenedBatch>& b) { return sink(b[0], b[1]); });
  return runner.Run();
}

// ------------------------------------------------------------------ comparing two rule sets

std::string_view ChangeKindName(ChangeKind k) {
  switch (k) {
    case ChangeKind::kGain:
      return "gain";
    case ChangeKind::kLoss:
      return "loss";
    case ChangeKind::kAmount:
      return "amount";
  }
  return "?";
}

RuleChangeReport::RuleChangeReport(const RuleSet& before, const RuleSet& after) {
  for (size_t p = 0; p < after.programs().size(); ++p) {
    counts_.push_back({.program = after.programs()[p].id});
    before_index_.push_back(before.FindProgram(after.programs()[p].id));
    after_index_.push_back(static_cast<int>(p));
  }
  for (size_t p = 0; p < before.programs().size(); ++p) {
    if (after.FindProgram(before.programs()[p].id) >= 0) continue;
    counts_.push_back({.program = before.programs()[p].id});
    before_index_.push_back(static_cast<int>(p));
    after_index_.push_back(-1);
  }
}

void RuleChangeReport::Add(const ScreenedBatch& before, const ScreenedBatch& after,
                           std::vector<ProgramChange>* changes) {
  static const ProgramOutcome kAbsent{Outcome::kNotInForce, std::nullopt};
  for (size_t h = 0; h < before.ids.size(); ++h) {
    for (size_t i = 0; i < counts_.size(); ++i) {
      const ProgramOutcome& b = before_index_[i] >= 0 ? before.at(h, before_index_[i]) : kAbsent;
      const ProgramOutcome& a = after_index_[i] >= 0 ? after.at(h, after_index_[i]) : kAbsent;
      ProgramChangeCounts& c = counts_[i];
      bool be = b.outcome == Outcome::kEligible;
      bool ae = a.outcome == Outcome::kEligible;
      c.eligible_before += be;
      c.eligible_after += ae;
      c.amount_change += static_cast<decimal::Int128>(ae ? a.amount.value_or(0) : 0) -
                         (be ? b.amount.value_or(0) : 0);
      ChangeKind kind;
      if (!be && ae) {
        kind = ChangeKind::kGain;
        ++c.gains;
      } else if (be && !ae) {
        kind = ChangeKind::kLoss;
        ++c.losses;
      } else if (be && ae && a.amount != b.amount) {
        kind = ChangeKind::kAmount;
        if (a.amount.value_or(0) > b.amount.value_or(0)) {
          ++c.amount_up;
        } else {
          ++c.amount_down;
        }
      } else {
        continue;
      }
      if (changes) changes->push_back({before.ids[h], c.program, b, a, kind});
    }
  }
}

std::string TotalString(decimal::Int128 millionths) {
  bool negative = millionths < 0;
  decimal::UInt128 abs = negative ? static_cast<decimal::UInt128>(-millionths)
                                  : static_cast<decimal::UInt128>(millionths);
  decimal::UInt128 whole = abs / decimal::kScale;
  uint64_t frac = static_cast<uint64_t>(abs % decimal::kScale);
  std::string digits;
  do {
    digits += static_cast<char>('0' + static_cast<int>(whole % 10));
    whole /= 10;
  } while (whole != 0);
  std::reverse(digits.begin(), digits.end());
  std::string out = (negative ? "-" : "") + digits;
  if (frac != 0) {
    std::string f = fmt::format("{:06}", frac);
    while (f.back() == '0') f.pop_back();
    out += "." + f;
  }
  return out;
}

// ------------------------------------------------------------------ CSV

bool SplitCsvLine(std::string_view line, std::vector<std::string>* cells) {
  size_t n = 0;
  size_t i = 0;
  while (true) {
    if (cells->size() <= n) cells->emplace_back();
    std::string& cell = (*cells)[n++];
    cell.clear();
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (true) {
        size_t q = line.find('"', i);
        if (q == std::string_view::npos) return false;
        cell.append(line.substr(i, q - i));
        i = q + 1;
        if (i < line.size() && line[i] == '"') {
          cell += '"';
          ++i;
          continue;
        }
        break;
      }
      // Text after the closing quote, up to the comma, is kept as it is.
      size_t comma = line.find(',', i);
      size_t end = comma == std::string_view::npos ? line.size() : comma;
      cell.append(line.substr(i, end - i));
      i = end;
    } else {
      size_t comma = line.find(',', i);
      size_t end = comma == std::string_view::npos ? line.size() : comma;
      cell.assign(line.substr(i, end - i));
      i = end;
    }
    if (i >= line.size()) break;
    ++i;  // the comma
  }
  cells->resize(n);
  return true;
}

std::string CsvField(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

namespace {

void StripLineEnd(std::string& line) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
}

bool Blank(std::string_view line) {
  return line.find_first_not_of(" \t") == std::string_view::npos;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

core::Status CsvError(const std::string& file, uint64_t line, std::string message) {
  return core::Status::InvalidArgument(fmt::format("{}:{}: {}", file, line, message));
}

// The same text as decimal::ToString, without fmt: this runs for every amount written.
void AppendDecimal(int64_t value, std::string* out) {
  uint64_t abs = value < 0 ? static_cast<uint64_t>(-(value + 1)) + 1 : static_cast<uint64_t>(value);
  if (value < 0) *out += '-';
  char buf[24];
  char* end = buf + sizeof buf;
  char* p = end;
  uint64_t whole = abs / decimal::kScale;
  do {
    *--p = static_cast<char>('0' + whole % 10);
    whole /= 10;
  } while (whole != 0);
  out->append(p, end);
  uint64_t frac = abs % decimal::kScale;
  if (frac != 0) {
    char f[6];
    for (int i = 5; i >= 0; --i) {
      f[i] = static_cast<char>('0' + frac % 10);
      frac /= 10;
    }
    int len = 6;
    while (f[len - 1] == '0') --len;
    *out += '.';
    out->append(f, len);
  }
}

void AppendAmount(const std::optional<int64_t>& amount, std::string* out) {
  if (amount) AppendDecimal(*amount, out);
}

}  // namespace

core::StatusOr<std::unique_ptr<HouseholdCsv>> HouseholdCsv::Open(
    std::istream& in, std::string name, const std::vector<const RuleSet*>& rules) {
  std::unique_ptr<HouseholdCsv> csv(new HouseholdCsv(in, std::move(name)));
  const std::string& file = csv->name_;
  std::string header;
  if (!std::getline(in, header)) return CsvError(file, 1, "empty file: expected a header row");
  StripLineEnd(header);
  if (header.starts_with("\xEF\xBB\xBF")) header.erase(0, 3);  // a UTF-8 byte order mark
  std::vector<std::string> cells;
  if (!SplitCsvLine(header, &cells)) return CsvError(file, 1, "unterminated quote");
  bool have_id = false;
  std::unordered_set<std::string> seen;
  for (size_t c = 0; c < cells.size(); ++c) {
    std::string col(Trim(cells[c]));
    if (col.empty()) return CsvError(file, 1, fmt::format("column {} has no name", c + 1));
    if (!seen.insert(col).second) return CsvError(file, 1, fmt::format("{}: named twice", col));
    ColumnSpec spec{col, "", 0};
    if (col == "id") {
      have_id = true;
      csv->id_column_ = c;
      csv->columns_.push_back(spec);
      continue;
    }
    if (col.starts_with("member")) {
      size_t dot = col.find('.');
      std::string_view number =
          std::string_view(col).substr(6, dot == std::string::npos ? 0 : dot - 6);
      uint32_t m = 0;
      bool digits = !number.empty() && number.size() <= 3 && number.front() != '0';
      for (char ch : number) {
        if (ch < '0' || ch > '9') digits = false;
        m = m * 10 + static_cast<uint32_t>(ch - '0');
      }
      if (dot != std::string::npos && digits) {
        spec.member = m;
        spec.symbol = col.substr(dot + 1);
      }
    }
    if (spec.symbol.empty()) spec.symbol = col;
    bool known = false;
    for (const RuleSet* r : rules) {
      int s = r->FindSymbol(spec.symbol);
      if (s < 0) continue;
      known = true;
      Entity e = r->symbols()[s].entity;
      if (spec.member == 0 && e == Entity::kPerson) {
        return CsvError(
            file, 1,
            fmt::format("{}: a value for each member: name the columns member1.{}, member2.{}…",
                        col, spec.symbol, spec.symbol));
      }
      if (spec.member > 0 && e == Entity::kHousehold) {
        return CsvError(
            file, 1,
            fmt::format("{}: {} is a value for the household, not for a member", col, spec.symbol));
      }
    }
    if (!known) return CsvError(file, 1, fmt::format("{}: unknown input", col));
    csv->columns_.push_back(std::move(spec));
  }
  if (!have_id) return CsvError(file, 1, "no id column");
  return csv;
}

HouseholdFeed HouseholdCsv::Feed() {
  struct Chunk {
    std::vector<std::string> lines;
    std::vector<uint64_t> numbers;
  };
  return [this](size_t max) -> core::StatusOr<ChunkLoader> {
    auto chunk = std::make_shared<Chunk>();
    chunk->lines.reserve(max);
    std::string line;
    while (chunk->lines.size() < max && std::getline(in_, line)) {
      ++line_;
      StripLineEnd(line);
      if (Blank(line)) continue;
      chunk->lines.push_back(std::move(line));
      chunk->numbers.push_back(line_);
    }
    if (in_.bad())
      return core::Status::DataLoss(fmt::format("{}: read error after line {}", name_, line_));
    if (chunk->lines.empty()) return ChunkLoader{};
    return ChunkLoader([this, chunk](Batch& batch, std::vector<std::string>* ids) -> core::Status {
      const RuleSet& rules = batch.rules();
      std::vector<int> symbol(columns_.size(), -1);
      for (size_t c = 0; c < columns_.size(); ++c) {
        if (c != id_column_) symbol[c] = rules.FindSymbol(columns_[c].symbol);
      }
      std::vector<std::string> cells;
      std::vector<Batch::Value> values;
      std::vector<Batch::MemberValue> member_values;
      for (size_t i = 0; i < chunk->lines.size(); ++i) {
        uint64_t ln = chunk->numbers[i];
        if (!SplitCsvLine(chunk->lines[i], &cells))
          return CsvError(name_, ln, "unterminated quote");
        if (cells.size() != columns_.size()) {
          return CsvError(name_, ln,
                          fmt::format("{} cells, but the header has {} columns", cells.size(),
                                      columns_.size()));
        }
        values.clear();
        member_values.clear();
        uint32_t members = 0;
        for (size_t c = 0; c < cells.size(); ++c) {
          if (c == id_column_) continue;
          std::string_view text = Trim(cells[c]);
          if (text.empty()) continue;
          const ColumnSpec& col = columns_[c];
          members = std::max(members, col.member);
          if (symbol[c] < 0) continue;  // a column of the other rule set of a comparison
          auto v = ParseValue(rules.symbols()[symbol[c]], text, col.header);
          if (!v.ok()) {
            const auto& fields = v.status().fields();
            return core::Status::InvalidArgument(
                fmt::format("{}:{}: {}", name_, ln, v.status().message()),
                {{col.header, fields.empty() ? v.status().message() : fields[0].message}});
          }
          if (col.member == 0) {
            values.push_back({symbol[c], *v});
          } else {
            member_values.push_back({col.member - 1, symbol[c], *v});
          }
        }
        std::string_view id = Trim(cells[id_column_]);
        if (id.empty()) return CsvError(name_, ln, "id: empty");
        batch.AddParsed(values, members, member_values);
        if (ids) ids->emplace_back(id);
      }
      return core::Status::Ok();
    });
  };
}

std::string ResultsCsvHeader(const RuleSet& rules) {
  std::string out = "id";
  for (const auto& p : rules.programs()) out += fmt::format(",{0}.outcome,{0}.amount", p.id);
  out += '\n';
  return out;
}

void AppendResultsCsv(const ScreenedBatch& batch, std::string* out) {
  for (size_t h = 0; h < batch.ids.size(); ++h) {
    *out += CsvField(batch.ids[h]);
    for (size_t p = 0; p < batch.programs; ++p) {
      const ProgramOutcome& r = batch.at(h, p);
      *out += ',';
      *out += OutcomeName(r.outcome);
      *out += ',';
      AppendAmount(r.amount, out);
    }
    *out += '\n';
  }
}

std::string ChangesCsvHeader() {
  return "id,program,old_outcome,new_outcome,old_amount,new_amount,change\n";
}

void AppendChangesCsv(const std::vector<ProgramChange>& changes, std::string* out) {
  for (const auto& c : changes) {
    *out += CsvField(c.id);
    *out += ',';
    *out += c.program;
    *out += ',';
    *out += OutcomeName(c.before.outcome);
    *out += ',';
    *out += OutcomeName(c.after.outcome);
    *out += ',';
    AppendAmount(c.before.amount, out);
    *out += ',';
    AppendAmount(c.after.amount, out);
    *out += ',';
    *out += ChangeKindName(c.kind);
    *out += '\n';
  }
}

std::string TakeUpCsvHeader() { return "id,program,amount\n"; }

void AppendTakeUpCsv(const std::vector<TakeUpRow>& rows, std::string* out) {
  for (const auto& r : rows) {
    *out += CsvField(r.id);
    *out += ',';
    *out += r.program;
    *out += ',';
    AppendAmount(r.amount, out);
    *out += '\n';
  }
}

// ------------------------------------------------------------------ take-up

core::StatusOr<Enrolments> Enrolments::ReadCsv(std::istream& in, const std::string& name,
                                               const RuleSet& rules) {
  Enrolments out;
  std::string line;
  if (!std::getline(in, line))
    return CsvError(name, 1, "empty file: expected a header row (id,program)");
  StripLineEnd(line);
  if (line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
  std::vector<std::string> cells;
  if (!SplitCsvLine(line, &cells)) return CsvError(name, 1, "unterminated quote");
  size_t id_col = cells.size(), program_col = cells.size();
  for (size_t c = 0; c < cells.size(); ++c) {
    std::string_view col = Trim(cells[c]);
    if (col == "id") id_col = c;
    if (col == "program") program_col = c;
  }
  if (id_col == cells.size()) return CsvError(name, 1, "no id column");
  if (program_col == cells.size()) return CsvError(name, 1, "no program column");
  const size_t columns = cells.size();
  uint64_t ln = 1;
  while (std::getline(in, line)) {
    ++ln;
    StripLineEnd(line);
    if (Blank(line)) continue;
    if (!SplitCsvLine(line, &cells)) return CsvError(name, ln, "unterminated quote");
    if (cells.size() != columns) {
      return CsvError(
          name, ln, fmt::format("{} cells, but the header has {} columns", cells.size(), columns));
    }
    std::string id(Trim(cells[id_col]));
    std::string program(Trim(cells[program_col]));
    if (id.empty()) return CsvError(name, ln, "id: empty");
    if (program.empty()) return CsvError(name, ln, "program: empty");
    ++out.rows_;
    int p = rules.FindProgram(program);
    if (p < 0) {
      ++out.unknown_[program];
      continue;
    }
    auto& list = out.by_id_[id];
    if (std::find(list.begin(), list.end(), p) == list.end()) list.push_back(p);
  }
  if (in.bad())
    return core::Status::DataLoss(fmt::format("{}: read error after line {}", name, ln));
  return out;
}

bool Enrolments::Contains(const std::string& id, int program) const {
  auto it = by_id_.find(id);
  return it != by_id_.end() &&
         std::find(it->second.begin(), it->second.end(), program) != it->second.end();
}

TakeUpReport::TakeUpReport(const RuleSet& rules, const Enrolments& enrolments)
    : enrolments_(enrolments) {
  for (const auto& p : rules.programs()) counts_.push_back({.program = p.id});
}

void TakeUpReport::Add(const ScreenedBatch& batch, std::vector<TakeUpRow>* rows) {
  static const std::vector<int> kNone;
  for (size_t h = 0; h < batch.ids.size(); ++h) {
    auto it = enrolments_.by_id_.find(batch.ids[h]);
    const std::vector<int>& enrolled = it == enrolments_.by_id_.end() ? kNone : it->second;
    if (it != enrolments_.by_id_.end()) ++enrolled_seen_;
    for (size_t p = 0; p < batch.programs; ++p) {
      const ProgramOutcome& r = batch.at(h, p);
      bool in = std::find(enrolled.begin(), enrolled.end(), static_cast<int>(p)) != enrolled.end();
      TakeUpCounts& c = counts_[p];
      if (r.outcome == Outcome::kEligible) {
        ++c.eligible;
        if (in) {
          ++c.eligible_enrolled;
        } else {
          ++c.eligible_not_enrolled;
          if (rows) rows->push_back({batch.ids[h], c.program, r.amount});
        }
      } else if (in) {
        if (r.outcome == Outcome::kNotEligible) {
          ++c.enrolled_not_eligible;
        } else {
          ++c.enrolled_unknown;
        }
      }
    }
  }
}

uint64_t TakeUpReport::EnrolledNotScreened() const {
  uint64_t all = enrolments_.households();
  return all > enrolled_seen_ ? all - enrolled_seen_ : 0;
}

// ------------------------------------------------------------------ generated households

namespace {

uint64_t Mix(uint64_t x) {  // SplitMix64's finaliser
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

class Rng {  // xorshift64*: small, fast and the same everywhere
 public:
  explicit Rng(uint64_t seed) : s_(seed == 0 ? 0x2545F4914F6CDD1DULL : seed) {}
  uint64_t Next() {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 0x2545F4914F6CDD1DULL;
  }
  // Uniform in [0, n).
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(((Next() >> 32) * n) >> 32); }
  bool Chance(uint32_t per_mille) { return Below(1000) < per_mille; }
  int64_t Between(int64_t lo, int64_t hi) {  // inclusive
    return lo + static_cast<int64_t>(Below(static_cast<uint32_t>(hi - lo + 1)));
  }
  // A skewed amount in cents around `median`: six random factors in [0.58, 1.48) give a
  // log-normal-like spread (σ of the log about 0.6); one in thirty gets a long-tail factor.
  int64_t Skewed(int64_t median) {
    int64_t v = median;
    for (int i = 0; i < 6; ++i) v = v * (580 + Below(900)) / 1000;
    if (Chance(33)) v *= 2 + Below(4);
    return v;
  }

 private:
  uint64_t s_;
};

constexpr int64_t kCent = decimal::kScale / 100;

}  // namespace

std::string HouseholdGenerator::Id(uint64_t index) { return fmt::format("g{:07}", index + 1); }

GeneratedHousehold HouseholdGenerator::Make(uint64_t index) const {
  Rng r(Mix(seed_ ^ Mix(index)));
  GeneratedHousehold h;
  h.index = index;
  // Household sizes about as in US household surveys: most of 1 to 4 people.
  static constexpr uint16_t kSizeCumulative[8] = {280, 630, 780, 905, 960, 985, 995, 1000};
  uint32_t u = r.Below(1000);
  int size = 1;
  while (size < 8 && u >= kSizeCumulative[size - 1]) ++size;
  h.household_size = size;
  h.member_count = size;

  // Who lives here: one or two adults (the head may be elderly), children, sometimes another
  // adult (a grandparent or a grown child) in larger households.
  bool elderly_head = size == 1 ? r.Chance(330) : size == 2 ? r.Chance(260) : r.Chance(40);
  int adults = size == 1   ? 1
               : size == 2 ? (elderly_head || r.Chance(600) ? 2 : 1)
                           : (r.Chance(650) ? 2 : 1);
  bool extra_adult = size - adults >= 2 && r.Chance(150);
  int children = size - adults - (extra_adult ? 1 : 0);
  int head_age = elderly_head   ? 60 + r.Below(16) + r.Below(16)
                 : children > 0 ? 19 + r.Below(14) + r.Below(14)
                                : 18 + r.Below(22) + r.Below(22);
  int m = 0;
  h.members[m++].age = head_age;
  if (adults == 2)
    h.members[m++].age = std::clamp(head_age + static_cast<int>(r.Between(-6, 6)), 18, 100);
  if (extra_adult) h.members[m++].age = r.Chance(500) ? 55 + r.Below(30) : 18 + r.Below(8);
  int youngest_parent = adults == 2 ? std::min(h.members[0].age, h.members[1].age) : head_age;
  for (int c = 0; c < children; ++c) {
    h.members[m++].age = std::min(static_cast<int>(r.Below(18)), std::max(0, youngest_parent - 15));
  }
  bool infant = false;
  for (int i = 0; i < size; ++i) infant |= h.members[i].age == 0;
  bool pregnant = false, postpartum = false;
  for (int i = 0; i < size; ++i) {
    auto& x = h.members[i];
    bool adult = x.age >= 18;
    x.is_disabled = adult ? r.Chance(x.age >= 60 ? 170 : 70) : r.Chance(30);
    if (adult && x.age <= 44 && !pregnant && r.Chance(35)) pregnant = x.is_pregnant = true;
    if (adult && x.age <= 44 && !x.is_pregnant && !postpartum && r.Chance(infant ? 600 : 8)) {
      postpartum = x.is_postpartum = true;
    }
    x.is_medicare_entitled =
        x.age >= 65 ? r.Chance(960) : (adult && x.is_disabled && r.Chance(350));
    h.has_elderly_or_disabled_member |= x.age >= 60 || x.is_disabled;
  }

  // Income: earnings for working-age adults who work (many do not), benefits and pensions.
  int64_t earned = 0, unearned = 0;
  bool young_child = false;
  for (int i = 0; i < size; ++i) {
    const auto& x = h.members[i];
    young_child |= x.age < 13;
    if (x.age < 18) continue;
    uint32_t works = x.age <= 61 ? (x.is_disabled ? 200 : 700) : x.age <= 66 ? 350 : 60;
    if (r.Chance(works)) {
      int64_t pay = r.Skewed(230000);
      if (r.Chance(300)) pay /= 2;  // part time
      earned += pay;
    }
    if (x.age >= 62 && r.Chance(850)) {
      unearned += r.Between(90000, 260000);  // a pension or Social Security
    } else if (x.is_disabled && r.Chance(550)) {
      unearned += r.Between(96700, 180000);  // disability benefits
    } else if (r.Chance(120)) {
      unearned += r.Between(10000, 120000);  // child support received, unemployment…
    }
  }
  h.earned_income = earned * kCent;
  h.unearned_income = unearned * kCent;
  if (!r.Chance(20)) {
    h.shelter_costs = (r.Chance(70) ? 0 : r.Skewed(95000 + 9000 * (size - 1))) * kCent;
  }
  if (young_child && earned > 0 && r.Chance(280)) {
    h.dependent_care_costs = r.Between(12000, 120000) * kCent;
  } else if (r.Chance(500)) {
    h.dependent_care_costs = 0;
  }
  if (h.has_elderly_or_disabled_member && r.Chance(450))
    h.medical_costs = r.Between(1000, 45000) * kCent;
  if (r.Chance(40)) h.child_support_paid = r.Between(15000, 70000) * kCent;
  if (!r.Chance(30)) {
    int64_t assets = r.Chance(330)  ? r.Below(10000)
                     : r.Chance(60) ? r.Between(1000000, 8000000)
                                    : r.Skewed(120000);
    h.countable_assets = assets * kCent;
  }
  // Gets SNAP, Medicaid, SSI, public housing or a veterans pension: likelier with low income.
  int64_t per_person = (earned + unearned) / size;
  if (!r.Chance(50))
    h.receives_qualifying_benefit = r.Chance(per_person < 90000    ? 550
                                             : per_person < 180000 ? 250
                                                                   : 40);
  return h;
}

const std::vector<std::string>& HouseholdGenerator::InputNames() {
  static const std::vector<std::string> kNames = {"household_size",
                                                  "earned_income",
                                                  "unearned_income",
                                                  "shelter_costs",
                                                  "dependent_care_costs",
                                                  "medical_costs",
                                                  "child_support_paid",
                                                  "has_elderly_or_disabled_member",
                                                  "countable_assets",
                                                  "receives_qualifying_benefit",
                                                  "age",
                                                  "is_pregnant",
                                                  "is_postpartum",
                                                  "is_disabled",
                                                  "is_medicare_entitled"};
  return kNames;
}

GeneratedLayout::GeneratedLayout(const RuleSet& rules) {
  const auto& names = HouseholdGenerator::InputNames();
  for (int f = 0; f < kFieldCount; ++f) {
    int s = rules.FindSymbol(names[f]);
    bool person = f >= kAge;
    bool flag =
        f == kHasElderlyOrDisabled || f == kReceivesQualifyingBenefit || (person && f != kAge);
    Type want = f == kHouseholdSize || f == kAge ? Type::kNumber
                : flag                           ? Type::kBool
                                                 : Type::kMoney;
    if (s >= 0) {
      const Symbol& sym = rules.symbols()[s];
      if (sym.type != want || (sym.entity == Entity::kPerson) != person) s = -1;
    }
    symbol_[f] = s;
  }
}

void GeneratedLayout::AddTo(const GeneratedHousehold& h, Batch& batch) const {
  Batch::Value values[kAge];
  size_t n = 0;
  auto put = [&](Field f, int64_t v) {
    if (symbol_[f] >= 0) values[n++] = {symbol_[f], v};
  };
  auto put_opt = [&](Field f, const std::optional<int64_t>& v) {
    if (v) put(f, *v);
  };
  put(kHouseholdSize, decimal::FromInt(h.household_size));
  put(kEarnedIncome, h.earned_income);
  put(kUnearnedIncome, h.unearned_income);
  put_opt(kShelterCosts, h.shelter_costs);
  put_opt(kDependentCareCosts, h.dependent_care_costs);
  put_opt(kMedicalCosts, h.medical_costs);
  put_opt(kChildSupportPaid, h.child_support_paid);
  put(kHasElderlyOrDisabled, h.has_elderly_or_disabled_member ? 1 : 0);
  put_opt(kCountableAssets, h.countable_assets);
  if (h.receives_qualifying_benefit)
    put(kReceivesQualifyingBenefit, *h.receives_qualifying_benefit ? 1 : 0);
  Batch::MemberValue members[8 * 5];
  size_t k = 0;
  for (int i = 0; i < h.member_count; ++i) {
    const auto& x = h.members[i];
    uint32_t mi = static_cast<uint32_t>(i);
    if (symbol_[kAge] >= 0) members[k++] = {mi, symbol_[kAge], decimal::FromInt(x.age)};
    // Flags are given only when true: false is their default, as on a form left blank.
    if (x.is_pregnant && symbol_[kIsPregnant] >= 0) members[k++] = {mi, symbol_[kIsPregnant], 1};
    if (x.is_postpartum && symbol_[kIsPostpartum] >= 0)
      members[k++] = {mi, symbol_[kIsPostpartum], 1};
    if (x.is_disabled && symbol_[kIsDisabled] >= 0) members[k++] = {mi, symbol_[kIsDisabled], 1};
    if (x.is_medicare_entitled && symbol_[kIsMedicareEntitled] >= 0) {
      members[k++] = {mi, symbol_[kIsMedicareEntitled], 1};
    }
  }
  batch.AddParsed({values, n}, static_cast<uint32_t>(h.member_count), {members, k});
}

std::vector<std::string> HouseholdGenerator::NotGenerated(const RuleSet& rules) {
  GeneratedLayout layout(rules);
  std::vector<std::string> out;
  for (size_t s = 0; s < rules.symbols().size(); ++s) {
    const Symbol& sym = rules.symbols()[s];
    if (!sym.is_input) continue;
    bool filled = false;
    for (int f = 0; f < GeneratedLayout::kFieldCount; ++f)
      filled |= layout.symbol_[f] == static_cast<int>(s);
    if (!filled) out.push_back(sym.name);
  }
  return out;
}

BulkRow HouseholdGenerator::Row(const GeneratedHousehold& h, const RuleSet& rules) const {
  GeneratedLayout layout(rules);
  const auto& names = InputNames();
  BulkRow row;
  row.id = Id(h.index);
  auto put = [&](int f, std::string text) {
    if (layout.symbol_[f] >= 0) row.input.values.emplace_back(names[f], std::move(text));
  };
  auto money = [&](int f, const std::optional<int64_t>& v) {
    if (!v) return;
    std::string t;
    AppendDecimal(*v, &t);
    put(f, t);
  };
  put(GeneratedLayout::kHouseholdSize, std::to_string(h.household_size));
  money(GeneratedLayout::kEarnedIncome, h.earned_income);
  money(GeneratedLayout::kUnearnedIncome, h.unearned_income);
  money(GeneratedLayout::kShelterCosts, h.shelter_costs);
  money(GeneratedLayout::kDependentCareCosts, h.dependent_care_costs);
  money(GeneratedLayout::kMedicalCosts, h.medical_costs);
  money(GeneratedLayout::kChildSupportPaid, h.child_support_paid);
  put(GeneratedLayout::kHasElderlyOrDisabled, h.has_elderly_or_disabled_member ? "true" : "false");
  money(GeneratedLayout::kCountableAssets, h.countable_assets);
  if (h.receives_qualifying_benefit) {
    put(GeneratedLayout::kReceivesQualifyingBenefit,
        *h.receives_qualifying_benefit ? "true" : "false");
  }
  for (int i = 0; i < h.member_count; ++i) {
    const auto& x = h.members[i];
    HouseholdInput::Values m;
    auto flag = [&](int f, bool v) {
      if (v && layout.symbol_[f] >= 0) m.emplace_back(names[f], "true");
    };
    if (layout.symbol_[GeneratedLayout::kAge] >= 0) m.emplace_back("age", std::to_string(x.age));
    flag(GeneratedLayout::kIsPregnant, x.is_pregnant);
    flag(GeneratedLayout::kIsPostpartum, x.is_postpartum);
    flag(GeneratedLayout::kIsDisabled, x.is_disabled);
    flag(GeneratedLayout::kIsMedicareEntitled, x.is_medicare_entitled);
    row.input.members.push_back(std::move(m));
  }
  return row;
}

HouseholdFeed HouseholdGenerator::Feed(uint64_t count) const {
  auto next = std::make_shared<uint64_t>(0);
  return [this, next, count](size_t max) -> core::StatusOr<ChunkLoader> {
    if (*next >= count) return ChunkLoader{};
    uint64_t first = *next;
    uint64_t n = std::min<uint64_t>(max, count - first);
    *next += n;
    return ChunkLoader([this, first, n](Batch& batch, std::vector<std::string>* ids) {
      GeneratedLayout layout(batch.rules());
      for (uint64_t i = first; i < first + n; ++i) {
        layout.AddTo(Make(i), batch);
        if (ids) ids->push_back(Id(i));
      }
      return core::Status::Ok();
    });
  };
}

core::Status HouseholdGenerator::WriteCsv(const RuleSet& rules, uint64_t count,
                                          std::ostream& out) const {
  GeneratedLayout layout(rules);
  const auto& names = InputNames();
  std::string buf = "id";
  for (int f = 0; f < GeneratedLayout::kAge; ++f) {
    if (layout.symbol_[f] >= 0) buf += "," + names[f];
  }
  for (int m = 1; m <= 8; ++m) {
    for (int f = GeneratedLayout::kAge; f < GeneratedLayout::kFieldCount; ++f) {
      if (layout.symbol_[f] >= 0) buf += fmt::format(",member{}.{}", m, names[f]);
    }
  }
  buf += '\n';
  for (uint64_t i = 0; i < count; ++i) {
    GeneratedHousehold h = Make(i);
    buf += Id(i);
    auto cell = [&](int f, auto&& write) {
      if (layout.symbol_[f] < 0) return;
      buf += ',';
      write();
    };
    auto money = [&](int f, const std::optional<int64_t>& v) {
      cell(f, [&] {
        if (v) AppendDecimal(*v, &buf);
      });
    };
    cell(GeneratedLayout::kHouseholdSize, [&] { buf += std::to_string(h.household_size); });
    money(GeneratedLayout::kEarnedIncome, h.earned_income);
    money(GeneratedLayout::kUnearnedIncome, h.unearned_income);
    money(GeneratedLayout::kShelterCosts, h.shelter_costs);
    money(GeneratedLayout::kDependentCareCosts, h.dependent_care_costs);
    money(GeneratedLayout::kMedicalCosts, h.medical_costs);
    money(GeneratedLayout::kChildSupportPaid, h.child_support_paid);
    cell(GeneratedLayout::kHasElderlyOrDisabled,
         [&] { buf += h.has_elderly_or_disabled_member ? "true" : "false"; });
    money(GeneratedLayout::kCountableAssets, h.countable_assets);
    cell(GeneratedLayout::kReceivesQualifyingBenefit, [&] {
      if (h.receives_qualifying_benefit) buf += *h.receives_qualifying_benefit ? "true" : "false";
    });
    for (int m = 0; m < 8; ++m) {
      const auto& x = h.members[m];
      bool present = m < h.member_count;
      cell(GeneratedLayout::kAge, [&] {
        if (present) buf += std::to_string(x.age);
      });
      auto flag = [&](int f, bool v) {
        cell(f, [&] {
          if (present && v) buf += "true";
        });
      };
      flag(GeneratedLayout::kIsPregnant, x.is_pregnant);
      flag(GeneratedLayout::kIsPostpartum, x.is_postpartum);
      flag(GeneratedLayout::kIsDisabled, x.is_disabled);
      flag(GeneratedLayout::kIsMedicareEntitled, x.is_medicare_entitled);
    }
    buf += '\n';
    if (buf.size() > (1 << 20)) {
      out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
      buf.clear();
    }
  }
  out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  out.flush();
  if (!out) return core::Status::DataLoss("could not write the households");
  return core::Status::Ok();
}

}  // namespace eligibility
