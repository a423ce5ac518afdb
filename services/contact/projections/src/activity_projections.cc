#include "crm/contact/projections/activity_projections.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "crm/base/status_macros.h"
#include "crm/contact/domain/contact.h"
#include "crm/contact/domain/event_codec.h"
#include "crm/contact/domain/ids.h"
#include "crm/contact/domain/proto_time.h"
#include "crm/contact/projections/contact_record.h"
#include "fmt/format.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace crm::contact::projections {
namespace {

// Index entries one Scan reads per record.
constexpr size_t kChunk = 128;
// Length of "<16 hex digits>/".
constexpr size_t kTimeKeySize = 17;

std::optional<absl::Time> GetOptionalTime(
    bool has, const google::protobuf::Timestamp& time) {
  if (!has) return std::nullopt;
  return FromTimestamp(time);
}

std::string IdIn(RecordType type, std::string_view name) {
  absl::StatusOr<std::string> id = ParseResourceName(type, name);
  return id.ok() ? *std::move(id) : std::string();
}

std::vector<std::string> SplitLines(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    out.emplace_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return out;
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) {
    if (!out.empty()) out += '\n';
    out += line;
  }
  return out;
}

std::string ActivityKey(std::string_view tenant, std::string_view id) {
  return fmt::format("{}/i/{}", tenant, id);
}

std::string ParentPrefix(std::string_view tenant, bool account,
                         std::string_view parent_id) {
  return fmt::format("{}/p/{}/{}/", tenant, account ? "a" : "c", parent_id);
}

std::string RedirectKey(std::string_view tenant, bool account,
                        std::string_view survivor_id) {
  return fmt::format("{}/m/{}/{}", tenant, account ? "a" : "c", survivor_id);
}

// "<start time, newest first>/<id>".
std::string SortKey(const v1::Activity& activity, std::string_view id) {
  const int64_t nanos = absl::ToUnixNanos(FromTimestamp(activity.start_time()));
  // Order-preserving to unsigned, then inverted: newest sorts first.
  const uint64_t ordered = static_cast<uint64_t>(nanos) ^ (uint64_t{1} << 63);
  return fmt::format("{:016x}/{}", ~ordered, id);
}

