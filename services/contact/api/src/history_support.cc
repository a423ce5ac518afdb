#include "history_support.h"

#include <utility>
#include <vector>

#include "crm/base/status_macros.h"
#include "crm/contact/domain/sealer.h"
#include "crm/contact/projections/account_projections.h"
#include "crm/contact/projections/activity_projections.h"
#include "crm/contact/projections/contact_record.h"
#include "fmt/format.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "service_support.h"

namespace crm::contact::api {
namespace {

// Fields every version of a resource changes, or that never change: the
// history entry carries them itself.
bool IsBookkeeping(std::string_view field) {
  return field == "name" || field == "etag" || field == "create_time" ||
         field == "update_time";
}

// `message` reduced to `field` alone.
std::unique_ptr<google::protobuf::Message> OnlyField(
    const google::protobuf::Message& message,
    const google::protobuf::FieldDescriptor* field) {
  std::unique_ptr<google::protobuf::Message> only(message.New());
  only->CopyFrom(message);
  const google::protobuf::Reflection* reflection = only->GetReflection();
  const google::protobuf::Descriptor* descriptor = only->GetDescriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    if (descriptor->field(i) != field) {
      reflection->ClearField(only.get(), descriptor->field(i));
    }
  }
  return only;
}

// The value of `field` of `message` in the proto3 JSON mapping; "" when
// unset (or empty).
std::string FieldJson(const google::protobuf::Message& message,
                      const google::protobuf::FieldDescriptor* field) {
  std::unique_ptr<google::protobuf::Message> only = OnlyField(message, field);
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(*only, &json, options)
           .ok()) {
    return std::string();
  }
  // {"<name>":<value>} -> <value>; {} -> "".
  const std::string prefix = fmt::format("{{\"{}\":", field->name());
  if (json.size() <= prefix.size() + 1 ||
      json.compare(0, prefix.size(), prefix) != 0) {
    return std::string();
  }
  return json.substr(prefix.size(), json.size() - prefix.size() - 1);
}

// A state of `Aggregate` folded from its stream up to `as_of`; the state
// before the first event that lies beyond it.
template <typename Aggregate>
absl::StatusOr<typename Aggregate::State> FoldTo(const ServiceDeps& deps,
                                                 std::string_view tenant,
                                                 std::string_view id,
                                                 const AsOf& as_of) {
  const std::string what = fmt::format("{}/{}", Aggregate::kCollection, id);
  typename Aggregate::State state;
  uint64_t last_version = 0;
  std::optional<absl::Time> first_time;
  bool other_tenant = false;
  RETURN_IF_ERROR(ForEachEvent(
      deps.store, Aggregate::Stream(id),
      [&](const eventstore::Envelope& envelope) -> absl::StatusOr<bool> {
        if (envelope.tenant() != tenant) {
          other_tenant = true;
          return false;
        }
        last_version = envelope.stream_version();
        const absl::Time occurred = FromTimestamp(envelope.occurred_at());
        if (!first_time.has_value()) first_time = occurred;
        if (as_of.version != 0 && envelope.stream_version() > as_of.version) {
          return false;
        }
        if (as_of.time.has_value() && occurred > *as_of.time) return false;
        ASSIGN_OR_RETURN(typename Aggregate::Event event,
                         Aggregate::Read(envelope, deps.sealer));
        state = Apply(std::move(state), event, EventMetaOf(envelope));
        return true;
      }));
  if (other_tenant || !first_time.has_value()) {
    return absl::NotFoundError(fmt::format("{} does not exist", what));
  }
  if (as_of.version > last_version) {
    // ForEachEvent stopped at no event: every version was read.
    return InvalidField(
        "as_of_version",
        fmt::format("is beyond the last version of {} ({}); pass a version "
                    "from 1 to {} (an etag it had)",
                    what, last_version, last_version));
  }
  if (!state.exists()) {
    return absl::NotFoundError(fmt::format(
        "{} did not exist yet at {} (it was created at {}); pass a later "
        "as_of_time",
        what, absl::FormatTime(*as_of.time, absl::UTCTimeZone()),
        absl::FormatTime(*first_time, absl::UTCTimeZone())));
  }
  return state;
}

}  // namespace

