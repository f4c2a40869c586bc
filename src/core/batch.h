#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <span>
#include <vector>

namespace core {

// Runs the work of concurrent callers in batches, with no thread of its own: what group commit
// is made of (one transaction and one commit for the writes of many callers). A caller hands in
// its item; the caller that finds no batch running runs the next one — its own item first, then
// every item waiting under the same key, oldest first, up to `max` — while the others wait. Each
// caller returns once a batch holding its item has run; the first still waiting then runs the
// next. Thread-safe.
template <typename Item>
class Batcher {
 public:
  explicit Batcher(size_t max) : max_(max < 1 ? 1 : max) {}
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Returns once `item` has been run in a batch. `run(std::span<Item* const>)` runs one batch of
  // items of `key` and reports to each item itself (a result field of Item); it must not throw.
  // A batch is run with the `run` of the caller that runs it, so every caller of one key must
  // hand in the same work.
  template <typename Run>
  void Submit(const void* key, Item& item, const Run& run) {
    Waiter me{key, &item};
    std::unique_lock lock(mu_);
    waiting_.push_back(&me);
    while (running_ && !me.done) me.wake.wait(lock);
    if (me.done) return;
    std::vector<Waiter*> taken{&me};
    std::vector<Waiter*> left;
    for (Waiter* w : waiting_) {
      if (w == &me) continue;
      (w->key == key && taken.size() < max_ ? taken : left).push_back(w);
    }
    waiting_ = std::move(left);
    running_ = true;
    lock.unlock();
    std::vector<Item*> batch;
    batch.reserve(taken.size());
    for (const Waiter* w : taken) batch.push_back(w->item);
    run(std::span<Item* const>(batch));
    lock.lock();
    running_ = false;
    for (Waiter* w : taken) {
      w->done = true;
      if (w != &me) w->wake.notify_one();
    }
    if (!waiting_.empty()) waiting_.front()->wake.notify_one();
  }

 private:
  struct Waiter {
    const void* key;
    Item* item;
    bool done = false;
    std::condition_variable wake;  // when done, or when it is to run the next batch
  };

  const size_t max_;
  std::mutex mu_;
  std::vector<Waiter*> waiting_;  // GUARDED_BY(mu_), oldest first
  bool running_ = false;          // GUARDED_BY(mu_)
};

}  // namespace core