bool IsSortKey(std::string_view key) {
  return key.size() > kTimeKeySize && key[kTimeKeySize - 1] == '/' &&
         std::all_of(key.begin(), key.begin() + kTimeKeySize - 1, [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// The "p/" keys of an activity: one per record it is about.
std::vector<std::string> IndexKeys(std::string_view tenant,
                                   const v1::Activity& activity,
                                   std::string_view id) {
  std::vector<std::string> keys;
  const std::string sort_key = SortKey(activity, id);
  if (!activity.contact().empty()) {
    keys.push_back(
        ParentPrefix(tenant, false,
                     IdIn(RecordType::kContact, activity.contact())) +
        sort_key);
  }
  if (!activity.account().empty()) {
    keys.push_back(
        ParentPrefix(tenant, true,
                     IdIn(RecordType::kAccount, activity.account())) +
        sort_key);
  }
  return keys;
}

absl::Status ApplyActivityEvent(const projection::Envelope& event,
                                std::string_view id,
                                projection::ProjectionWriter& writer) {
  ASSIGN_OR_RETURN(ActivityEvent decoded,
                   ReadActivityEvent(event, UpcastContext{}));
  const std::string key = ActivityKey(event.tenant(), id);
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   OwnRecordBefore(event, writer, key));
  ActivityState state;
  if (value.has_value()) {
    ASSIGN_OR_RETURN(StoredActivity stored, DecodeStoredActivity(*value));
    state = ActivityStateOf(stored, event.tenant());
  }
  state = crm::contact::Apply(std::move(state), decoded, EventMetaOf(event));
  if (state.id.empty()) state.id = std::string(id);
  const StoredActivity stored = StoredActivityOf(state);
  const std::string encoded = EncodeStoredActivity(stored);

  const std::string keys_key = fmt::format("{}/k/{}", event.tenant(), id);
  ASSIGN_OR_RETURN(std::optional<std::string> old_keys,
                   OwnRecordBefore(event, writer, keys_key));
  const std::vector<std::string> keys =
      IndexKeys(event.tenant(), stored.clear, id);
  if (old_keys.has_value()) {
    for (const std::string& old : SplitLines(*old_keys)) {
      if (std::find(keys.begin(), keys.end(), old) == keys.end()) {
        writer.Delete(old);
      }
    }
  }
  for (const std::string& index_key : keys) writer.Put(index_key, encoded);
  writer.Put(keys_key, JoinLines(keys));
  writer.Put(key, encoded);
  return absl::OkStatus();
}

// Adds (or, with `add` false, removes) `merged_id` in the redirect list of
// `survivor_id`.
absl::Status ChangeRedirect(const projection::Envelope& event, bool account,
                            const std::string& survivor_id,
                            const std::string& merged_id, bool add,
                            projection::ProjectionWriter& writer) {
  const std::string key = RedirectKey(event.tenant(), account, survivor_id);
  ASSIGN_OR_RETURN(std::optional<std::string> value, writer.Get(key));
  std::vector<std::string> ids =
      value.has_value() ? SplitLines(*value) : std::vector<std::string>();
  std::erase(ids, merged_id);
  if (add) ids.push_back(merged_id);
  if (ids.empty()) {
    writer.Delete(key);
  } else {
    writer.Put(key, JoinLines(ids));
  }
  return absl::OkStatus();
}

absl::Status ApplyMergeEvent(const projection::Envelope& event,
                             PersonalDataSealer* sealer,
                             projection::ProjectionWriter& writer) {
  const std::string& type = event.type();
  if (type == "crm.contact.v1.ContactMerged" ||
      type == "crm.contact.v1.ContactUnmerged") {
    ASSIGN_OR_RETURN(ContactEvent decoded,
                     ReadContactEvent(event, UpcastContext{sealer}));
    if (const auto* merged = std::get_if<v1::ContactMerged>(&decoded)) {
      return ChangeRedirect(event, false, merged->contact_id(),
                            merged->merged_contact_id(), true, writer);
    }
    if (const auto* unmerged = std::get_if<v1::ContactUnmerged>(&decoded)) {
      return ChangeRedirect(event, false, unmerged->contact_id(),
                            unmerged->unmerged_contact_id(), false, writer);
    }
    return absl::OkStatus();
  }
  if (type == "crm.contact.v1.AccountMerged" ||
      type == "crm.contact.v1.AccountUnmerged") {
    ASSIGN_OR_RETURN(AccountEvent decoded,
                     ReadAccountEvent(event, UpcastContext{sealer}));
    if (const auto* merged = std::get_if<v1::AccountMerged>(&decoded)) {
      return ChangeRedirect(event, true, merged->account_id(),
                            merged->merged_account_id(), true, writer);
    }
    if (const auto* unmerged = std::get_if<v1::AccountUnmerged>(&decoded)) {
      return ChangeRedirect(event, true, unmerged->account_id(),
                            unmerged->unmerged_account_id(), false, writer);
    }
  }
  return absl::OkStatus();
}

bool Matches(const v1::Activity& a, const ActivityListQuery& query) {
  if (a.deleted() && !query.show_deleted) return false;
  if (!query.kinds.empty() && std::find(query.kinds.begin(), query.kinds.end(),
                                        a.kind()) == query.kinds.end()) {
    return false;
  }
  if (query.open_tasks_only &&
      (a.kind() != v1::ACTIVITY_KIND_TASK || a.done())) {
    return false;
  }
  if (query.due_before.has_value() &&
      (!a.has_due_time() || FromTimestamp(a.due_time()) >= *query.due_before)) {
    return false;
  }
  return true;
}

// A contact or an account.
struct Record {
  bool account = false;
  std::string id;
  friend bool operator<(const Record& a, const Record& b) {
    return std::tie(a.account, a.id) < std::tie(b.account, b.id);
  }
};

// The parent, the related contacts, and every record merged into one of
// them (transitively), at most query.max_records, in a stable order.
absl::StatusOr<std::vector<Record>> RecordsOf(
    const projection::ProjectionView& view, const ActivityListQuery& query) {
  std::vector<Record> records = {{query.account, query.parent_id}};
  for (const std::string& id : query.related_contact_ids) {
    records.push_back({false, id});
  }
  if (records.size() > query.max_records) records.resize(query.max_records);
  std::set<Record> seen(records.begin(), records.end());
  for (size_t next = 0;
       next < records.size() && records.size() < query.max_records; ++next) {
    const Record record = records[next];
    ASSIGN_OR_RETURN(
        std::optional<std::string> merged,
        view.Get(RedirectKey(query.tenant, record.account, record.id)));
    if (!merged.has_value()) continue;
    for (std::string& id : SplitLines(*merged)) {
      if (records.size() == query.max_records) break;
      Record merged_record{record.account, std::move(id)};
      if (seen.insert(merged_record).second) {
        records.push_back(std::move(merged_record));
      }
    }
  }
  return records;
}

}  // namespace

void AddActivityProjections(
    std::vector<std::unique_ptr<projection::Projection>>& list,
    PersonalDataSealer* sealer) {
  list.push_back(std::make_unique<ActivitiesProjection>(sealer));
}

absl::Status ActivitiesProjection::Apply(const projection::Envelope& event,
                                         projection::ProjectionWriter& writer) {
  absl::StatusOr<RecordRef> ref = ParseStreamName(event.stream());
  if (!ref.ok()) return absl::OkStatus();
  if (ref->type == RecordType::kActivity) {
    return ApplyActivityEvent(event, ref->id, writer);
  }
  return ApplyMergeEvent(event, sealer_, writer);
}

std::string EncodeStoredActivity(const StoredActivity& activity) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    const std::string clear = activity.clear.SerializeAsString();
    coded.WriteVarint32(static_cast<uint32_t>(clear.size()));
    coded.WriteString(clear);
    coded.WriteString(activity.sealed_content.SerializeAsString());
  }
  return out;
}

