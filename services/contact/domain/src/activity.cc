// The Activity aggregate: Decide and Apply.
#include "crm/contact/domain/activity.h"

#include <algorithm>

#include "crm/base/status_macros.h"
#include "crm/contact/domain/field_violation.h"
#include "fmt/format.h"
#include "proto_fields.h"
#include "validation.h"

namespace crm::contact {
namespace {

using Events = std::vector<ActivityEvent>;

constexpr size_t kMaxSubjectBytes = 512;
constexpr size_t kMaxBodyBytes = size_t{64} * 1024;
constexpr size_t kMaxParticipants = 50;

bool IsContentField(std::string_view path) {
  return path == "subject" || path == "body" || path == "location" ||
         path == "participants";
}

std::optional<absl::Time> OptionalTime(bool has,
                                       const google::protobuf::Timestamp& t) {
  if (!has) return std::nullopt;
  return FromTimestamp(t);
}

ActivityFields CurrentFields(const ActivityState& state,
                             v1::ActivityContent content) {
  ActivityFields fields;
  fields.kind = state.kind;
  fields.contact_id = state.contact_id;
  fields.account_id = state.account_id;
  fields.owner = state.owner;
  fields.direction = state.direction;
  fields.start_time = state.start_time;
  fields.end_time = state.end_time;
  fields.due_time = state.due_time;
  fields.content = std::move(content);
  return fields;
}

void CopyField(std::string_view path, const ActivityFields& from,
               ActivityFields* to) {
  if (path == "contact") to->contact_id = from.contact_id;
  if (path == "account") to->account_id = from.account_id;
  if (path == "owner") to->owner = from.owner;
  if (path == "direction") to->direction = from.direction;
  if (path == "start_time") to->start_time = from.start_time;
  if (path == "end_time") to->end_time = from.end_time;
  if (path == "due_time") to->due_time = from.due_time;
  if (IsContentField(path)) {
    internal::CopyProtoField(from.content, &to->content, path);
  }
}

bool FieldEquals(std::string_view path, const ActivityFields& a,
                 const ActivityFields& b) {
  if (path == "contact") return a.contact_id == b.contact_id;
  if (path == "account") return a.account_id == b.account_id;
  if (path == "owner") return a.owner == b.owner;
  if (path == "direction") return a.direction == b.direction;
  if (path == "start_time") return a.start_time == b.start_time;
  if (path == "end_time") return a.end_time == b.end_time;
  if (path == "due_time") return a.due_time == b.due_time;
  return internal::ProtoFieldEquals(a.content, b.content, path);
}

// Normalizes the named fields, then checks the rules that span fields on
// the whole result.
void NormalizeFields(ViolationList& violations,
                     const std::vector<std::string>& paths,
                     ActivityFields* fields) {
  v1::ActivityContent& content = fields->content;
  for (const std::string& path : paths) {
    if (path == "contact") {
      internal::CheckId(violations, path, fields->contact_id, false);
    } else if (path == "account") {
      internal::CheckId(violations, path, fields->account_id, false);
    } else if (path == "owner") {
      fields->owner = internal::Trim(fields->owner);
      if (fields->owner.empty())
        violations.Add(path, "is required (a user id)");
      internal::CheckText(violations, path, fields->owner,
                          internal::kMaxNameBytes, false);
    } else if (path == "subject") {
      content.set_subject(internal::Trim(content.subject()));
      internal::CheckText(violations, path, content.subject(), kMaxSubjectBytes,
                          false);
    } else if (path == "body") {
      internal::CheckText(violations, path, content.body(), kMaxBodyBytes,
                          true);
    } else if (path == "location") {
      content.set_location(internal::Trim(content.location()));
      internal::CheckText(violations, path, content.location(),
                          kMaxSubjectBytes, false);
    } else if (path == "participants") {
      internal::NormalizeEmails(violations, path, kMaxParticipants,
                                content.mutable_participants());
    } else if (path == "direction") {
      if (!v1::ActivityDirection_IsValid(fields->direction)) {
        violations.Add(path, "is not a known direction");
      }
    }
  }
}

void CheckRules(ViolationList& violations, const ActivityFields& fields) {
  v1::ActivityKind kind = fields.kind;
  if (fields.contact_id.empty() && fields.account_id.empty()) {
    violations.Add("contact",
                   "an activity needs a contact, an account or both");
  }
  bool needs_subject = kind == v1::ACTIVITY_KIND_TASK ||
                       kind == v1::ACTIVITY_KIND_CALL ||
                       kind == v1::ACTIVITY_KIND_MEETING;
  if (needs_subject && fields.content.subject().empty()) {
    violations.Add("subject", "is required for tasks, calls and meetings");
  }
  if (fields.due_time.has_value() && kind != v1::ACTIVITY_KIND_TASK) {
    violations.Add("due_time", "only tasks have a due time");
  }
  if (fields.direction != v1::ACTIVITY_DIRECTION_UNSPECIFIED &&
      kind != v1::ACTIVITY_KIND_CALL && kind != v1::ACTIVITY_KIND_EMAIL) {
    violations.Add("direction", "only calls and emails have a direction");
  }
  if (fields.end_time.has_value() && fields.start_time.has_value() &&
      *fields.end_time < *fields.start_time) {
    violations.Add("end_time", "must not be before start_time");
  }
}

class ActivityDecider {
 public:
  ActivityDecider(const ActivityState& state, const CommandContext& context,
                  PersonalDataSealer& sealer)
      : state_(state), context_(context), sealer_(sealer) {}

