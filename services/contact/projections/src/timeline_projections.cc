#include "crm/contact/projections/timeline_projections.h"

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "crm/base/status_macros.h"
#include "crm/contact/domain/event_codec.h"
#include "crm/contact/domain/upcaster.h"
#include "fmt/format.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace crm::contact::projections {
namespace {

constexpr char kSource[] = "contact";
// Most merge hops MergedRecords follows.
constexpr int kMaxMergeDepth = 8;

char Letter(RecordType type) {
  return type == RecordType::kAccount ? 'a' : 'c';
}

std::string Prefix(std::string_view tenant, RecordType type,
                   std::string_view id) {
  return fmt::format("{}/t/{}/{}/", tenant, Letter(type), id);
}

std::string ActivityKey(std::string_view tenant, std::string_view id) {
  return fmt::format("{}/x/{}", tenant, id);
}

std::string MergeKey(std::string_view tenant, RecordType type,
                     std::string_view survivor, std::string_view merged) {
  return fmt::format("{}/m/{}/{}/{}", tenant, Letter(type), survivor, merged);
}

std::string SurvivorKey(std::string_view tenant, RecordType type,
                        std::string_view merged) {
  return fmt::format("{}/i/{}/{}", tenant, Letter(type), merged);
}

std::string ErasedKey(std::string_view tenant, std::string_view contact_id) {
  return fmt::format("{}/e/{}", tenant, contact_id);
}

std::string Join(const google::protobuf::RepeatedPtrField<std::string>& list) {
  std::string out;
  for (const std::string& item : list) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

// "Call", "Meeting", "Task", "Note", "Email", "Activity".
std::string KindName(v1::ActivityKind kind) {
  switch (kind) {
    case v1::ACTIVITY_KIND_CALL:
      return "Call";
    case v1::ACTIVITY_KIND_MEETING:
      return "Meeting";
    case v1::ACTIVITY_KIND_TASK:
      return "Task";
    case v1::ACTIVITY_KIND_NOTE:
      return "Note";
    case v1::ACTIVITY_KIND_EMAIL:
      return "Email";
    default:
      return "Activity";
  }
}

// Writes the entries of one event.
class EntryWriter {
 public:
  EntryWriter(const projection::Envelope& event,
              projection::ProjectionWriter& writer)
      : event_(event), writer_(writer) {
    occurred_at_ = absl::FromUnixSeconds(event.occurred_at().seconds()) +
                   absl::Nanoseconds(event.occurred_at().nanos());
    suffix_ = TimelineSuffix(occurred_at_, event.global_position(), kSource);
  }

  // An entry on the timeline of record (type, id).
  void Add(RecordType type, std::string_view id, std::string summary,
           std::string resource, std::string person = {},
           const v1::SealedData& sealed = v1::SealedData()) {
    if (id.empty()) return;
    StoredTimelineEntry stored;
    v1::TimelineEntry& entry = stored.entry;
    *entry.mutable_occur_time() = event_.occurred_at();
    entry.set_source_service(kSource);
    entry.set_event_type(event_.type());
    entry.set_event_id(event_.event_id());
    entry.set_actor(event_.actor());
    entry.set_summary(std::move(summary));
    entry.set_resource(std::move(resource));
    stored.sealed = sealed;
    stored.person = std::move(person);
    writer_.Put(TimelineEntryKey(event_.tenant(), type, id, suffix_),
                EncodeTimelineEntry(stored));
  }

  const std::string& tenant() const { return event_.tenant(); }
  projection::ProjectionWriter& writer() { return writer_; }

 private:
  const projection::Envelope& event_;
  projection::ProjectionWriter& writer_;
  absl::Time occurred_at_;
  std::string suffix_;
};

std::string ContactName(std::string_view id) {
  return ResourceName(RecordType::kContact, id);
}
std::string AccountName(std::string_view id) {
  return ResourceName(RecordType::kAccount, id);
}

void ApplyContact(const ContactEvent& event, EntryWriter& out) {
  const std::string& tenant = out.tenant();
  std::visit(
      [&](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        const std::string& id = e.contact_id();
        const std::string self = ContactName(id);
        if constexpr (std::is_same_v<E, v1::ContactCreated>) {
          out.Add(RecordType::kContact, id, "Contact created", self, id);
        } else if constexpr (std::is_same_v<E, v1::ContactUpdated>) {
          out.Add(RecordType::kContact, id,
                  "Contact updated: " + Join(e.changed_fields()), self, id);
        } else if constexpr (std::is_same_v<E, v1::ContactDeleted>) {
          out.Add(RecordType::kContact, id, "Contact deleted", self, id);
        } else if constexpr (std::is_same_v<E, v1::ContactUndeleted>) {
          out.Add(RecordType::kContact, id, "Contact restored", self, id);
        } else if constexpr (std::is_same_v<E, v1::ContactMerged>) {
          out.writer().Put(
              MergeKey(tenant, RecordType::kContact, id, e.merged_contact_id()),
              "");
          out.Add(RecordType::kContact, id,
                  "Merged with " + ContactName(e.merged_contact_id()), self,
                  id);
        } else if constexpr (std::is_same_v<E, v1::ContactMergedInto>) {
          out.writer().Put(SurvivorKey(tenant, RecordType::kContact, id),
                           e.survivor_contact_id());
          out.Add(RecordType::kContact, id,
                  "Merged into " + ContactName(e.survivor_contact_id()), self,
                  id);
        } else if constexpr (std::is_same_v<E, v1::ContactUnmerged>) {
          out.writer().Delete(MergeKey(tenant, RecordType::kContact, id,
                                       e.unmerged_contact_id()));
          out.Add(
              RecordType::kContact, id,
              "Merge with " + ContactName(e.unmerged_contact_id()) + " undone",
              self, id);
        } else if constexpr (std::is_same_v<E, v1::ContactUnmergedFrom>) {
          out.writer().Delete(SurvivorKey(tenant, RecordType::kContact, id));
          out.Add(
              RecordType::kContact, id,
              "Merge into " + ContactName(e.survivor_contact_id()) + " undone",
              self, id);
        } else if constexpr (std::is_same_v<E, v1::ContactErased>) {
          out.writer().Put(ErasedKey(tenant, id), "");
          out.Add(RecordType::kContact, id, "Personal data erased", self, id);
        } else if constexpr (std::is_same_v<E, v1::RelationshipAdded> ||
                             std::is_same_v<E, v1::RelationshipUpdated>) {
          const std::string& account = e.relationship().account_id();
          const std::string roles =
              e.relationship().roles().empty()
                  ? std::string()
                  : " as " + Join(e.relationship().roles());
          const char* verb = std::is_same_v<E, v1::RelationshipAdded>
                                 ? "Related to "
                                 : "Relationship changed with ";
          out.Add(RecordType::kContact, id, verb + AccountName(account) + roles,
                  AccountName(account), id);
          out.Add(RecordType::kAccount, account, verb + self + roles, self, id);
        } else if constexpr (std::is_same_v<E, v1::RelationshipRemoved>) {
          out.Add(RecordType::kContact, id,
                  "Relationship ended with " + AccountName(e.account_id()),
                  AccountName(e.account_id()), id);
          out.Add(RecordType::kAccount, e.account_id(),
                  "Relationship ended with " + self, self, id);
        } else if constexpr (std::is_same_v<E, v1::ConsentGiven>) {
          out.Add(RecordType::kContact, id,
                  fmt::format("Consent given: {} ({})", e.purpose(),
                              v1::ConsentChannel_Name(e.channel())),
                  self, id);
        } else if constexpr (std::is_same_v<E, v1::ConsentWithdrawn>) {
          out.Add(RecordType::kContact, id,
                  fmt::format("Consent withdrawn: {} ({})", e.purpose(),
                              v1::ConsentChannel_Name(e.channel())),
                  self, id);
        }
      },
      event);
}

void ApplyAccount(const AccountEvent& event, EntryWriter& out) {
  const std::string& tenant = out.tenant();
  std::visit(
      [&](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        const std::string& id = e.account_id();
        const std::string self = AccountName(id);
        if constexpr (std::is_same_v<E, v1::AccountCreated>) {
          out.Add(RecordType::kAccount, id, "Account created", self);
        } else if constexpr (std::is_same_v<E, v1::AccountUpdated>) {
          out.Add(RecordType::kAccount, id,
                  "Account updated: " + Join(e.changed_fields()), self);
        } else if constexpr (std::is_same_v<E, v1::AccountDeleted>) {
          out.Add(RecordType::kAccount, id, "Account deleted", self);
        } else if constexpr (std::is_same_v<E, v1::AccountUndeleted>) {
          out.Add(RecordType::kAccount, id, "Account restored", self);
        } else if constexpr (std::is_same_v<E, v1::AccountMerged>) {
          out.writer().Put(
              MergeKey(tenant, RecordType::kAccount, id, e.merged_account_id()),
              "");
          out.Add(RecordType::kAccount, id,
                  "Merged with " + AccountName(e.merged_account_id()), self);
        } else if constexpr (std::is_same_v<E, v1::AccountMergedInto>) {
          out.writer().Put(SurvivorKey(tenant, RecordType::kAccount, id),
                           e.survivor_account_id());
          out.Add(RecordType::kAccount, id,
                  "Merged into " + AccountName(e.survivor_account_id()), self);
        } else if constexpr (std::is_same_v<E, v1::AccountUnmerged>) {
          out.writer().Delete(MergeKey(tenant, RecordType::kAccount, id,
                                       e.unmerged_account_id()));
          out.Add(
              RecordType::kAccount, id,
              "Merge with " + AccountName(e.unmerged_account_id()) + " undone",
              self);
        } else if constexpr (std::is_same_v<E, v1::AccountUnmergedFrom>) {
          out.writer().Delete(SurvivorKey(tenant, RecordType::kAccount, id));
          out.Add(
              RecordType::kAccount, id,
              "Merge into " + AccountName(e.survivor_account_id()) + " undone",
              self);
        }
      },
      event);
}

absl::Status ApplyActivity(const ActivityEvent& event, EntryWriter& out) {
  const std::string& tenant = out.tenant();
  const std::string id =
      std::visit([](const auto& e) { return e.activity_id(); }, event);
  const std::string key = ActivityKey(tenant, id);
  // The activity's links and content as of the previous event.
  v1::ActivityLogged facts;
  ASSIGN_OR_RETURN(std::optional<std::string> stored, out.writer().Get(key));
  if (stored.has_value() && !facts.ParseFromString(*stored)) {
    return absl::DataLossError(
        "an activity record of the timeline projection does not decode; "
        "rebuild the projection (bump its version)");
  }
  const char* what = "";
  if (const auto* logged = std::get_if<v1::ActivityLogged>(&event)) {
    facts = *logged;
    what = "logged";
  } else if (const auto* updated = std::get_if<v1::ActivityUpdated>(&event)) {
    facts.set_contact_id(updated->contact_id());
    facts.set_account_id(updated->account_id());
    if (updated->has_sealed_content()) {
      *facts.mutable_sealed_content() = updated->sealed_content();
    }
    what = "updated";
  } else if (std::holds_alternative<v1::ActivityCompleted>(event)) {
    what = "completed";
  } else if (std::holds_alternative<v1::ActivityReopened>(event)) {
    what = "reopened";
  } else if (std::holds_alternative<v1::ActivityDeleted>(event)) {
    what = "deleted";
  }
  out.writer().Put(key, facts.SerializeAsString());
  const std::string summary =
      fmt::format("{} {}", KindName(facts.kind()), what);
  const std::string resource = ResourceName(RecordType::kActivity, id);
  // The content is sealed under the contact's key, or the account's.
  out.Add(RecordType::kContact, facts.contact_id(), summary, resource,
          facts.contact_id(), facts.sealed_content());
  out.Add(RecordType::kAccount, facts.account_id(), summary, resource,
          facts.contact_id(), facts.sealed_content());
  return absl::OkStatus();
}

}  // namespace

void AddTimelineProjections(
    std::vector<std::unique_ptr<projection::Projection>>& list,
    PersonalDataSealer* sealer) {
  list.push_back(std::make_unique<TimelineProjection>(sealer));
}

absl::Status TimelineProjection::Apply(const projection::Envelope& event,
                                       projection::ProjectionWriter& writer) {
  absl::StatusOr<RecordRef> ref = ParseStreamName(event.stream());
  if (!ref.ok()) return absl::OkStatus();  // Not a record's stream.
  EntryWriter out(event, writer);
  const UpcastContext context{sealer_};
  switch (ref->type) {
    case RecordType::kContact: {
      ASSIGN_OR_RETURN(ContactEvent e, ReadContactEvent(event, context));
      ApplyContact(e, out);
      return absl::OkStatus();
    }
    case RecordType::kAccount: {
      ASSIGN_OR_RETURN(AccountEvent e, ReadAccountEvent(event, context));
      ApplyAccount(e, out);
      return absl::OkStatus();
    }
    case RecordType::kActivity: {
      ASSIGN_OR_RETURN(ActivityEvent e, ReadActivityEvent(event, context));
      return ApplyActivity(e, out);
    }
  }
  return absl::OkStatus();
}

std::string TimelineSuffix(absl::Time occurred_at, uint64_t position,
                           std::string_view source_service) {
  // Signed nanoseconds to unsigned order, then inverted: newest first.
  const uint64_t time = static_cast<uint64_t>(absl::ToUnixNanos(occurred_at)) ^
                        (uint64_t{1} << 63);
  return fmt::format("{:016x}{:016x}/{}", UINT64_MAX - time,
                     UINT64_MAX - position, source_service);
}

std::string TimelineEntryKey(std::string_view tenant, RecordType type,
                             std::string_view record_id,
                             std::string_view suffix) {
  return Prefix(tenant, type, record_id) + std::string(suffix);
}

std::string EncodeTimelineEntry(const StoredTimelineEntry& entry) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    const std::string clear = entry.entry.SerializeAsString();
    coded.WriteVarint32(static_cast<uint32_t>(clear.size()));
    coded.WriteString(clear);
    coded.WriteVarint32(static_cast<uint32_t>(entry.person.size()));
    coded.WriteString(entry.person);
    coded.WriteString(entry.sealed.SerializeAsString());
  }
  return out;
}

