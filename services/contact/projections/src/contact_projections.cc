#include "crm/contact/projections/contact_projections.h"

#include <algorithm>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "crm/base/status_macros.h"
#include "crm/contact/domain/event_codec.h"
#include "crm/contact/domain/ids.h"
#include "crm/contact/domain/normalize.h"
#include "fmt/format.h"

namespace crm::contact::projections {
namespace {

// The id of the contact a contact event is about, or nullopt for events of
// other records (accounts, activities).
std::optional<std::string> ContactIdOf(const projection::Envelope& event) {
  absl::StatusOr<RecordRef> ref = ParseStreamName(event.stream());
  if (!ref.ok() || ref->type != RecordType::kContact) return std::nullopt;
  return ref->id;
}

std::string TenantKey(std::string_view tenant, std::string_view id) {
  return fmt::format("{}/{}", tenant, id);
}
std::string RecordKey(std::string_view tenant, std::string_view id) {
  return fmt::format("{}/r/{}", tenant, id);
}
std::string IndexPrefix(std::string_view tenant) {
  return fmt::format("{}/n/", tenant);
}

// Folds `event` into the stored contact at `key` (absent: a new one) and
// returns the result.
absl::StatusOr<StoredContact> Fold(const projection::Envelope& event,
                                   std::string_view id,
                                   projection::ProjectionWriter& writer,
                                   std::string_view key,
                                   PersonalDataSealer* sealer) {
  ASSIGN_OR_RETURN(ContactEvent decoded,
                   ReadContactEvent(event, UpcastContext{sealer}));
  ASSIGN_OR_RETURN(std::optional<std::string> value, writer.Get(key));
  ContactState state;
  if (value.has_value()) {
    ASSIGN_OR_RETURN(StoredContact stored, DecodeStoredContact(*value));
    state = ToState(stored, event.tenant());
  }
  state = crm::contact::Apply(std::move(state), decoded, EventMetaOf(event));
  if (state.id.empty()) state.id = std::string(id);
  return FromState(state);
}

// What the list filters read, with the sort key of the entry.
struct ListEntry {
  std::string sort_key;
  v1::Contact filter;  // See the header: folded names, normalized emails ...
};

absl::StatusOr<ListEntry> MakeListEntry(const StoredContact& stored,
                                        std::string_view id,
                                        PersonalDataSealer& sealer) {
  v1::ContactPersonalData personal;
  const absl::Status opened =
      OpenMessage(sealer, stored.sealed_personal, &personal);
  if (!opened.ok() && !IsKeyErased(opened)) return opened;
  ListEntry entry;
  v1::Contact& f = entry.filter;
  f.set_name(stored.clear.name());
  f.set_state(IsKeyErased(opened) ? v1::RECORD_STATE_ERASED
                                  : stored.clear.state());
  if (opened.ok()) {
    f.set_given_name(NormalizeNameForMatching(personal.given_name()));
    f.set_family_name(NormalizeNameForMatching(personal.family_name()));
    for (const v1::EmailAddress& email : personal.emails()) {
      f.add_emails()->set_normalized(email.normalized());
    }
  }
  f.set_owner(stored.clear.owner());
  f.set_account(stored.clear.account());
  *f.mutable_tags() = stored.clear.tags();
  *f.mutable_update_time() = stored.clear.update_time();
  entry.sort_key = fmt::format("{}{}{}{}{}", f.family_name(), '\0',
                               f.given_name(), '\0', id);
  return entry;
}

bool Matches(const v1::Contact& f, const ContactListQuery& query) {
  if (f.state() == v1::RECORD_STATE_MERGED ||
      f.state() == v1::RECORD_STATE_ERASED) {
    return false;
  }
  if (f.state() == v1::RECORD_STATE_DELETED && !query.show_deleted) {
    return false;
  }
  if (!query.name_prefix.empty() &&
      !f.given_name().starts_with(query.name_prefix) &&
      !f.family_name().starts_with(query.name_prefix)) {
    return false;
  }
  if (!query.email.empty() && std::none_of(f.emails().begin(), f.emails().end(),
                                           [&](const v1::EmailAddress& e) {
                                             return e.normalized() ==
                                                    query.email;
                                           })) {
    return false;
  }
  if (!query.owner.empty() && f.owner() != query.owner) return false;
  if (!query.account_id.empty() &&
      f.account() != ResourceName(RecordType::kAccount, query.account_id)) {
    return false;
  }
  for (const std::string& tag : query.tags) {
    if (std::find(f.tags().begin(), f.tags().end(), tag) == f.tags().end()) {
      return false;
    }
  }
  if (query.updated_since.has_value()) {
    const absl::Time updated =
        absl::FromUnixSeconds(f.update_time().seconds()) +
        absl::Nanoseconds(f.update_time().nanos());
    if (updated < *query.updated_since) return false;
  }
  return true;
}

}  // namespace

absl::Status ContactsByIdProjection::Apply(
    const projection::Envelope& event, projection::ProjectionWriter& writer) {
  const std::optional<std::string> id = ContactIdOf(event);
  if (!id.has_value()) return absl::OkStatus();
  const std::string key = TenantKey(event.tenant(), *id);
  ASSIGN_OR_RETURN(StoredContact stored,
                   Fold(event, *id, writer, key, sealer_));
  writer.Put(key, EncodeStoredContact(stored));
  return absl::OkStatus();
}

absl::Status ContactListProjection::Apply(
    const projection::Envelope& event, projection::ProjectionWriter& writer) {
  const std::optional<std::string> id = ContactIdOf(event);
  if (!id.has_value()) return absl::OkStatus();
  const std::string record_key = RecordKey(event.tenant(), *id);
  ASSIGN_OR_RETURN(StoredContact stored,
                   Fold(event, *id, writer, record_key, sealer_));
  ASSIGN_OR_RETURN(ListEntry entry, MakeListEntry(stored, *id, *sealer_));
  const std::string index_key = IndexPrefix(event.tenant()) + entry.sort_key;
  // "<tenant>/k/<id>" remembers the contact's index key, so the next event
  // removes the old entry even when its names can no longer be opened.
  const std::string sort_key_key = fmt::format("{}/k/{}", event.tenant(), *id);
  ASSIGN_OR_RETURN(std::optional<std::string> old_index_key,
                   writer.Get(sort_key_key));
  if (old_index_key.has_value() && *old_index_key != index_key) {
    writer.Delete(*old_index_key);
  }
  writer.Put(record_key, EncodeStoredContact(stored));
  writer.Put(index_key, entry.filter.SerializeAsString());
  writer.Put(sort_key_key, index_key);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<StoredContact>> GetStoredContact(
    const projection::ProjectionView& view, std::string_view tenant,
    std::string_view id) {
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   view.Get(TenantKey(tenant, id)));
  if (!value.has_value()) return std::nullopt;
  ASSIGN_OR_RETURN(StoredContact stored, DecodeStoredContact(*value));
  return stored;
}

absl::StatusOr<ContactListPage> ListContactIds(
    const projection::ProjectionView& view, const ContactListQuery& query) {
  const std::string prefix = IndexPrefix(query.tenant);
  if (!query.start_after.empty() && !query.start_after.starts_with(prefix)) {
    return absl::InvalidArgumentError(
        "page token: it belongs to another list; pass the next_page_token of "
        "the previous page unchanged, or none for the first page");
  }
  ContactListPage page;
  std::string after = query.start_after;
  size_t scanned = 0;
  constexpr size_t kChunk = 256;
  while (page.ids.size() < query.page_size && scanned < query.max_scan) {
    const size_t want = std::min(kChunk, query.max_scan - scanned);
    ASSIGN_OR_RETURN(auto entries, view.Scan(prefix, after, want));
    for (const auto& [key, value] : entries) {
      ++scanned;
      after = key;
      v1::Contact filter;
      if (!filter.ParseFromString(value)) {
        return absl::DataLossError(
            "an entry of the contact_list projection does not decode; "
            "rebuild it (bump its version)");
      }
      if (Matches(filter, query)) {
        ASSIGN_OR_RETURN(std::string id, ParseResourceName(RecordType::kContact,
                                                           filter.name()));
        page.ids.push_back(std::move(id));
        if (page.ids.size() == query.page_size) break;
      }
    }
    if (entries.size() < want && page.ids.size() < query.page_size) {
      return page;  // The end of the index.
    }
  }
  // Full page or scan budget spent: is there anything after `after`?
  ASSIGN_OR_RETURN(auto next, view.Scan(prefix, after, 1));
  if (!next.empty()) page.resume_after = after;
  return page;
}

}  // namespace crm::contact::projections
