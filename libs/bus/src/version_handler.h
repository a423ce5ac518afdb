// VersionHandler: a test handler that folds events into per-stream versions
// and refuses any event that is not its stream's next version, so a
// repeated or reordered event shows up as a failure. Shared by the consumer
// tests and the crash test's child process. Test-only.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/synchronization/mutex.h"
#include "crm/base/status_macros.h"
#include "crm/bus/consumer.h"
#include "fmt/format.h"

namespace crm::bus::test_util {

// Stores, per stream, the last stream_version applied ("v/<stream>"), and
// the number of events applied ("total/<topic>/<partition>"). An event that is
// not the next version of its stream is refused (so a repeated or reordered
// event is caught), as is one whose event_id is poisoned.
class VersionHandler final : public EventHandler {
 public:
  explicit VersionHandler(rocksdb::ColumnFamilyHandle& family)
      : family_(family) {}

  absl::Status Handle(const Envelope& event, const EventOrigin& origin,
                      HandlerBatch& batch) override {
    {
      absl::MutexLock lock(&mu_);
      ++attempts_[event.event_id()];
      if (poisoned_.contains(event.event_id()) ||
          poisoned_.contains(event.stream())) {
        return absl::InternalError(
            fmt::format("event {} is poisoned", event.event_id()));
      }
      if (fail_first_attempts_ > 0 && attempts_[event.event_id()] == 1) {
        --fail_first_attempts_;
        batch.Put(family_, "garbage/" + event.event_id(), "x");
        return absl::UnavailableError("a transient failure");
      }
    }
    const std::string key = "v/" + event.stream();
    ASSIGN_OR_RETURN(std::optional<std::string> last, batch.Get(family_, key));
    uint64_t last_version = 0;
    if (last.has_value() && !absl::SimpleAtoi(*last, &last_version)) {
      return absl::DataLossError("bad version");
    }
    if (event.stream_version() != last_version + 1) {
      return absl::FailedPreconditionError(
          fmt::format("stream {} got version {} after {}", event.stream(),
                      event.stream_version(), last_version));
    }
    batch.Put(family_, key, std::to_string(event.stream_version()));
    // One counter per partition: two members of a group never write the
    // same one.
    const std::string total_key =
        fmt::format("total/{}/{}", origin.topic, origin.partition);
    ASSIGN_OR_RETURN(std::optional<std::string> total,
                     batch.Get(family_, total_key));
    uint64_t count = 0;
    if (total.has_value() && !absl::SimpleAtoi(*total, &count)) {
      return absl::DataLossError("bad total");
    }
    batch.Put(family_, total_key, std::to_string(count + 1));
    return absl::OkStatus();
  }

  // Fails every attempt at the event `event_id`, or at every event of the
  // stream of that name.
  void Poison(const std::string& event_id) {
    absl::MutexLock lock(&mu_);
    poisoned_.insert(event_id);
  }
  void Cure() {
    absl::MutexLock lock(&mu_);
    poisoned_.clear();
  }
  void FailFirstAttempts(int count) {
    absl::MutexLock lock(&mu_);
    fail_first_attempts_ = count;
  }
  int attempts(const std::string& event_id) const {
    absl::MutexLock lock(&mu_);
    auto it = attempts_.find(event_id);
    return it == attempts_.end() ? 0 : it->second;
  }

 private:
  rocksdb::ColumnFamilyHandle& family_;
  mutable absl::Mutex mu_;
  std::set<std::string> poisoned_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> attempts_ ABSL_GUARDED_BY(mu_);
  int fail_first_attempts_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace crm::bus::test_util
