#include "relay_messages.h"

#include "crm/base/status_macros.h"
#include "fmt/format.h"
#include "run_control.h"

namespace crm::bench {

void RelayMessages::Add(const eventstore::Envelope& event) {
  Ends ends;
  bytes_.append(event.stream());
  ends.key = bytes_.size();
  event.AppendToString(&bytes_);
  ends.value = bytes_.size();
  bytes_.append(event.event_id());
  ends.event_id = bytes_.size();
  bytes_.append(event.type());
  ends.type = bytes_.size();
  ends_.push_back(ends);
}

RelayMessages::Message RelayMessages::operator[](size_t index) const {
  const Ends& ends = ends_[index];
  const size_t start = index == 0 ? 0 : ends_[index - 1].type;
  const std::string_view bytes(bytes_);
  return {bytes.substr(start, ends.key - start),
          bytes.substr(ends.key, ends.value - ends.key),
          bytes.substr(ends.value, ends.event_id - ends.value),
          bytes.substr(ends.event_id, ends.type - ends.event_id)};
}

absl::StatusOr<RelayMessages> ReadRelayMessages(
    const eventstore::EventStore& store, size_t page_events) {
  RelayMessages messages;
  eventstore::AllSlice slice;
  uint64_t next = 1;
  while (next <= store.LastPosition()) {
    if (StopRequested()) return absl::CancelledError("stopped by a signal");
    RETURN_IF_ERROR(store.ReadAllInto(next, page_events, slice));
    if (slice.events.empty()) break;
    for (const eventstore::Envelope& event : slice.events) {
      if (event.global_position() != next) {
        return absl::InternalError(fmt::format(
            "ReadAllInto returned position {} where {} was due (a bug in "
            "libs/eventstore)",
            event.global_position(), next));
      }
      messages.Add(event);
      ++next;
    }
  }
  if (messages.size() != store.LastPosition()) {
    return absl::InternalError(fmt::format(
        "read {} events of a log whose last position is {} (a bug in "
        "libs/eventstore)",
        messages.size(), store.LastPosition()));
  }
  return messages;
}

}  // namespace crm::bench
