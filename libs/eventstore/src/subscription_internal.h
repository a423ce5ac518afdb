// The Subscription of RocksDbEventStore: pages through the log with ReadAll
// and, once caught up, waits for the store's last position to move.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "crm/eventstore/subscription.h"

namespace crm::eventstore::internal {

class RocksDbEventStore;

class LogSubscription final : public Subscription {
 public:
  // REQUIRES: `store` outlives this subscription.
  LogSubscription(const RocksDbEventStore& store, uint64_t from_position,
                  SubscriptionOptions options);

  absl::Status NextInto(
      absl::Duration timeout,
      std::vector<::crm::common::v1::EventEnvelope>& batch) override;
  absl::Status NextRawInto(absl::Duration timeout,
                           std::vector<RawEvent>& batch) override;
  void Cancel() override;
  uint64_t next_position() const override { return next_position_; }

 private:
  // NextInto and NextRawInto: `read(from, max_count, slice)` is the store's
  // ReadAllInto or ReadAllRawInto.
  template <typename Slice, typename Read>
  absl::Status NextBatch(absl::Duration timeout, decltype(Slice::events)& batch,
                         Read read);

  const RocksDbEventStore& store_;
  const SubscriptionOptions options_;
  // Only the thread calling Next() writes it.
  std::atomic<uint64_t> next_position_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace crm::eventstore::internal
