// The Activity aggregate: a call, meeting, task, note or logged email on a
// contact and/or an account. Its text (subject, body, location,
// participants) is sealed under the contact's key (the account's when there
// is no contact), so erasing the person shreds it. Rules as in contact.h;
// field paths are those of the crm.contact.v1.Activity resource. Whether the
// referenced contact and account exist is checked by the caller (against
// its read model), not here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/contact/domain/context.h"
#include "crm/contact/domain/sealer.h"
#include "crm/contact/v1/contact_events.pb.h"

namespace crm::contact {

using ActivityEvent =
    std::variant<v1::ActivityLogged, v1::ActivityUpdated, v1::ActivityCompleted,
                 v1::ActivityReopened, v1::ActivityDeleted>;

// The writable fields of an activity.
struct ActivityFields {
  v1::ActivityKind kind = v1::ACTIVITY_KIND_UNSPECIFIED;  // fixed after Log
  std::string contact_id;
  std::string account_id;
  std::string owner;  // empty on Log means the actor
  v1::ActivityDirection direction = v1::ACTIVITY_DIRECTION_UNSPECIFIED;
  std::optional<absl::Time> start_time;  // empty on Log means context.now
  std::optional<absl::Time> end_time;
  std::optional<absl::Time> due_time;
  v1::ActivityContent content;
};

// Writable paths: contact, account, owner, subject, body, location,
// participants, direction, start_time, end_time, due_time.
const std::vector<std::string>& ActivityFieldPaths();

struct ActivityState {
  std::string id;
  std::string tenant;
  uint64_t version = 0;
  v1::ActivityKind kind = v1::ACTIVITY_KIND_UNSPECIFIED;
  std::string contact_id;
  std::string account_id;
  std::string owner;
  v1::ActivityDirection direction = v1::ACTIVITY_DIRECTION_UNSPECIFIED;
  std::optional<absl::Time> start_time;
  std::optional<absl::Time> end_time;
  std::optional<absl::Time> due_time;
  v1::SealedData sealed_content;
  bool done = false;
  std::optional<absl::Time> complete_time;
  bool deleted = false;
  absl::Time create_time = absl::UnixEpoch();
  absl::Time update_time = absl::UnixEpoch();

  bool exists() const { return version > 0; }
};

struct LogActivity {
  std::string activity_id;
  ActivityFields fields;
};

struct UpdateActivity {
  std::string activity_id;
  std::vector<std::string> update_mask;
  ActivityFields fields;  // kind is ignored
};

struct CompleteActivity {
  std::string activity_id;
};

struct ReopenActivity {
  std::string activity_id;
};

struct DeleteActivity {
  std::string activity_id;
};

using ActivityCommand =
    std::variant<LogActivity, UpdateActivity, CompleteActivity, ReopenActivity,
                 DeleteActivity>;

// Per command, besides the common rules:
//   Log: ALREADY_EXISTS when the id is taken; INVALID_ARGUMENT when kind is
//     unspecified, neither contact nor account is given ("contact"), a task,
//     call or meeting has no subject, a due_time is on a non-task, a
//     direction on anything but a call or email, end_time is before
//     start_time, or a text is too long.
//   Update: INVALID_ARGUMENT for an empty or unknown mask path, "kind"
//     (fixed), or a result breaking the rules of Log; no event when nothing
//     changes.
//   Complete: FAILED_PRECONDITION for a non-task or a done task.
//   Reopen: FAILED_PRECONDITION for a non-task or a task not done.
//   Delete: FAILED_PRECONDITION when already deleted.
// A deleted activity refuses every change (FAILED_PRECONDITION).
absl::StatusOr<std::vector<ActivityEvent>> Decide(
    const ActivityState& state, const ActivityCommand& command,
    const CommandContext& context, PersonalDataSealer& sealer);

// Folds one event into the state (version + 1).
ActivityState Apply(ActivityState state, const ActivityEvent& event,
                    const EventMeta& meta);

// The key subject an activity's content is sealed under: its contact, else
// its account.
std::string ActivityKeySubject(std::string_view contact_id,
                               std::string_view account_id);

}  // namespace crm::contact