absl::StatusOr<StoredActivity> DecodeStoredActivity(std::string_view value) {
  google::protobuf::io::CodedInputStream coded(
      reinterpret_cast<const uint8_t*>(value.data()),
      static_cast<int>(value.size()));
  uint32_t clear_size = 0;
  std::string clear;
  StoredActivity activity;
  if (!coded.ReadVarint32(&clear_size) ||
      !coded.ReadString(&clear, static_cast<int>(clear_size)) ||
      !activity.clear.ParseFromString(clear)) {
    return absl::DataLossError(
        "a stored activity of the activities projection does not decode; "
        "rebuild the projection (bump its version)");
  }
  const int consumed = coded.CurrentPosition();
  if (!activity.sealed_content.ParseFromArray(
          value.data() + consumed, static_cast<int>(value.size()) - consumed)) {
    return absl::DataLossError(
        "the sealed content of a stored activity does not decode; rebuild the "
        "activities projection (bump its version)");
  }
  return activity;
}

StoredActivity StoredActivityOf(const ActivityState& state) {
  StoredActivity out;
  v1::Activity& a = out.clear;
  a.set_name(ResourceName(RecordType::kActivity, state.id));
  a.set_kind(state.kind);
  if (!state.contact_id.empty()) {
    a.set_contact(ResourceName(RecordType::kContact, state.contact_id));
  }
  if (!state.account_id.empty()) {
    a.set_account(ResourceName(RecordType::kAccount, state.account_id));
  }
  a.set_owner(state.owner);
  a.set_direction(state.direction);
  if (state.start_time) SetTimestamp(*state.start_time, a.mutable_start_time());
  if (state.end_time) SetTimestamp(*state.end_time, a.mutable_end_time());
  if (state.due_time) SetTimestamp(*state.due_time, a.mutable_due_time());
  a.set_done(state.done);
  if (state.complete_time) {
    SetTimestamp(*state.complete_time, a.mutable_complete_time());
  }
  SetTimestamp(state.create_time, a.mutable_create_time());
  SetTimestamp(state.update_time, a.mutable_update_time());
  a.set_deleted(state.deleted);
  a.set_etag(std::to_string(state.version));
  out.sealed_content = state.sealed_content;
  return out;
}

