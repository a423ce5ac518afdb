// Conversions between absl::Time and google.protobuf.Timestamp, for the
// contact service's events, stored records and API messages.
#pragma once

#include <ctime>

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace crm::contact {

// `time` as a Timestamp. Its nanos are in [0, 1e9) also before 1970, as
// Timestamp requires (timespec's tv_nsec is).
inline google::protobuf::Timestamp ToTimestamp(absl::Time time) {
  const timespec spec = absl::ToTimespec(time);
  google::protobuf::Timestamp out;
  out.set_seconds(spec.tv_sec);
  out.set_nanos(static_cast<int32_t>(spec.tv_nsec));
  return out;
}

// Sets `*out` to ToTimestamp(time).
inline void SetTimestamp(absl::Time time, google::protobuf::Timestamp* out) {
  *out = ToTimestamp(time);
}

inline absl::Time FromTimestamp(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) +
         absl::Nanoseconds(timestamp.nanos());
}

}  // namespace crm::contact
