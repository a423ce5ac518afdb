// ExpectedVersion: the optimistic-concurrency condition of an append.
//
// Stream versions count from 1 (the first event of a stream has version 1); a
// stream with no events has version 0. An append names what it expects the
// stream's current version to be and fails, appending nothing, when the
// stream has moved:
//
//   store->Append("contact-42", ExpectedVersion::Exact(state.version), events);
//   store->Append("contact-42", ExpectedVersion::NoStream(), {created});
//
// Value type; copyable; thread-compatible.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace crm::eventstore {

class ExpectedVersion {
 public:
  enum class Kind {
    kAny,           // No check: append whatever the stream's state.
    kNoStream,      // The stream must have no events (version 0).
    kStreamExists,  // The stream must have at least one event.
    kExact,         // The stream's version must equal version().
  };

  // Wire encoding of the non-exact kinds, for APIs that carry an expected
  // version as one signed integer (the same numbers as EventStoreDB):
  // -1 any, -2 no stream, -4 stream exists, and n >= 0 exact version n
  // (0 means no stream).
  static constexpr int64_t kWireAny = -1;
  static constexpr int64_t kWireNoStream = -2;
  static constexpr int64_t kWireStreamExists = -4;

  static constexpr ExpectedVersion Any() { return {Kind::kAny, 0}; }
  static constexpr ExpectedVersion NoStream() { return {Kind::kNoStream, 0}; }
  static constexpr ExpectedVersion StreamExists() {
    return {Kind::kStreamExists, 0};
  }
  // Exact(0) is the same condition as NoStream() and is normalised to it.
  static constexpr ExpectedVersion Exact(uint64_t version) {
    return version == 0 ? NoStream() : ExpectedVersion(Kind::kExact, version);
  }

  // Decodes the wire encoding above. Errors: INVALID_ARGUMENT for any other
  // negative value, naming the value and the accepted ones.
  static absl::StatusOr<ExpectedVersion> FromWire(int64_t wire);

  Kind kind() const { return kind_; }
  // The exact version; 0 unless kind() == kExact.
  uint64_t version() const { return version_; }

  // True when a stream whose current version is `current` (0 = no events)
  // satisfies this condition.
  bool IsSatisfiedBy(uint64_t current) const;

  // "any", "no stream", "stream exists" or "version 7", for messages.
  std::string ToString() const;

  friend bool operator==(const ExpectedVersion&,
                         const ExpectedVersion&) = default;

 private:
  constexpr ExpectedVersion(Kind kind, uint64_t version)
      : kind_(kind), version_(version) {}

  Kind kind_;
  uint64_t version_;
};

}  // namespace crm::eventstore
