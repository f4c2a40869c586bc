#include "storage/database.h"

#include <fmt/format.h>

#include <cstdlib>

namespace storage {

namespace {
struct OpenRead {
  const Database* db;
  Transaction* tx;
};
// The reads the calling thread is inside, innermost last.
thread_local std::vector<OpenRead> t_open_reads;
}  // namespace

// Scopes live on their thread's stack, so the one ending is always the innermost.
ReadScope::ReadScope(const Database* db, Transaction* tx) { t_open_reads.push_back({db, tx}); }

ReadScope::~ReadScope() { t_open_reads.pop_back(); }

Transaction* ReadScope::Current(const Database* db) {
  for (auto it = t_open_reads.rbegin(); it != t_open_reads.rend(); ++it) {
    if (it->db == db) return it->tx;
  }
  return nullptr;
}

void Submitted::OnFinished(Then then) {
  std::unique_lock lock(mu_);
  if (!finished_) {
    then_.push_back(std::move(then));
    return;
  }
  core::Status result = result_;
  lock.unlock();
  then(std::move(result));
}

void Submitted::Finish(core::Status result) {
  std::vector<Then> then;
  {
    std::lock_guard lock(mu_);
    finished_ = true;
    result_ = result;
    then = std::move(then_);
  }
  for (Then& t : then) t(result);
}

void WhenAllFinished(std::vector<std::shared_ptr<Submitted>> writes, Submitted::Then then) {
  if (writes.empty()) {
    then(core::Status::Ok());
    return;
  }
  if (writes.size() == 1) {
    writes[0]->OnFinished(std::move(then));
    return;
  }
  struct Join {
    std::mutex mu;
    size_t left;
    core::Status first_error;
    Submitted::Then then;
  };
  auto join = std::make_shared<Join>();
  join->left = writes.size();
  join->then = std::move(then);
  for (auto& w : writes) {
    w->OnFinished([join](core::Status s) {
      Submitted::Then done;
      core::Status result;
      {
        std::lock_guard lock(join->mu);
        if (!s.ok() && join->first_error.ok()) join->first_error = std::move(s);
        if (--join->left > 0) return;
        done = std::move(join->then);
        result = join->first_error;
      }
      done(std::move(result));
    });
  }
}

std::shared_ptr<Submitted> Database::Submit(Work work) {
  auto submitted = std::make_shared<Submitted>();
  submitted->Finish(Write(work));
  return submitted;
}

namespace {
thread_local DeferScope* t_defer_scope = nullptr;
}  // namespace

DeferScope::DeferScope() { t_defer_scope = this; }

DeferScope::~DeferScope() { t_defer_scope = nullptr; }

bool DeferScope::Active() { return t_defer_scope != nullptr; }

bool WillDefer(const Database& db) { return t_defer_scope != nullptr && db.CanSubmit(); }

core::Status WriteOrDefer(Database& db, Database::Work work) {
  if (t_defer_scope == nullptr || !db.CanSubmit()) return db.Write(work);
  DeferOn(db.Submit(std::move(work)));
  return core::Status::Ok();
}

void DeferOn(std::shared_ptr<Submitted> write) {
  if (t_defer_scope == nullptr) {
    // A caller error; the answer would go out before the write is durable if it were ignored.
    std::abort();
  }
  t_defer_scope->writes_.push_back(std::move(write));
}

int64_t Row::Int(size_t i) const {
  const Value& v = values_.at(i);
  if (auto* p = std::get_if<int64_t>(&v)) return *p;
  if (auto* p = std::get_if<double>(&v)) return static_cast<int64_t>(*p);
  if (auto* p = std::get_if<std::string>(&v)) {
    try {
      return std::stoll(*p);
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

double Row::Real(size_t i) const {
  const Value& v = values_.at(i);
  if (auto* p = std::get_if<double>(&v)) return *p;
  if (auto* p = std::get_if<int64_t>(&v)) return static_cast<double>(*p);
  return 0;
}

std::string Row::Text(size_t i) const {
  const Value& v = values_.at(i);
  if (auto* p = std::get_if<std::string>(&v)) return *p;
  if (auto* p = std::get_if<int64_t>(&v)) return std::to_string(*p);
  if (auto* p = std::get_if<double>(&v)) return fmt::format("{}", *p);
  return {};
}

std::optional<std::string> Row::OptText(size_t i) const {
  if (IsNull(i)) return std::nullopt;
  return Text(i);
}

std::optional<int64_t> Row::OptInt(size_t i) const {
  if (IsNull(i)) return std::nullopt;
  return Int(i);
}

}  // namespace storage