  absl::StatusOr<Events> operator()(const LogActivity& command) const {
    ViolationList violations;
    internal::CheckId(violations, "activity_id", command.activity_id, true);
    ActivityFields fields = command.fields;
    if (fields.kind == v1::ACTIVITY_KIND_UNSPECIFIED ||
        !v1::ActivityKind_IsValid(fields.kind)) {
      violations.Add("kind", "is required: CALL, MEETING, TASK, NOTE or EMAIL");
    }
    if (internal::Trim(fields.owner).empty()) fields.owner = context_.actor;
    if (!fields.start_time.has_value()) fields.start_time = context_.now;
    NormalizeFields(violations, ActivityFieldPaths(), &fields);
    CheckRules(violations, fields);
    RETURN_IF_ERROR(violations.ToStatus("activity"));
    if (state_.exists()) {
      return absl::AlreadyExistsError(fmt::format(
          "an activity with id {} exists already; choose another id or omit "
          "it",
          command.activity_id));
    }
    v1::ActivityLogged logged;
    logged.set_activity_id(command.activity_id);
    logged.set_kind(fields.kind);
    logged.set_contact_id(fields.contact_id);
    logged.set_account_id(fields.account_id);
    logged.set_owner(fields.owner);
    logged.set_direction(fields.direction);
    *logged.mutable_start_time() = ToTimestamp(*fields.start_time);
    if (fields.end_time) {
      *logged.mutable_end_time() = ToTimestamp(*fields.end_time);
    }
    if (fields.due_time) {
      *logged.mutable_due_time() = ToTimestamp(*fields.due_time);
    }
    ASSIGN_OR_RETURN(*logged.mutable_sealed_content(), Seal(fields));
    return Events{std::move(logged)};
  }

  absl::StatusOr<Events> operator()(const UpdateActivity& command) const {
    ViolationList violations;
    internal::CheckId(violations, "activity_id", command.activity_id, true);
    if (internal::Contains(command.update_mask, "kind")) {
      violations.Add("update_mask",
                     "'kind' cannot change; log a new activity instead");
    }
    std::vector<std::string> paths;
    if (violations.empty()) {
      paths = internal::ExpandUpdateMask(violations, command.update_mask,
                                         ActivityFieldPaths());
    }
    ActivityFields requested = command.fields;
    NormalizeFields(violations, paths, &requested);
    RETURN_IF_ERROR(violations.ToStatus("activity update"));
    RETURN_IF_ERROR(CheckWritable(command.activity_id));

    v1::ActivityContent content;
    RETURN_IF_ERROR(OpenMessage(sealer_, state_.sealed_content, &content));
    ActivityFields current = CurrentFields(state_, std::move(content));
    ActivityFields next = current;
    std::vector<std::string> changed;
    for (const std::string& path : paths) {
      if (FieldEquals(path, current, requested)) continue;
      CopyField(path, requested, &next);
      changed.push_back(path);
    }
    ViolationList rules;
    CheckRules(rules, next);
    RETURN_IF_ERROR(rules.ToStatus("activity update"));
    if (changed.empty()) return Events{};
    std::sort(changed.begin(), changed.end());

    v1::ActivityUpdated updated;
    updated.set_activity_id(state_.id);
    bool reseal = ActivityKeySubject(current.contact_id, current.account_id) !=
                  ActivityKeySubject(next.contact_id, next.account_id);
    for (const std::string& path : changed) {
      updated.add_changed_fields(path);
      reseal = reseal || IsContentField(path);
    }
    updated.set_contact_id(next.contact_id);
    updated.set_account_id(next.account_id);
    updated.set_owner(next.owner);
    updated.set_direction(next.direction);
    if (next.start_time) {
      *updated.mutable_start_time() = ToTimestamp(*next.start_time);
    }
    if (next.end_time) {
      *updated.mutable_end_time() = ToTimestamp(*next.end_time);
    }
    if (next.due_time) {
      *updated.mutable_due_time() = ToTimestamp(*next.due_time);
    }
    if (reseal) {
      ASSIGN_OR_RETURN(*updated.mutable_sealed_content(), Seal(next));
    }
    return Events{std::move(updated)};
  }

  absl::StatusOr<Events> operator()(const CompleteActivity& command) const {
    RETURN_IF_ERROR(CheckWritable(command.activity_id));
    RETURN_IF_ERROR(CheckTask());
    if (state_.done) {
      return absl::FailedPreconditionError(
          fmt::format("task {} is done already", state_.id));
    }
    v1::ActivityCompleted completed;
    completed.set_activity_id(state_.id);
    return Events{std::move(completed)};
  }