ActivityState ActivityStateOf(const StoredActivity& stored,
                              std::string_view tenant) {
  const v1::Activity& a = stored.clear;
  ActivityState state;
  state.id = IdIn(RecordType::kActivity, a.name());
  state.tenant = std::string(tenant);
  state.version = a.etag().empty() ? 0 : std::stoull(a.etag());
  state.kind = a.kind();
  state.contact_id = IdIn(RecordType::kContact, a.contact());
  state.account_id = IdIn(RecordType::kAccount, a.account());
  state.owner = a.owner();
  state.direction = a.direction();
  state.start_time = GetOptionalTime(a.has_start_time(), a.start_time());
  state.end_time = GetOptionalTime(a.has_end_time(), a.end_time());
  state.due_time = GetOptionalTime(a.has_due_time(), a.due_time());
  state.sealed_content = stored.sealed_content;
  state.done = a.done();
  state.complete_time =
      GetOptionalTime(a.has_complete_time(), a.complete_time());
  state.deleted = a.deleted();
  state.create_time = FromTimestamp(a.create_time());
  state.update_time = FromTimestamp(a.update_time());
  return state;
}

absl::StatusOr<v1::Activity> ToResource(const StoredActivity& stored,
                                        PersonalDataSealer& sealer) {
  v1::Activity out = stored.clear;
  v1::ActivityContent content;
  const absl::Status opened =
      OpenMessage(sealer, stored.sealed_content, &content);
  if (IsKeyErased(opened)) return out;
  if (!opened.ok()) return opened;
  out.set_subject(content.subject());
  out.set_body(content.body());
  out.set_location(content.location());
  *out.mutable_participants() = content.participants();
  return out;
}

absl::StatusOr<std::optional<StoredActivity>> GetStoredActivity(
    const projection::ProjectionView& view, std::string_view tenant,
    std::string_view id) {
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   view.Get(ActivityKey(tenant, id)));
  if (!value.has_value()) return std::nullopt;
  return DecodeStoredActivity(*value);
}

absl::StatusOr<ActivityListPage> ListStoredActivities(
    const projection::ProjectionView& view, const ActivityListQuery& query) {
  if (!query.start_after.empty() && !IsSortKey(query.start_after)) {
    return absl::InvalidArgumentError(
        "page token: it belongs to another list; pass the next_page_token of "
        "the previous page unchanged, or none for the first page");
  }
  ASSIGN_OR_RETURN(std::vector<Record> records, RecordsOf(view, query));
  std::vector<std::string> prefixes;
  prefixes.reserve(records.size());
  for (const Record& record : records) {
    prefixes.push_back(ParentPrefix(query.tenant, record.account, record.id));
  }

  // A k-way merge of the records' indexes by sort key. Each round reads a
  // chunk after `after` from every index; only the entries up to the
  // smallest last key of a full chunk are certain to be in order. An
  // activity about an account and one of its contacts is in two indexes
  // under the same sort key: `round` keeps it once.
  ActivityListPage page;
  std::string after = query.start_after;
  size_t scanned = 0;
  bool more = false;
  while (page.activities.size() < query.page_size && scanned < query.max_scan) {
    std::map<std::string, std::string> round;  // sort key -> value
    std::optional<std::string> horizon;
    for (const std::string& prefix : prefixes) {
      ASSIGN_OR_RETURN(
          auto entries,
          view.Scan(prefix, after.empty() ? std::string() : prefix + after,
                    kChunk));
      for (auto& [key, value] : entries) {
        round.emplace(key.substr(prefix.size()), std::move(value));
      }
      if (entries.size() == kChunk) {
        std::string last = entries.back().first.substr(prefix.size());
        if (!horizon.has_value() || last < *horizon) horizon = std::move(last);
      }
    }
    more = horizon.has_value();
    if (round.empty()) break;
    for (auto& [sort_key, value] : round) {
      if (horizon.has_value() && sort_key > *horizon) break;
      if (page.activities.size() == query.page_size ||
          scanned == query.max_scan) {
        more = true;
        break;
      }
      ++scanned;
      after = sort_key;
      ASSIGN_OR_RETURN(StoredActivity stored, DecodeStoredActivity(value));
      if (Matches(stored.clear, query)) {
        page.activities.push_back(std::move(stored));
      }
    }
    if (!more) break;
  }
  if (more || page.activities.size() == query.page_size) {
    // Is there anything after `after` in any of the indexes?
    for (const std::string& prefix : prefixes) {
      ASSIGN_OR_RETURN(auto next, view.Scan(prefix, prefix + after, 1));
      if (!next.empty()) {
        page.resume_after = after;
        break;
      }
    }
  }
  return page;
}

}  // namespace crm::contact::projections
