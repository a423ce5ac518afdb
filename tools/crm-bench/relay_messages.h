// RelayMessages: the Kafka messages the outbox relay makes of a store's log
// (docs/kafka-message.md), read ahead for the ceiling of `crm-bench relay`.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crm/eventstore/event_store.h"

namespace crm::bench {

// The relay's Kafka messages for a whole log (docs/kafka-message.md), packed
// in one buffer so that freeing them returns the memory to the system before
// the relay's peak RSS is measured.
class RelayMessages {
 public:
  struct Message {
    std::string_view key;    // The envelope's stream.
    std::string_view value;  // The serialized envelope.
    std::string_view event_id;
    std::string_view type;
  };

  // Appends the message the relay makes of `event`.
  void Add(const eventstore::Envelope& event);

  size_t size() const { return ends_.size(); }
  Message operator[](size_t index) const;

 private:
  // Where each part of a message ends in bytes_; it starts where the part
  // before it (or the previous message) ends.
  struct Ends {
    size_t key = 0;
    size_t value = 0;
    size_t event_id = 0;
    size_t type = 0;
  };

  std::string bytes_;
  std::vector<Ends> ends_;
};

// The relay's message of every event of `store`'s log, in log order, read
// with ReadAllInto pages of `page_events`.
// Errors: from the store; INTERNAL when the log has a gap.
absl::StatusOr<RelayMessages> ReadRelayMessages(
    const eventstore::EventStore& store, size_t page_events);

}  // namespace crm::bench