absl::StatusOr<StoredTimelineEntry> DecodeTimelineEntry(
    std::string_view value) {
  google::protobuf::io::CodedInputStream coded(
      reinterpret_cast<const uint8_t*>(value.data()),
      static_cast<int>(value.size()));
  StoredTimelineEntry entry;
  uint32_t size = 0;
  std::string clear;
  if (!coded.ReadVarint32(&size) || !coded.ReadString(&clear, size) ||
      !entry.entry.ParseFromString(clear) || !coded.ReadVarint32(&size) ||
      !coded.ReadString(&entry.person, size) ||
      !entry.sealed.ParseFromArray(
          value.data() + coded.CurrentPosition(),
          static_cast<int>(value.size()) - coded.CurrentPosition())) {
    return absl::DataLossError(
        "a timeline entry does not decode; rebuild the timeline projection "
        "(bump its version)");
  }
  return entry;
}

absl::StatusOr<std::vector<StoredTimelineEntry>> ScanTimeline(
    const projection::ProjectionView& view, const TimelineQuery& query) {
  const std::string prefix = Prefix(query.tenant, query.type, query.id);
  const std::string start_after =
      query.start_after.empty() ? std::string() : prefix + query.start_after;
  ASSIGN_OR_RETURN(auto rows, view.Scan(prefix, start_after, query.max_count));
  std::vector<StoredTimelineEntry> entries;
  entries.reserve(rows.size());
  for (auto& [key, value] : rows) {
    ASSIGN_OR_RETURN(StoredTimelineEntry entry, DecodeTimelineEntry(value));
    if (query.since.has_value() &&
        absl::FromUnixSeconds(entry.entry.occur_time().seconds()) +
                absl::Nanoseconds(entry.entry.occur_time().nanos()) <
            *query.since) {
      break;  // Newest first: every later entry is older still.
    }
    entry.suffix = key.substr(prefix.size());
    entries.push_back(std::move(entry));
  }
  return entries;
}