absl::StatusOr<std::optional<AsOf>> AsOfOf(
    bool has_time, const google::protobuf::Timestamp& time, int64_t version) {
  if (version < 0) {
    return InvalidField("as_of_version",
                        "must not be negative; pass an etag the record had, "
                        "or 0 for the latest");
  }
  if (has_time && version != 0) {
    return InvalidField("as_of_version",
                        "is set together with as_of_time; set at most one");
  }
  if (!has_time && version == 0) return std::nullopt;
  AsOf as_of;
  if (has_time) as_of.time = FromTimestamp(time);
  as_of.version = static_cast<uint64_t>(version);
  return as_of;
}

absl::StatusOr<v1::Contact> ContactAsOf(const ServiceDeps& deps,
                                        std::string_view tenant,
                                        std::string_view id,
                                        const AsOf& as_of) {
  ASSIGN_OR_RETURN(ContactState state,
                   FoldTo<ContactAggregate>(deps, tenant, id, as_of));
  return projections::ToResource(projections::FromState(state), deps.sealer);
}

absl::StatusOr<v1::Account> AccountAsOf(const ServiceDeps& deps,
                                        std::string_view tenant,
                                        std::string_view id,
                                        const AsOf& as_of) {
  ASSIGN_OR_RETURN(AccountState state,
                   FoldTo<AccountAggregate>(deps, tenant, id, as_of));
  return projections::AccountResource(state);
}

std::vector<v1::FieldChange> DiffViews(const HistoryView& before,
                                       const HistoryView& after) {
  std::vector<v1::FieldChange> changes;
  const google::protobuf::Descriptor* descriptor =
      after.resource->GetDescriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = descriptor->field(i);
    if (IsBookkeeping(field->name())) continue;
    std::string old_value = FieldJson(*before.resource, field);
    std::string new_value = FieldJson(*after.resource, field);
    if (old_value == new_value) continue;
    v1::FieldChange& change = changes.emplace_back();
    change.set_field(field->name());
    change.set_old_value_json(std::move(old_value));
    change.set_new_value_json(std::move(new_value));
  }
  if ((before.unreadable || after.unreadable) &&
      before.sealed != after.sealed) {
    changes.emplace_back().set_field("personal_data");
  }
  return changes;
}

absl::StatusOr<HistoryView> HistoryViewOf(const ContactState& state,
                                          PersonalDataSealer& sealer) {
  HistoryView view;
  if (!state.exists()) {
    view.resource = std::make_unique<v1::Contact>();
    return view;
  }
  const projections::StoredContact stored = projections::FromState(state);
  ASSIGN_OR_RETURN(v1::Contact contact,
                   projections::ToResource(stored, sealer));
  // ToResource shows an unreadable person as ERASED; the history shows the
  // state the record had then, with its personal values redacted.
  view.unreadable = contact.state() == v1::RECORD_STATE_ERASED &&
                    !state.sealed_personal.ciphertext().empty();
  contact.set_state(stored.clear.state());
  view.sealed = state.sealed_personal.SerializeAsString();
  view.resource = std::make_unique<v1::Contact>(std::move(contact));
  return view;
}

absl::StatusOr<HistoryView> HistoryViewOf(const AccountState& state,
                                          PersonalDataSealer&) {
  HistoryView view;
  view.resource =
      state.exists()
          ? std::make_unique<v1::Account>(projections::AccountResource(state))
          : std::make_unique<v1::Account>();
  return view;
}

absl::StatusOr<HistoryView> HistoryViewOf(const ActivityState& state,
                                          PersonalDataSealer& sealer) {
  HistoryView view;
  if (!state.exists()) {
    view.resource = std::make_unique<v1::Activity>();
    return view;
  }
  ASSIGN_OR_RETURN(
      v1::Activity activity,
      projections::ToResource(projections::StoredActivityOf(state), sealer));
  // ToResource leaves the content out when the subject's key is deleted;
  // only then (no content shown) is a second open needed to tell an erased
  // person from content that is empty.
  const bool no_content =
      activity.subject().empty() && activity.body().empty() &&
      activity.location().empty() && activity.participants().empty();
  if (no_content && !state.sealed_content.ciphertext().empty()) {
    v1::ActivityContent content;
    view.unreadable =
        IsKeyErased(OpenMessage(sealer, state.sealed_content, &content));
  }
  view.sealed = state.sealed_content.SerializeAsString();
  view.resource = std::make_unique<v1::Activity>(std::move(activity));
  return view;
}

}  // namespace crm::contact::api
