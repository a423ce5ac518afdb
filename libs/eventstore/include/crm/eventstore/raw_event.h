// RawEvent: one event of the log as the store holds it, for readers that
// forward events unchanged (the outbox relay): the serialized EventEnvelope,
// byte for byte, and the fields they route by. Reading raw events skips
// parsing the envelope into a message and serializing it again: the fields
// are read from the envelope's wire form, the payload is not touched.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace crm::eventstore {

struct RawEvent {
  uint64_t global_position = 0;
  std::string stream;
  std::string event_id;
  std::string type;
  // The serialized EventEnvelope, every field set (docs/storage-format.md).
  std::string envelope;
};

// A page of raw events, as AllSlice is of parsed ones.
struct RawSlice {
  std::vector<RawEvent> events;
  uint64_t next_position = 0;
  bool end_of_log = true;
};

}  // namespace crm::eventstore