absl::StatusOr<std::vector<std::string>> MergedRecords(
    const projection::ProjectionView& view, std::string_view tenant,
    RecordType type, std::string_view id, size_t max_count) {
  std::vector<std::string> merged;
  std::vector<std::string> frontier = {std::string(id)};
  for (int depth = 0; depth < kMaxMergeDepth && !frontier.empty(); ++depth) {
    std::vector<std::string> next;
    for (const std::string& survivor : frontier) {
      const std::string prefix = MergeKey(tenant, type, survivor, "");
      if (merged.size() >= max_count) return merged;
      ASSIGN_OR_RETURN(auto rows,
                       view.Scan(prefix, "", max_count - merged.size()));
      for (const auto& [key, value] : rows) {
        merged.push_back(key.substr(prefix.size()));
        next.push_back(merged.back());
      }
    }
    frontier = std::move(next);
  }
  return merged;
}

absl::StatusOr<std::optional<std::string>> SurvivorOf(
    const projection::ProjectionView& view, std::string_view tenant,
    RecordType type, std::string_view id) {
  return view.Get(SurvivorKey(tenant, type, id));
}

absl::StatusOr<bool> IsErasedPerson(const projection::ProjectionView& view,
                                    std::string_view tenant,
                                    std::string_view contact_id) {
  ASSIGN_OR_RETURN(std::optional<std::string> erased,
                   view.Get(ErasedKey(tenant, contact_id)));
  return erased.has_value();
}

absl::StatusOr<std::string> ReadSummary(const StoredTimelineEntry& entry,
                                        PersonalDataSealer& sealer) {
  if (entry.sealed.ciphertext().empty()) return entry.entry.summary();
  v1::ActivityContent content;
  const absl::Status opened = OpenMessage(sealer, entry.sealed, &content);
  if (IsKeyErased(opened)) return std::string();
  RETURN_IF_ERROR(opened);
  if (content.subject().empty()) return entry.entry.summary();
  return fmt::format("{}: {}", entry.entry.summary(), content.subject());
}

}  // namespace crm::contact::projections
