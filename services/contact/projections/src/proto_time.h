// Times in the projections' stored protos (internal to contact_projections).
#pragma once

#include <cstdint>

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace crm::contact::projections::internal {

// `time` as a Timestamp (nanos always in [0, 1e9), also before 1970).
inline void SetTime(absl::Time time, google::protobuf::Timestamp* out) {
  const int64_t nanos = absl::ToUnixNanos(time);
  int64_t seconds = nanos / 1'000'000'000;
  int64_t rest = nanos % 1'000'000'000;
  if (rest < 0) {
    rest += 1'000'000'000;
    seconds -= 1;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(rest));
}

// `time` as a new Timestamp.
inline google::protobuf::Timestamp TimeProto(absl::Time time) {
  google::protobuf::Timestamp out;
  SetTime(time, &out);
  return out;
}

inline absl::Time GetTime(const google::protobuf::Timestamp& time) {
  return absl::FromUnixSeconds(time.seconds()) +
         absl::Nanoseconds(time.nanos());
}

}  // namespace crm::contact::projections::internal
