#include "log_read_ahead.h"

#include <utility>

#include "crm/base/status_macros.h"

namespace crm::bus {

absl::StatusOr<std::unique_ptr<LogReadAhead>> LogReadAhead::Start(
    eventstore::EventStore& store, uint64_t from, size_t batch_events) {
  ASSIGN_OR_RETURN(
      std::unique_ptr<eventstore::Subscription> subscription,
      store.SubscribeToAll(from, {.max_batch_events = batch_events}));
  std::unique_ptr<LogReadAhead> reader(
      new LogReadAhead(std::move(subscription)));
  reader->thread_ = std::thread([raw = reader.get()] { raw->Run(); });
  return reader;
}

LogReadAhead::~LogReadAhead() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  subscription_->Cancel();
  thread_.join();
}

void LogReadAhead::Run() {
  std::vector<Event> filling;
  while (true) {
    absl::Status status =
        subscription_->NextRawInto(absl::Milliseconds(100), filling);
    if (!status.ok()) {
      absl::MutexLock lock(&mu_);
      if (!stop_) error_ = std::move(status);
      return;
    }
    if (filling.empty()) continue;  // Caught up: wait for more.
    absl::MutexLock lock(&mu_);
    auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !has_ready_ || stop_;
    };
    mu_.Await(absl::Condition(&room));
    if (stop_) return;
    ready_.swap(filling);
    has_ready_ = true;
  }
}

absl::Status LogReadAhead::Next(absl::Duration timeout,
                                std::vector<Event>& batch) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return has_ready_ || !error_.ok();
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  if (has_ready_) {
    batch.swap(ready_);
    has_ready_ = false;
    return absl::OkStatus();
  }
  batch.clear();
  return error_;
}

}  // namespace crm::bus
