#include "crm/contact/projections/contact_projections.h"

#include <algorithm>
#include <functional>
#include <map>
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
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   OwnRecordBefore(event, writer, key));
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
    for (const v1::PhoneNumber& phone : personal.phones()) {
      if (!phone.e164().empty()) f.add_phones()->set_e164(phone.e164());
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

// ---- Secondary key spaces (see the header) ---------------------------------

std::string SpacePrefix(std::string_view tenant, char space) {
  return fmt::format("{}/{}/", tenant, space);
}
// "<tenant>/<space>/<value>\0": the entries of one value of a key space.
std::string ValuePrefix(std::string_view tenant, char space,
                        std::string_view value) {
  return fmt::format("{}/{}/{}{}", tenant, space, value, '\0');
}

// Update time as fixed-width hex (seconds biased by 2^63, then nanos), so
// the key order is the time order.
std::string EncodeTime(int64_t seconds, int32_t nanos) {
  return fmt::format("{:016x}{:08x}",
                     static_cast<uint64_t>(seconds) ^ (uint64_t{1} << 63),
                     static_cast<uint32_t>(std::max(nanos, 0)));
}

// The secondary entries of a list entry: key -> value. None for merged or
// erased contacts (never listed). The values are empty where the key ends
// with the sort key, else the sort key (to read the entry at /n/).
std::map<std::string, std::string, std::less<>> SecondaryEntries(
    std::string_view tenant, std::string_view id, std::string_view sort_key,
    const v1::Contact& f) {
  std::map<std::string, std::string, std::less<>> out;
  if (f.state() == v1::RECORD_STATE_MERGED ||
      f.state() == v1::RECORD_STATE_ERASED) {
    return out;
  }
  for (const v1::EmailAddress& email : f.emails()) {
    if (email.normalized().empty()) continue;
    out[ValuePrefix(tenant, 'e', email.normalized()) + std::string(id)] =
        std::string(sort_key);
  }
  for (const v1::PhoneNumber& phone : f.phones()) {
    if (phone.e164().empty()) continue;
    out[ValuePrefix(tenant, 'p', phone.e164()) + std::string(id)] =
        std::string(sort_key);
  }
  if (!f.owner().empty()) {
    out[ValuePrefix(tenant, 'o', f.owner()) + std::string(sort_key)] = "";
  }
  if (absl::StatusOr<std::string> account =
          ParseResourceName(RecordType::kAccount, f.account());
      !f.account().empty() && account.ok()) {
    out[ValuePrefix(tenant, 'a', *account) + std::string(sort_key)] = "";
  }
  if (!f.given_name().empty()) {
    out[ValuePrefix(tenant, 'g', f.given_name()) + std::string(sort_key)] = "";
  }
  out[ValuePrefix(
          tenant, 'u',
          EncodeTime(f.update_time().seconds(), f.update_time().nanos())) +
      std::string(id)] = std::string(sort_key);
  return out;
}

absl::StatusOr<v1::Contact> ParseEntry(std::string_view value) {
  v1::Contact filter;
  if (!filter.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError(
        "an entry of the contact_list projection does not decode; rebuild it "
        "(bump its version)");
  }
  return filter;
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
  if (!query.phone.empty() && std::none_of(f.phones().begin(), f.phones().end(),
                                           [&](const v1::PhoneNumber& p) {
                                             return p.e164() == query.phone;
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

// ---- Reading ---------------------------------------------------------------

constexpr size_t kMaxChunk = 256;

// Index entries under `prefix` after a key, read in chunks (growing from
// `first_chunk` to kMaxChunk) and counted against a shared budget.
class Cursor {
 public:
  Cursor(const projection::ProjectionView& view, std::string prefix,
         std::string after, size_t first_chunk, size_t* budget)
      : view_(view),
        prefix_(std::move(prefix)),
        after_(std::move(after)),
        chunk_(std::clamp<size_t>(first_chunk, 1, kMaxChunk)),
        budget_(budget) {}

  // Whether there is a current entry; false at the end of the prefix or
  // when the budget is spent (see budget_spent()).
  absl::StatusOr<bool> Valid() {
    if (next_ < entries_.size()) return *budget_ > 0;
    if (end_ || *budget_ == 0) return false;
    const size_t want = std::min(chunk_, *budget_);
    ASSIGN_OR_RETURN(entries_, view_.Scan(prefix_, after_, want));
    next_ = 0;
    chunk_ = std::min(chunk_ * 2, kMaxChunk);
    if (entries_.size() < want) end_ = true;
    return !entries_.empty();
  }
  const std::string& key() const { return entries_[next_].first; }
  const std::string& value() const { return entries_[next_].second; }
  void Next() {
    after_ = entries_[next_].first;
    ++next_;
    --*budget_;
  }
  // The last key consumed ("" or the start key when none was).
  const std::string& after() const { return after_; }
  const std::string& prefix() const { return prefix_; }
  // Whether an entry follows after(), whatever the budget.
  absl::StatusOr<bool> HasMore() const {
    if (next_ < entries_.size()) return true;
    if (end_) return false;
    ASSIGN_OR_RETURN(auto next, view_.Scan(prefix_, after_, 1));
    return !next.empty();
  }

 private:
  const projection::ProjectionView& view_;
  std::string prefix_;
  std::string after_;
  size_t chunk_;
  size_t* budget_;
  std::vector<std::pair<std::string, std::string>> entries_;
  size_t next_ = 0;
  bool end_ = false;
};

// The list entry of `sort_key` (which must exist: the view is a snapshot
// and the entries are written together).
absl::StatusOr<v1::Contact> EntryOf(const projection::ProjectionView& view,
                                    std::string_view tenant,
                                    std::string_view sort_key) {
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   view.Get(IndexPrefix(tenant) + std::string(sort_key)));
  if (!value.has_value()) {
    return absl::DataLossError(
        "the contact_list projection has an index key without its entry; "
        "rebuild it (bump its version)");
  }
  return ParseEntry(*value);
}

// Appends the entry's id to the page when it matches.
absl::Status Take(const v1::Contact& filter, const ContactListQuery& query,
                  ContactListPage& page) {
  if (!Matches(filter, query)) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::string id,
                   ParseResourceName(RecordType::kContact, filter.name()));
  page.ids.push_back(std::move(id));
  return absl::OkStatus();
}

absl::Status BadToken(std::string_view why) {
  return absl::InvalidArgumentError(fmt::format(
      "page token: it belongs to another list ({}); pass the next_page_token "
      "of the previous page unchanged, with the same filters and order_by, or "
      "none for the first page",
      why));
}

// Where an entry of each key space keeps the sort key of its list entry.
enum class SortKeyIn { kEntryKey, kKeySuffix, kValue };

// One key space: which prefix, where the sort key is.
struct Space {
  std::string prefix;
  SortKeyIn sort_key_in;
  std::string start;  // Where a first page starts ("": at the prefix).
};

Space SpaceOf(const ContactListQuery& query) {
  const std::string& t = query.tenant;
  if (query.order == ContactListOrder::kUpdateTime) {
    Space space{SpacePrefix(t, 'u'), SortKeyIn::kValue, ""};
    if (query.updated_since.has_value()) {
      const int64_t nanos = absl::ToUnixNanos(*query.updated_since);
      int64_t seconds = nanos / 1'000'000'000;
      int64_t rest = nanos % 1'000'000'000;
      if (rest < 0) {
        rest += 1'000'000'000;
        --seconds;
      }
      // Keys of that time are "<time>\0<id>", after "<time>".
      space.start =
          space.prefix + EncodeTime(seconds, static_cast<int32_t>(rest));
    }
    return space;
  }
  if (!query.email.empty()) {
    return {ValuePrefix(t, 'e', query.email), SortKeyIn::kValue, ""};
  }
  if (!query.phone.empty()) {
    return {ValuePrefix(t, 'p', query.phone), SortKeyIn::kValue, ""};
  }
  if (!query.account_id.empty()) {
    return {ValuePrefix(t, 'a', query.account_id), SortKeyIn::kKeySuffix, ""};
  }
  if (!query.owner.empty()) {
    return {ValuePrefix(t, 'o', query.owner), SortKeyIn::kKeySuffix, ""};
  }
  return {IndexPrefix(t), SortKeyIn::kEntryKey, ""};
}

// One key space in its own order.
absl::StatusOr<ContactListPage> ListOneSpace(
    const projection::ProjectionView& view, const ContactListQuery& query) {
  const Space space = SpaceOf(query);
  if (!query.start_after.empty() &&
      !query.start_after.starts_with(space.prefix)) {
    return BadToken("another order or filter");
  }
  size_t budget = query.max_scan;
  Cursor cursor(view, space.prefix,
                query.start_after.empty() ? space.start : query.start_after,
                query.page_size + 1, &budget);
  ContactListPage page;
  while (page.ids.size() < query.page_size) {
    ASSIGN_OR_RETURN(bool valid, cursor.Valid());
    if (!valid) break;
    v1::Contact filter;
    switch (space.sort_key_in) {
      case SortKeyIn::kEntryKey: {
        ASSIGN_OR_RETURN(filter, ParseEntry(cursor.value()));
        break;
      }
      case SortKeyIn::kKeySuffix: {
        ASSIGN_OR_RETURN(
            filter,
            EntryOf(
                view, query.tenant,
                std::string_view(cursor.key()).substr(space.prefix.size())));
        break;
      }
      case SortKeyIn::kValue: {
        ASSIGN_OR_RETURN(filter, EntryOf(view, query.tenant, cursor.value()));
        break;
      }
    }
    RETURN_IF_ERROR(Take(filter, query, page));
    cursor.Next();
  }
  ASSIGN_OR_RETURN(bool more, cursor.HasMore());
  if (more) page.resume_after = cursor.after();
  return page;
}

// The name_prefix list: two ordered seeks merged, the family-name range of
// /n/ and the given-name range of /g/. Each entry is ordered by (the name
// that matched, its sort key); a contact matching by both names comes from
// /n/ only. The token holds both positions: "<tenant>/m/" <8 hex length of
// the /n/ position> <the /n/ position> <the /g/ position>.
absl::StatusOr<ContactListPage> ListByNamePrefix(
    const projection::ProjectionView& view, const ContactListQuery& query) {
  const std::string token_prefix = SpacePrefix(query.tenant, 'm');
  const std::string n_space = IndexPrefix(query.tenant);
  const std::string g_space = SpacePrefix(query.tenant, 'g');
  std::string n_after;
  std::string g_after;
  if (!query.start_after.empty()) {
    std::string_view rest = query.start_after;
    if (!rest.starts_with(token_prefix) ||
        rest.size() < token_prefix.size() + 8) {
      return BadToken("another order or filter");
    }
    rest.remove_prefix(token_prefix.size());
    size_t n_size = 0;
    const std::string_view hex = rest.substr(0, 8);
    for (char c : hex) {
      const int digit = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                               : -1;
      if (digit < 0) return BadToken("not a name_prefix position");
      n_size = n_size * 16 + static_cast<size_t>(digit);
    }
    rest.remove_prefix(8);
    if (n_size > rest.size()) return BadToken("not a name_prefix position");
    n_after = std::string(rest.substr(0, n_size));
    g_after = std::string(rest.substr(n_size));
    if ((!n_after.empty() &&
         !n_after.starts_with(n_space + query.name_prefix)) ||
        (!g_after.empty() &&
         !g_after.starts_with(g_space + query.name_prefix))) {
      return BadToken("not a position of this name_prefix and tenant");
    }
  }
  size_t budget = query.max_scan;
  Cursor n(view, n_space + query.name_prefix, n_after, query.page_size + 1,
           &budget);
  Cursor g(view, g_space + query.name_prefix, g_after, query.page_size + 1,
           &budget);
  ContactListPage page;
  while (page.ids.size() < query.page_size) {
    ASSIGN_OR_RETURN(bool n_valid, n.Valid());
    ASSIGN_OR_RETURN(bool g_valid, g.Valid());
    if (!n_valid && !g_valid) break;
    // (matched name, sort key) of each side, as one string.
    std::string n_order;
    std::string_view n_sort;
    if (n_valid) {
      n_sort = std::string_view(n.key()).substr(n_space.size());
      n_order = fmt::format("{}{}{}", n_sort.substr(0, n_sort.find('\0')), '\0',
                            n_sort);
    }
    const std::string_view g_order =
        g_valid ? std::string_view(g.key()).substr(g_space.size())
                : std::string_view();
    if (n_valid && (!g_valid || std::string_view(n_order) <= g_order)) {
      ASSIGN_OR_RETURN(v1::Contact filter, ParseEntry(n.value()));
      RETURN_IF_ERROR(Take(filter, query, page));
      n.Next();
      continue;
    }
    const std::string_view g_sort = g_order.substr(g_order.find('\0') + 1);
    const std::string_view family = g_sort.substr(0, g_sort.find('\0'));
    if (!family.starts_with(query.name_prefix)) {  // Else listed from /n/.
      ASSIGN_OR_RETURN(v1::Contact filter, EntryOf(view, query.tenant, g_sort));
      RETURN_IF_ERROR(Take(filter, query, page));
    }
    g.Next();
  }
  ASSIGN_OR_RETURN(bool n_more, n.HasMore());
  ASSIGN_OR_RETURN(bool g_more, g.HasMore());
  if (n_more || g_more) {
    page.resume_after = fmt::format("{}{:08x}{}{}", token_prefix,
                                    n.after().size(), n.after(), g.after());
  }
  return page;
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
  const std::string& tenant = event.tenant();
  const std::string record_key = RecordKey(tenant, *id);
  ASSIGN_OR_RETURN(StoredContact stored,
                   Fold(event, *id, writer, record_key, sealer_));
  ASSIGN_OR_RETURN(ListEntry entry, MakeListEntry(stored, *id, *sealer_));
  const std::string index_key = IndexPrefix(tenant) + entry.sort_key;
  // "<tenant>/k/<id>" remembers the contact's index key, so the next event
  // removes the old entries even when its names can no longer be opened:
  // the old entry holds what the old secondary keys were made of.
  const std::string sort_key_key = fmt::format("{}/k/{}", tenant, *id);
  ASSIGN_OR_RETURN(std::optional<std::string> old_index_key,
                   OwnRecordBefore(event, writer, sort_key_key));
  std::map<std::string, std::string, std::less<>> old_secondary;
  if (old_index_key.has_value()) {
    ASSIGN_OR_RETURN(std::optional<std::string> old_value,
                     writer.Get(*old_index_key));
    if (old_value.has_value() &&
        old_index_key->starts_with(IndexPrefix(tenant))) {
      ASSIGN_OR_RETURN(v1::Contact old_filter, ParseEntry(*old_value));
      old_secondary = SecondaryEntries(
          tenant, *id,
          std::string_view(*old_index_key).substr(IndexPrefix(tenant).size()),
          old_filter);
    }
    if (*old_index_key != index_key) writer.Delete(*old_index_key);
  }
  const auto secondary =
      SecondaryEntries(tenant, *id, entry.sort_key, entry.filter);
  for (const auto& [key, value] : old_secondary) {
    if (!secondary.contains(key)) writer.Delete(key);
  }
  for (const auto& [key, value] : secondary) {
    auto old = old_secondary.find(key);
    if (old == old_secondary.end() || old->second != value) {
      writer.Put(key, value);
    }
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
  if (query.order == ContactListOrder::kName && query.email.empty() &&
      query.phone.empty() && query.account_id.empty() && query.owner.empty() &&
      !query.name_prefix.empty()) {
    return ListByNamePrefix(view, query);
  }
  return ListOneSpace(view, query);
}

absl::StatusOr<std::vector<std::string>> FindContactIdsByEmail(
    const projection::ProjectionView& view, std::string_view tenant,
    std::string_view normalized_email, size_t limit) {
  std::vector<std::string> ids;
  if (normalized_email.empty() || limit == 0) return ids;
  ContactListQuery query;  // Active contacts only, as ListContacts.
  query.tenant = std::string(tenant);
  size_t budget = 10'000;
  Cursor cursor(view, ValuePrefix(tenant, 'e', normalized_email), "", limit + 1,
                &budget);
  while (ids.size() < limit) {
    ASSIGN_OR_RETURN(bool valid, cursor.Valid());
    if (!valid) break;
    ASSIGN_OR_RETURN(v1::Contact filter, EntryOf(view, tenant, cursor.value()));
    if (Matches(filter, query)) {
      ASSIGN_OR_RETURN(std::string id,
                       ParseResourceName(RecordType::kContact, filter.name()));
      ids.push_back(std::move(id));
    }
    cursor.Next();
  }
  return ids;
}

}  // namespace crm::contact::projections
