#include "crm/eventstore/expected_version.h"

#include "absl/status/status.h"
#include "fmt/format.h"

namespace crm::eventstore {

absl::StatusOr<ExpectedVersion> ExpectedVersion::FromWire(int64_t wire) {
  if (wire >= 0) return Exact(static_cast<uint64_t>(wire));
  switch (wire) {
    case kWireAny:
      return Any();
    case kWireNoStream:
      return NoStream();
    case kWireStreamExists:
      return StreamExists();
    default:
      return absl::InvalidArgumentError(fmt::format(
          "expected_version {} is not a known value; use -1 (any), -2 (no "
          "stream), -4 (stream exists) or a stream version >= 0",
          wire));
  }
}

bool ExpectedVersion::IsSatisfiedBy(uint64_t current) const {
  switch (kind_) {
    case Kind::kAny:
      return true;
    case Kind::kNoStream:
      return current == 0;
    case Kind::kStreamExists:
      return current > 0;
    case Kind::kExact:
      return current == version_;
  }
  return false;
}

std::string ExpectedVersion::ToString() const {
  switch (kind_) {
    case Kind::kAny:
      return "any";
    case Kind::kNoStream:
      return "no stream";
    case Kind::kStreamExists:
      return "stream exists";
    case Kind::kExact:
      return fmt::format("version {}", version_);
  }
  return "unknown";
}

}  // namespace crm::eventstore
