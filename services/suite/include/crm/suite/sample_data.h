// Sample data: what a new user of crm-suite finds on first start — a few
// accounts, a few dozen contacts with relationships to them, and activities
// (calls, meetings, tasks, notes) — in the tenant "demo".
//
// Everything is obviously fake (names like "Ada Sample", emails under
// example.com, phone numbers from the ranges reserved for drama) and goes
// through the contact service's own write path (its gRPC handlers), with
// ids derived from fixed keys (DeriveId) and fixed request ids: writing the
// sample data again, after a restart or a crash midway, creates nothing
// twice. A record that already exists (ALREADY_EXISTS once its request id
// has expired) counts as written.
//
// An area of the API that answers UNIMPLEMENTED (not built yet) is skipped
// and named in the summary; contacts are always written.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/contact/v1/contact_service.grpc.pb.h"

namespace crm::suite {

// The tenant and actor the sample data is written as.
inline constexpr char kSampleTenant[] = "demo";
inline constexpr char kSampleActor[] = "sample-data";

// The sizes of the data set.
inline constexpr int kSampleAccounts = 4;
inline constexpr int kSampleContacts = 32;

struct SampleDataSummary {
  int accounts = 0;
  int contacts = 0;
  int relationships = 0;
  int activities = 0;
  // Areas skipped because their RPCs answered UNIMPLEMENTED
  // ("accounts", "relationships", "activities").
  std::vector<std::string> skipped_areas;
};

// The resource name ("contacts/<id>") of sample contact `index`
// (0 <= index < kSampleContacts): the same in every installation.
std::string SampleContactName(int index);

// Writes the sample data through `stub`, each call bounded by
// `call_timeout`. `cancelled` is checked before each call.
// Errors: CANCELLED when `cancelled` returned true; otherwise the first
// call that failed other than ALREADY_EXISTS or UNIMPLEMENTED, as
// "<what was written>: <code>: <message>" with its code.
absl::StatusOr<SampleDataSummary> WriteSampleData(
    contact::v1::ContactService::StubInterface& stub,
    const std::function<bool()>& cancelled,
    absl::Duration call_timeout = absl::Seconds(30));

}  // namespace crm::suite