  absl::StatusOr<Events> operator()(const ReopenActivity& command) const {
    RETURN_IF_ERROR(CheckWritable(command.activity_id));
    RETURN_IF_ERROR(CheckTask());
    if (!state_.done) {
      return absl::FailedPreconditionError(
          fmt::format("task {} is not done", state_.id));
    }
    v1::ActivityReopened reopened;
    reopened.set_activity_id(state_.id);
    return Events{std::move(reopened)};
  }

  absl::StatusOr<Events> operator()(const DeleteActivity& command) const {
    RETURN_IF_ERROR(CheckWritable(command.activity_id));
    v1::ActivityDeleted deleted;
    deleted.set_activity_id(state_.id);
    return Events{std::move(deleted)};
  }

 private:
  absl::StatusOr<v1::SealedData> Seal(const ActivityFields& fields) const {
    return SealMessage(
        sealer_,
        KeyIdFor(context_.tenant,
                 ActivityKeySubject(fields.contact_id, fields.account_id)),
        fields.content);
  }

  // Id valid, activity visible in the tenant, not deleted.
  absl::Status CheckWritable(std::string_view id) const {
    ViolationList violations;
    internal::CheckId(violations, "activity_id", id, true);
    RETURN_IF_ERROR(violations.ToStatus("request"));
    if (!state_.exists() || state_.tenant != context_.tenant) {
      return internal::NotFound("activity", id);
    }
    if (state_.deleted) {
      return absl::FailedPreconditionError(
          fmt::format("activity {} is deleted", state_.id));
    }
    return absl::OkStatus();
  }

  absl::Status CheckTask() const {
    if (state_.kind != v1::ACTIVITY_KIND_TASK) {
      return absl::FailedPreconditionError(fmt::format(
          "activity {} is not a task; only tasks are completed or reopened",
          state_.id));
    }
    return absl::OkStatus();
  }

  const ActivityState& state_;
  const CommandContext& context_;
  PersonalDataSealer& sealer_;
};

class ActivityApplier {
 public:
  ActivityApplier(ActivityState& state, const EventMeta& meta)
      : state_(state), meta_(meta) {}

  void operator()(const v1::ActivityLogged& e) {
    state_.id = e.activity_id();
    state_.tenant = meta_.tenant;
    state_.kind = e.kind();
    state_.contact_id = e.contact_id();
    state_.account_id = e.account_id();
    state_.owner = e.owner();
    state_.direction = e.direction();
    state_.start_time = OptionalTime(e.has_start_time(), e.start_time());
    state_.end_time = OptionalTime(e.has_end_time(), e.end_time());
    state_.due_time = OptionalTime(e.has_due_time(), e.due_time());
    state_.sealed_content = e.sealed_content();
    state_.create_time = meta_.occurred_at;
  }

  void operator()(const v1::ActivityUpdated& e) {
    state_.contact_id = e.contact_id();
    state_.account_id = e.account_id();
    state_.owner = e.owner();
    state_.direction = e.direction();
    state_.start_time = OptionalTime(e.has_start_time(), e.start_time());
    state_.end_time = OptionalTime(e.has_end_time(), e.end_time());
    state_.due_time = OptionalTime(e.has_due_time(), e.due_time());
    if (e.has_sealed_content()) state_.sealed_content = e.sealed_content();
  }

  void operator()(const v1::ActivityCompleted&) {
    state_.done = true;
    state_.complete_time = meta_.occurred_at;
  }

  void operator()(const v1::ActivityReopened&) {
    state_.done = false;
    state_.complete_time.reset();
  }

  void operator()(const v1::ActivityDeleted&) { state_.deleted = true; }

 private:
  ActivityState& state_;
  const EventMeta& meta_;
};

}  // namespace

const std::vector<std::string>& ActivityFieldPaths() {
  static const std::vector<std::string>* const paths =
      new std::vector<std::string>{"contact",      "account",   "owner",
                                   "subject",      "body",      "location",
                                   "participants", "direction", "start_time",
                                   "end_time",     "due_time"};
  return *paths;
}

std::string ActivityKeySubject(std::string_view contact_id,
                               std::string_view account_id) {
  return std::string(contact_id.empty() ? account_id : contact_id);
}

absl::StatusOr<std::vector<ActivityEvent>> Decide(
    const ActivityState& state, const ActivityCommand& command,
    const CommandContext& context, PersonalDataSealer& sealer) {
  RETURN_IF_ERROR(ValidateCommandContext(context));
  return std::visit(ActivityDecider(state, context, sealer), command);
}

ActivityState Apply(ActivityState state, const ActivityEvent& event,
                    const EventMeta& meta) {
  std::visit(ActivityApplier(state, meta), event);
  state.version += 1;
  state.update_time = meta.occurred_at;
  return state;
}

}  // namespace crm::contact
