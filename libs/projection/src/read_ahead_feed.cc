#include "read_ahead_feed.h"

#include <utility>

namespace crm::projection {

ReadAheadFeed::ReadAheadFeed(std::unique_ptr<EventFeed> inner,
                             absl::Duration timeout, size_t max_events)
    : inner_(std::move(inner)),
      timeout_(timeout),
      max_events_(max_events),
      delivered_{.caught_up = inner_->CaughtUp(),
                 .position = inner_->Position(),
                 .lag = inner_->Lag()},
      reader_([this] { Read(); }) {}

ReadAheadFeed::~ReadAheadFeed() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  inner_->Cancel();
  reader_.join();
}

void ReadAheadFeed::Read() {
  std::vector<Envelope> events;
  std::string checkpoint;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      auto can_read = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || (!has_ready_ && !paused_);
      };
      mu_.Await(absl::Condition(&can_read));
      if (stopping_) return;
    }
    absl::Status status =
        inner_->Next(timeout_, max_events_, events, checkpoint);
    const Progress progress = {.caught_up = inner_->CaughtUp(),
                               .position = inner_->Position(),
                               .lag = inner_->Lag()};
    absl::MutexLock lock(&mu_);
    ready_.status = std::move(status);
    ready_.events.swap(events);
    ready_.checkpoint.swap(checkpoint);
    ready_.progress = progress;
    has_ready_ = true;
    paused_ = !ready_.status.ok();
  }
}

absl::Status ReadAheadFeed::Next(absl::Duration /*timeout*/,
                                 size_t /*max_events*/,
                                 std::vector<Envelope>& events,
                                 std::string& checkpoint) {
  absl::MutexLock lock(&mu_);
  if (paused_ && !has_ready_) paused_ = false;  // The error was taken.
  // The thread is reading (or about to): its read, bounded by the inner
  // feed's timeout, gives the answer. Timing out here instead would only
  // report "no events" while events are being read.
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return has_ready_ || cancelled_;
  };
  mu_.Await(absl::Condition(&ready));
  if (cancelled_) {
    events.clear();
    return absl::CancelledError("the feed was cancelled");
  }
  has_ready_ = false;
  events.swap(ready_.events);
  checkpoint.swap(ready_.checkpoint);
  delivered_ = ready_.progress;
  absl::Status status = std::move(ready_.status);
  ready_.status = absl::OkStatus();
  if (!status.ok()) events.clear();
  return status;
}

void ReadAheadFeed::Cancel() {
  {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
  }
  inner_->Cancel();
}

}  // namespace crm::projection
