#include "crm/server/handler_pool.h"

#include <pthread.h>

#include <utility>

namespace crm::server {

HandlerPool::HandlerPool(size_t threads, size_t max_queued)
    : max_queued_(max_queued != 0 ? max_queued : threads * kQueuedPerThread) {
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { Run(); });
    pthread_setname_np(threads_.back().native_handle(), "crm-handler");
  }
}

HandlerPool::~HandlerPool() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  for (std::thread& thread : threads_) thread.join();
}

bool HandlerPool::Post(absl::AnyInvocable<void() &&> body) {
  absl::MutexLock lock(&mutex_);
  if (stopping_ || queue_.size() >= max_queued_) {
    ++refused_;
    return false;
  }
  queue_.push_back(std::move(body));
  return true;
}

absl::Status HandlerPool::BusyStatus() {
  return absl::ResourceExhaustedError(
      "the server is busy: every request handler thread is taken and its "
      "queue is full; retry with backoff (operators: raise --handler-threads "
      "/ CRM_HANDLER_THREADS if the disk keeps up)");
}

HandlerPool::Stats HandlerPool::stats() const {
  absl::MutexLock lock(&mutex_);
  return Stats{.threads = threads_.size(),
               .busy = busy_,
               .queued = queue_.size(),
               .run = run_,
               .refused = refused_};
}

void HandlerPool::Run() {
  const auto has_work = [this]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) {
    return !queue_.empty() || stopping_;
  };
  mutex_.Lock();
  while (true) {
    mutex_.Await(absl::Condition(&has_work));
    if (queue_.empty()) break;  // Stopping, and nothing left to run.
    absl::AnyInvocable<void()&&> body = std::move(queue_.front());
    queue_.pop_front();
    ++busy_;
    mutex_.Unlock();
    std::move(body)();
    body = nullptr;  // What it captured goes before the lock is taken.
    mutex_.Lock();
    --busy_;
    ++run_;
  }
  mutex_.Unlock();
}

}  // namespace crm::server
