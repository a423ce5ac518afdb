// ReadAheadFeed: an EventFeed that reads its inner feed on a thread of its
// own, one batch ahead, so that reading the source (for the local log: the
// RocksDB scan and the envelopes' parsing) overlaps with applying the
// previous batch. Internal to the engine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "crm/projection/event_feed.h"

namespace crm::projection {

class ReadAheadFeed final : public EventFeed {
 public:
  // Starts reading `inner` at once, `max_events` at a time, each read
  // waiting up to `timeout`.
  ReadAheadFeed(std::unique_ptr<EventFeed> inner, absl::Duration timeout,
                size_t max_events);
  // Cancels the inner feed and waits for the thread.
  ~ReadAheadFeed() override;

  // The next batch the thread has read, waiting for the read in progress
  // (which the constructor's timeout bounds): its events, checkpoint and
  // status exactly as the inner feed returned them. After an error the
  // thread reads again only once this is called again, so a caller's
  // backoff holds the reads back too. `timeout` and `max_events` are
  // ignored: the constructor's apply.
  absl::Status Next(absl::Duration timeout, size_t max_events,
                    std::vector<Envelope>& events,
                    std::string& checkpoint) override;
  // As the inner feed reported them right after reading the batch the last
  // Next returned (or at construction).
  bool CaughtUp() const override { return delivered_.caught_up; }
  uint64_t Position() const override { return delivered_.position; }
  uint64_t Lag() const override { return delivered_.lag; }
  void Cancel() override;

 private:
  struct Progress {
    bool caught_up = false;
    uint64_t position = 0;
    uint64_t lag = 0;
  };
  struct Batch {
    absl::Status status;
    std::vector<Envelope> events;
    std::string checkpoint;
    Progress progress;
  };

  void Read();

  const std::unique_ptr<EventFeed> inner_;
  const absl::Duration timeout_;
  const size_t max_events_;
  Progress delivered_;  // Only the caller of Next uses it.

  absl::Mutex mu_;
  // The batch read and not taken yet. Next swaps the caller's vector and
  // string in, so the thread reads into the storage of an earlier batch.
  Batch ready_ ABSL_GUARDED_BY(mu_);
  bool has_ready_ ABSL_GUARDED_BY(mu_) = false;
  bool paused_ ABSL_GUARDED_BY(mu_) = false;  // After an error, until Next.
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread reader_;  // Last: starts after the members above exist.
};

}  // namespace crm::projection
