// History and time travel (internal to contact_api): a record's past folded
// from its own stream, for ListHistory (history_service.cc: contacts,
// accounts and activities) and for the as_of branch of GetContact /
// GetAccount.
//
//   ASSIGN_OR_RETURN(std::optional<AsOf> as_of,
//                    AsOfOf(request->has_as_of_time(), request->as_of_time(),
//                           request->as_of_version()));
//   if (as_of.has_value()) {
//     ASSIGN_OR_RETURN(*response, ContactAsOf(deps_, tenant, id, *as_of));
//   }
//
// Both read the stream (the store), never a projection: the projections keep
// only the present. The stream is read from its first event on every call
// (no snapshots yet), so the cost grows with the record's number of changes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/contact/api/contact_service.h"
#include "crm/contact/domain/account.h"
#include "crm/contact/domain/activity.h"
#include "crm/contact/domain/contact.h"
#include "crm/contact/v1/contact_service.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"

namespace crm::contact::api {

// A point in a record's history.
struct AsOf {
  std::optional<absl::Time> time;  // Events that occurred at or before it.
  uint64_t version = 0;            // Events up to this stream version.
};

// The point a Get request names: nullopt when neither as_of_time nor
// as_of_version is set (read the present). INVALID_ARGUMENT naming
// "as_of_version" when it is negative or both are set.
absl::StatusOr<std::optional<AsOf>> AsOfOf(
    bool has_time, const google::protobuf::Timestamp& time, int64_t version);

// The contact `id` of `tenant` as it was at `as_of`, converted to the
// resource as contacts_by_id converts it (projections::FromState and
// ToResource: an erased person comes back ERASED, without personal fields).
// Errors: NOT_FOUND when the contact does not exist in the tenant, or did
// not exist yet at as_of.time; INVALID_ARGUMENT naming "as_of_version" when
// the version is beyond the stream's last; the store's and the sealer's.
absl::StatusOr<v1::Contact> ContactAsOf(const ServiceDeps& deps,
                                        std::string_view tenant,
                                        std::string_view id, const AsOf& as_of);

// The account `id` of `tenant` as it was at `as_of`, converted as
// accounts_by_id converts it (projections::AccountResource). Errors as
// ContactAsOf's.
absl::StatusOr<v1::Account> AccountAsOf(const ServiceDeps& deps,
                                        std::string_view tenant,
                                        std::string_view id, const AsOf& as_of);

// How ListHistory shows a state of a record: its API resource. `unreadable`
// is set when the personal part could not be opened (the person was
// erased): the resource then holds no personal field, and `sealed` (the
// sealed bytes, to tell whether the personal part changed) is compared
// instead.
struct HistoryView {
  std::unique_ptr<google::protobuf::Message> resource;
  bool unreadable = false;
  std::string sealed;
};

// The changes between two views of the same resource type, one per
// top-level field whose value differs (name, etag, create_time and
// update_time excepted: the entry carries the version and time), values in
// the proto3 JSON mapping ("" for an unset field). When either view is
// unreadable and the sealed bytes differ, one change "personal_data" with
// both values empty stands for the redacted personal fields.
std::vector<v1::FieldChange> DiffViews(const HistoryView& before,
                                       const HistoryView& after);

// The view of a state of each aggregate, as its read model converts it
// (contacts_by_id, accounts_by_id, activities); HistoryPage picks the
// overload by the aggregate's State. An empty (not yet existing) state
// gives an empty resource. A contact's personal fields and an activity's
// content are redacted (unreadable) once the person's key is deleted;
// accounts hold no personal data.
absl::StatusOr<HistoryView> HistoryViewOf(const ContactState& state,
                                          PersonalDataSealer& sealer);
absl::StatusOr<HistoryView> HistoryViewOf(const AccountState& state,
                                          PersonalDataSealer& sealer);
absl::StatusOr<HistoryView> HistoryViewOf(const ActivityState& state,
                                          PersonalDataSealer& sealer);

}  // namespace crm::contact::api
