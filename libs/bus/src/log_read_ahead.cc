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
  std::vector<eventstore::Envelope> envelopes;
  std::vector<Event> filling;
  while (true) {
    absl::Status status =
        subscription_->NextInto(absl::Milliseconds(100), envelopes);
    if (!status.ok()) {
      absl::MutexLock lock(&mu_);
      if (!stop_) error_ = std::move(status);
      return;
    }
    if (envelopes.empty()) continue;  // Caught up: wait for more.
    filling.resize(envelopes.size());
    for (size_t i = 0; i < envelopes.size(); ++i) {
      const eventstore::Envelope& envelope = envelopes[i];
      Event& event = filling[i];
      event.position = envelope.global_position();
      event.stream = envelope.stream();
      event.event_id = envelope.event_id();
      event.type = envelope.type();
      envelope.SerializeToString(&event.value);
    }
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
