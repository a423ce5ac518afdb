#include "crm/contact/projections/account_projections.h"

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "crm/base/status_macros.h"
#include "crm/contact/domain/contact.h"
#include "crm/contact/domain/event_codec.h"
#include "crm/contact/domain/ids.h"
#include "crm/contact/domain/normalize.h"
#include "crm/contact/domain/proto_time.h"
#include "crm/contact/projections/contact_record.h"
#include "fmt/format.h"

namespace crm::contact::projections {
namespace {

// Index entries one Scan reads.
constexpr size_t kChunk = 256;

std::string IdIn(RecordType type, std::string_view name) {
  absl::StatusOr<std::string> id = ParseResourceName(type, name);
  return id.ok() ? *std::move(id) : std::string();
}

std::optional<RecordRef> RefOf(const projection::Envelope& event,
                               RecordType type) {
  absl::StatusOr<RecordRef> ref = ParseStreamName(event.stream());
  if (!ref.ok() || ref->type != type) return std::nullopt;
  return *std::move(ref);
}

template <typename Message>
absl::StatusOr<Message> Parse(std::string_view value, std::string_view what) {
  Message message;
  if (!message.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError(fmt::format(
        "an entry of the {} projection does not decode; rebuild it (bump its "
        "version)",
        what));
  }
  return message;
}

// Folds an account event into the account stored at `key` (absent: new).
absl::StatusOr<v1::Account> FoldAccount(const projection::Envelope& event,
                                        std::string_view id,
                                        const std::optional<std::string>& value,
                                        std::string_view what) {
  ASSIGN_OR_RETURN(AccountEvent decoded,
                   ReadAccountEvent(event, UpcastContext{}));
  AccountState state;
  if (value.has_value()) {
    ASSIGN_OR_RETURN(v1::Account stored, Parse<v1::Account>(*value, what));
    state = AccountStateOf(stored, event.tenant());
  }
  state = crm::contact::Apply(std::move(state), decoded, EventMetaOf(event));
  if (state.id.empty()) state.id = std::string(id);
  return AccountResource(state);
}

std::string ListKey(std::string_view tenant, const v1::Account& account,
                    std::string_view id) {
  return fmt::format("{}/n/{}{}{}", tenant,
                     NormalizeNameForMatching(account.display_name()), '\0',
                     id);
}

std::string DomainPrefix(std::string_view tenant, std::string_view domain) {
  return fmt::format("{}/d/{}{}", tenant, domain, '\0');
}

// "<tenant>/d/<domain>\0<id>" (-> the account's /n/ key), for an account
// with a domain that is not merged (merged accounts are never listed).
std::optional<std::string> DomainKey(std::string_view tenant,
                                     const v1::Account& account,
                                     std::string_view id) {
  if (account.domain().empty() || account.state() == v1::RECORD_STATE_MERGED) {
    return std::nullopt;
  }
  return DomainPrefix(tenant, account.domain()) + std::string(id);
}

bool Matches(const v1::Account& a, std::string_view folded_name,
             const AccountListQuery& query) {
  if (a.state() == v1::RECORD_STATE_MERGED) return false;
  if (a.state() == v1::RECORD_STATE_DELETED && !query.show_deleted) {
    return false;
  }
  if (!query.name_prefix.empty() && !folded_name.starts_with(query.name_prefix))
    return false;
  if (!query.domain.empty() && a.domain() != query.domain) return false;
  if (!query.owner.empty() && a.owner() != query.owner) return false;
  for (const std::string& tag : query.tags) {
    if (std::find(a.tags().begin(), a.tags().end(), tag) == a.tags().end()) {
      return false;
    }
  }
  if (query.updated_since.has_value() &&
      FromTimestamp(a.update_time()) < *query.updated_since) {
    return false;
  }
  return true;
}

// ---- Relationships ---------------------------------------------------------

std::string ContactSideKey(std::string_view tenant, std::string_view contact,
                           std::string_view account) {
  return fmt::format("{}/c/{}/{}", tenant, contact, account);
}
std::string AccountSideKey(std::string_view tenant, std::string_view account,
                           std::string_view contact) {
  return fmt::format("{}/a/{}/{}", tenant, account, contact);
}
std::string SetKey(std::string_view tenant, std::string_view contact) {
  return fmt::format("{}/s/{}", tenant, contact);
}
std::string HiddenKey(std::string_view tenant, std::string_view contact) {
  return fmt::format("{}/h/{}", tenant, contact);
}

// A contact's relationships as the domain holds them, and whether its
// entries are listed (not while merged or erased).
struct ContactRelationships {
  v1::ListRelationshipsResponse set;  // Only `relationships` is set.
  bool hidden = false;
};

class RelationshipFolder {
 public:
  RelationshipFolder(const projection::Envelope& event, std::string contact_id,
                     projection::ProjectionWriter& writer)
      : event_(event), contact_id_(std::move(contact_id)), writer_(writer) {}

  absl::Status Load() {
    ASSIGN_OR_RETURN(std::optional<std::string> value,
                     writer_.Get(SetKey(event_.tenant(), contact_id_)));
    if (!value.has_value()) return absl::OkStatus();
    ASSIGN_OR_RETURN(current_.set, Parse<v1::ListRelationshipsResponse>(
                                       *value, kRelationshipsProjection));
    ASSIGN_OR_RETURN(std::optional<std::string> hidden,
                     writer_.Get(HiddenKey(event_.tenant(), contact_id_)));
    current_.hidden = hidden.has_value();
    return absl::OkStatus();
  }

  void Save() {
    writer_.Put(SetKey(event_.tenant(), contact_id_),
                current_.set.SerializeAsString());
    if (current_.hidden) {
      writer_.Put(HiddenKey(event_.tenant(), contact_id_), "");
    } else {
      writer_.Delete(HiddenKey(event_.tenant(), contact_id_));
    }
  }

  absl::Status operator()(const v1::RelationshipAdded& e) {
    v1::ContactRelationship r = Make(e.relationship());
    SetTimestamp(EventMetaOf(event_).occurred_at, r.mutable_create_time());
    Put(r);
    return absl::OkStatus();
  }

  absl::Status operator()(const v1::RelationshipUpdated& e) {
    v1::ContactRelationship r = Make(e.relationship());
    if (const v1::ContactRelationship* old =
            Find(e.relationship().account_id());
        old != nullptr) {
      *r.mutable_create_time() = old->create_time();
    }
    Put(r);
    return absl::OkStatus();
  }

  absl::Status operator()(const v1::RelationshipRemoved& e) {
    Remove(e.account_id());
    return absl::OkStatus();
  }

  absl::Status operator()(const v1::ContactMerged& e) {
    // The moved relationships keep the time they began with the merged
    // contact, when this projection knows it.
    for (const v1::Relationship& moved : e.moved_relationships()) {
      v1::ContactRelationship r = Make(moved);
      ASSIGN_OR_RETURN(
          std::optional<std::string> old,
          writer_.Get(ContactSideKey(event_.tenant(), e.merged_contact_id(),
                                     moved.account_id())));
      if (old.has_value()) {
        ASSIGN_OR_RETURN(
            v1::ContactRelationship before,
            Parse<v1::ContactRelationship>(*old, kRelationshipsProjection));
        *r.mutable_create_time() = before.create_time();
      } else {
        SetTimestamp(EventMetaOf(event_).occurred_at, r.mutable_create_time());
      }
      Put(r);
    }
    return absl::OkStatus();
  }

  absl::Status operator()(const v1::ContactUnmerged& e) {
    for (const std::string& account_id : e.returned_relationship_account_ids())
      Remove(account_id);
    return absl::OkStatus();
  }

  absl::Status operator()(const v1::ContactMergedInto&) {
    SetHidden(true);
    return absl::OkStatus();
  }

  absl::Status operator()(const v1::ContactUnmergedFrom&) {
    SetHidden(false);
    return absl::OkStatus();
  }

  absl::Status operator()(const v1::ContactErased&) {
    SetHidden(true);
    return absl::OkStatus();
  }

  template <typename Other>
  absl::Status operator()(const Other&) {
    return absl::OkStatus();
  }

 private:
  v1::ContactRelationship Make(const v1::Relationship& relationship) const {
    v1::ContactRelationship r;
    r.set_name(fmt::format("{}/relationships/{}",
                           ResourceName(RecordType::kContact, contact_id_),
                           relationship.account_id()));
    r.set_contact(ResourceName(RecordType::kContact, contact_id_));
    r.set_account(
        ResourceName(RecordType::kAccount, relationship.account_id()));
    *r.mutable_roles() = relationship.roles();
    return r;
  }

  const v1::ContactRelationship* Find(std::string_view account_id) const {
    const std::string account = ResourceName(RecordType::kAccount, account_id);
    for (const v1::ContactRelationship& r : current_.set.relationships()) {
      if (r.account() == account) return &r;
    }
    return nullptr;
  }

  void WriteIndex(const v1::ContactRelationship& r) {
    const std::string account_id = IdIn(RecordType::kAccount, r.account());
    const std::string value = r.SerializeAsString();
    writer_.Put(ContactSideKey(event_.tenant(), contact_id_, account_id),
                value);
    writer_.Put(AccountSideKey(event_.tenant(), account_id, contact_id_),
                value);
  }

  void DeleteIndex(std::string_view account_id) {
    writer_.Delete(ContactSideKey(event_.tenant(), contact_id_, account_id));
    writer_.Delete(AccountSideKey(event_.tenant(), account_id, contact_id_));
  }

  void Put(const v1::ContactRelationship& r) {
    auto* list = current_.set.mutable_relationships();
    auto it = std::find_if(list->begin(), list->end(),
                           [&](const v1::ContactRelationship& existing) {
                             return existing.account() == r.account();
                           });
    if (it != list->end()) {
      *it = r;
    } else {
      *list->Add() = r;
    }
    if (!current_.hidden) WriteIndex(r);
  }

  void Remove(std::string_view account_id) {
    const std::string account = ResourceName(RecordType::kAccount, account_id);
    auto* list = current_.set.mutable_relationships();
    list->erase(std::remove_if(list->begin(), list->end(),
                               [&](const v1::ContactRelationship& r) {
                                 return r.account() == account;
                               }),
                list->end());
    DeleteIndex(account_id);
  }

  void SetHidden(bool hidden) {
    current_.hidden = hidden;
    for (const v1::ContactRelationship& r : current_.set.relationships()) {
      if (hidden) {
        DeleteIndex(IdIn(RecordType::kAccount, r.account()));
      } else {
        WriteIndex(r);
      }
    }
  }

  const projection::Envelope& event_;
  const std::string contact_id_;
  projection::ProjectionWriter& writer_;
  ContactRelationships current_;
};

}  // namespace

void AddAccountProjections(
    std::vector<std::unique_ptr<projection::Projection>>& list,
    PersonalDataSealer*) {
  list.push_back(std::make_unique<AccountsByIdProjection>());
  list.push_back(std::make_unique<AccountListProjection>());
  list.push_back(std::make_unique<RelationshipsProjection>());
}

v1::Account AccountResource(const AccountState& state) {
  v1::Account a;
  a.set_name(ResourceName(RecordType::kAccount, state.id));
  const v1::AccountProfile& p = state.profile;
  a.set_display_name(p.display_name());
  a.set_legal_name(p.legal_name());
  a.set_website(p.website());
  a.set_domain(p.domain());
  a.set_industry(p.industry());
  *a.mutable_phones() = p.phones();
  *a.mutable_addresses() = p.addresses();
  a.set_employee_count(p.employee_count());
  if (p.has_annual_revenue()) *a.mutable_annual_revenue() = p.annual_revenue();
  if (!p.parent_account_id().empty()) {
    a.set_parent_account(
        ResourceName(RecordType::kAccount, p.parent_account_id()));
  }
  a.set_description(p.description());
  a.set_owner(state.owner);
  for (const std::string& tag : state.tags) a.add_tags(tag);
  if (!state.merged_into.empty()) {
    a.set_state(v1::RECORD_STATE_MERGED);
    a.set_merged_into(ResourceName(RecordType::kAccount, state.merged_into));
  } else if (state.deleted) {
    a.set_state(v1::RECORD_STATE_DELETED);
  } else {
    a.set_state(v1::RECORD_STATE_ACTIVE);
  }
  SetTimestamp(state.create_time, a.mutable_create_time());
  SetTimestamp(state.update_time, a.mutable_update_time());
  if (state.delete_time)
    SetTimestamp(*state.delete_time, a.mutable_delete_time());
  a.set_etag(std::to_string(state.version));
  a.set_source(state.source);
  return a;
}

AccountState AccountStateOf(const v1::Account& a, std::string_view tenant) {
  AccountState state;
  state.id = IdIn(RecordType::kAccount, a.name());
  state.tenant = std::string(tenant);
  state.version = a.etag().empty() ? 0 : std::stoull(a.etag());
  state.owner = a.owner();
  state.tags.assign(a.tags().begin(), a.tags().end());
  state.source = a.source();
  v1::AccountProfile& p = state.profile;
  p.set_display_name(a.display_name());
  p.set_legal_name(a.legal_name());
  p.set_website(a.website());
  p.set_domain(a.domain());
  p.set_industry(a.industry());
  *p.mutable_phones() = a.phones();
  *p.mutable_addresses() = a.addresses();
  p.set_employee_count(a.employee_count());
  if (a.has_annual_revenue()) *p.mutable_annual_revenue() = a.annual_revenue();
  p.set_parent_account_id(IdIn(RecordType::kAccount, a.parent_account()));
  p.set_description(a.description());
  state.deleted = a.has_delete_time();
  state.merged_into = IdIn(RecordType::kAccount, a.merged_into());
  state.create_time = FromTimestamp(a.create_time());
  state.update_time = FromTimestamp(a.update_time());
  if (a.has_delete_time()) state.delete_time = FromTimestamp(a.delete_time());
  return state;
}

absl::Status AccountsByIdProjection::Apply(
    const projection::Envelope& event, projection::ProjectionWriter& writer) {
  const std::optional<RecordRef> ref = RefOf(event, RecordType::kAccount);
  if (!ref.has_value()) return absl::OkStatus();
  const std::string key = fmt::format("{}/{}", event.tenant(), ref->id);
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   OwnRecordBefore(event, writer, key));
  ASSIGN_OR_RETURN(v1::Account account,
                   FoldAccount(event, ref->id, value, name()));
  writer.Put(key, account.SerializeAsString());
  return absl::OkStatus();
}

absl::Status AccountListProjection::Apply(
    const projection::Envelope& event, projection::ProjectionWriter& writer) {
  const std::optional<RecordRef> ref = RefOf(event, RecordType::kAccount);
  if (!ref.has_value()) return absl::OkStatus();
  const std::string key_of_key =
      fmt::format("{}/k/{}", event.tenant(), ref->id);
  ASSIGN_OR_RETURN(std::optional<std::string> old_key,
                   OwnRecordBefore(event, writer, key_of_key));
  std::optional<std::string> value;
  if (old_key.has_value()) {
    ASSIGN_OR_RETURN(value, writer.Get(*old_key));
  }
  ASSIGN_OR_RETURN(v1::Account account,
                   FoldAccount(event, ref->id, value, name()));
  const std::string key = ListKey(event.tenant(), account, ref->id);
  if (old_key.has_value() && *old_key != key) writer.Delete(*old_key);
  // The domain index: the old account's key (if any) moves to the new one.
  std::optional<std::string> old_domain_key;
  if (value.has_value()) {
    ASSIGN_OR_RETURN(v1::Account old, Parse<v1::Account>(*value, name()));
    old_domain_key = DomainKey(event.tenant(), old, ref->id);
  }
  const std::optional<std::string> domain_key =
      DomainKey(event.tenant(), account, ref->id);
  if (old_domain_key.has_value() && old_domain_key != domain_key) {
    writer.Delete(*old_domain_key);
  }
  if (domain_key.has_value()) writer.Put(*domain_key, key);
  writer.Put(key, account.SerializeAsString());
  writer.Put(key_of_key, key);
  return absl::OkStatus();
}

absl::Status RelationshipsProjection::Apply(
    const projection::Envelope& event, projection::ProjectionWriter& writer) {
  const std::optional<RecordRef> ref = RefOf(event, RecordType::kContact);
  if (!ref.has_value()) return absl::OkStatus();
  // Only these types change relationships; the others are not decoded: an
  // old schema (ContactCreated 1) upcasts only with a sealer, which this
  // projection does not have.
  static const auto* const kRelevantTypes =
      new std::set<std::string, std::less<>>{
          v1::RelationshipAdded::descriptor()->full_name(),
          v1::RelationshipUpdated::descriptor()->full_name(),
          v1::RelationshipRemoved::descriptor()->full_name(),
          v1::ContactMerged::descriptor()->full_name(),
          v1::ContactMergedInto::descriptor()->full_name(),
          v1::ContactUnmerged::descriptor()->full_name(),
          v1::ContactUnmergedFrom::descriptor()->full_name(),
          v1::ContactErased::descriptor()->full_name()};
  if (!kRelevantTypes->contains(event.type())) return absl::OkStatus();
  ASSIGN_OR_RETURN(ContactEvent decoded,
                   ReadContactEvent(event, UpcastContext{}));
  const bool relevant =
      std::holds_alternative<v1::RelationshipAdded>(decoded) ||
      std::holds_alternative<v1::RelationshipUpdated>(decoded) ||
      std::holds_alternative<v1::RelationshipRemoved>(decoded) ||
      std::holds_alternative<v1::ContactMerged>(decoded) ||
      std::holds_alternative<v1::ContactMergedInto>(decoded) ||
      std::holds_alternative<v1::ContactUnmerged>(decoded) ||
      std::holds_alternative<v1::ContactUnmergedFrom>(decoded) ||
      std::holds_alternative<v1::ContactErased>(decoded);
  if (!relevant) return absl::OkStatus();
  RelationshipFolder folder(event, ref->id, writer);
  RETURN_IF_ERROR(folder.Load());
  RETURN_IF_ERROR(std::visit(folder, decoded));
  folder.Save();
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::Account>> GetAccountRecord(
    const projection::ProjectionView& view, std::string_view tenant,
    std::string_view id) {
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   view.Get(fmt::format("{}/{}", tenant, id)));
  if (!value.has_value()) return std::nullopt;
  return Parse<v1::Account>(*value, kAccountsByIdProjection);
}

namespace {

// Pages through the entries under `prefix` after `start_after`: `visit`
// returns whether the entry counted for the page. Shared by both lists.
template <typename Visit>
absl::StatusOr<std::string> PageThrough(const projection::ProjectionView& view,
                                        const std::string& prefix,
                                        const std::string& start_after,
                                        size_t page_size, size_t max_scan,
                                        Visit&& visit) {
  if (!start_after.empty() && !start_after.starts_with(prefix)) {
    return absl::InvalidArgumentError(
        "page token: it belongs to another list; pass the next_page_token of "
        "the previous page unchanged, or none for the first page");
  }
  std::string after = start_after;
  size_t scanned = 0;
  size_t taken = 0;
  while (taken < page_size && scanned < max_scan) {
    const size_t want = std::min(kChunk, max_scan - scanned);
    ASSIGN_OR_RETURN(auto entries, view.Scan(prefix, after, want));
    for (const auto& [key, value] : entries) {
      ++scanned;
      after = key;
      ASSIGN_OR_RETURN(bool counted, visit(key, value));
      if (counted && ++taken == page_size) break;
    }
    if (entries.size() < want && taken < page_size) return std::string();
  }
  ASSIGN_OR_RETURN(auto next, view.Scan(prefix, after, 1));
  return next.empty() ? std::string() : after;
}

// The account entry an index entry of /d/ points to.
absl::StatusOr<v1::Account> AccountAt(const projection::ProjectionView& view,
                                      const std::string& list_key) {
  ASSIGN_OR_RETURN(std::optional<std::string> value, view.Get(list_key));
  if (!value.has_value()) {
    return absl::DataLossError(
        "the account_list projection has a domain key without its entry; "
        "rebuild it (bump its version)");
  }
  return Parse<v1::Account>(*value, kAccountListProjection);
}

// The folded display name in an /n/ key.
std::string_view FoldedNameIn(std::string_view list_key, size_t prefix_size) {
  const std::string_view sort_key = list_key.substr(prefix_size);
  return sort_key.substr(0, sort_key.find('\0'));
}

}  // namespace

absl::StatusOr<AccountListPage> ListAccountRecords(
    const projection::ProjectionView& view, const AccountListQuery& query) {
  const std::string prefix = fmt::format("{}/n/", query.tenant);
  AccountListPage page;
  if (!query.domain.empty()) {  // One seek: the accounts of that domain.
    ASSIGN_OR_RETURN(
        page.resume_after,
        PageThrough(
            view, DomainPrefix(query.tenant, query.domain), query.start_after,
            query.page_size, query.max_scan,
            [&](const std::string&,
                const std::string& list_key) -> absl::StatusOr<bool> {
              if (!list_key.starts_with(prefix)) {
                return absl::DataLossError(
                    "a domain key of the account_list projection "
                    "points outside its tenant; rebuild it");
              }
              ASSIGN_OR_RETURN(v1::Account account, AccountAt(view, list_key));
              if (!Matches(account, FoldedNameIn(list_key, prefix.size()),
                           query)) {
                return false;
              }
              page.accounts.push_back(std::move(account));
              return true;
            }));
    return page;
  }
  ASSIGN_OR_RETURN(
      page.resume_after,
      PageThrough(
          view, prefix, query.start_after, query.page_size, query.max_scan,
          [&](const std::string& key,
              const std::string& value) -> absl::StatusOr<bool> {
            const std::string_view sort_key =
                std::string_view(key).substr(prefix.size());
            const std::string_view folded =
                sort_key.substr(0, sort_key.find('\0'));
            ASSIGN_OR_RETURN(v1::Account account,
                             Parse<v1::Account>(value, kAccountListProjection));
            if (!Matches(account, folded, query)) return false;
            page.accounts.push_back(std::move(account));
            return true;
          }));
  return page;
}

absl::StatusOr<std::optional<v1::ContactRelationship>> GetRelationship(
    const projection::ProjectionView& view, std::string_view tenant,
    std::string_view contact_id, std::string_view account_id) {
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   view.Get(ContactSideKey(tenant, contact_id, account_id)));
  if (!value.has_value()) return std::nullopt;
  return Parse<v1::ContactRelationship>(*value, kRelationshipsProjection);
}

absl::StatusOr<RelationshipPage> ListRelationshipRecords(
    const projection::ProjectionView& view, const RelationshipQuery& query) {
  const std::string prefix = fmt::format(
      "{}/{}/{}/", query.tenant,
      query.side == RelationshipSide::kContact ? "c" : "a", query.parent_id);
  RelationshipPage page;
  ASSIGN_OR_RETURN(
      page.resume_after,
      PageThrough(view, prefix, query.start_after, query.page_size,
                  query.max_scan,
                  [&](const std::string&,
                      const std::string& value) -> absl::StatusOr<bool> {
                    ASSIGN_OR_RETURN(v1::ContactRelationship r,
                                     Parse<v1::ContactRelationship>(
                                         value, kRelationshipsProjection));
                    if (!query.role.empty() &&
                        std::find(r.roles().begin(), r.roles().end(),
                                  query.role) == r.roles().end()) {
                      return false;
                    }
                    page.relationships.push_back(std::move(r));
                    return true;
                  }));
  return page;
}

absl::StatusOr<std::vector<std::string>> FindAccountIdsByDomain(
    const projection::ProjectionView& view, std::string_view tenant,
    std::string_view domain, size_t limit) {
  std::vector<std::string> ids;
  if (domain.empty() || limit == 0) return ids;
  const std::string prefix = DomainPrefix(tenant, domain);
  std::string after;
  size_t scanned = 0;
  constexpr size_t kMaxScan = 10'000;
  while (ids.size() < limit && scanned < kMaxScan) {
    const size_t want = std::min(kChunk, kMaxScan - scanned);
    ASSIGN_OR_RETURN(auto entries, view.Scan(prefix, after, want));
    for (const auto& [key, list_key] : entries) {
      ++scanned;
      after = key;
      ASSIGN_OR_RETURN(v1::Account account, AccountAt(view, list_key));
      if (account.state() != v1::RECORD_STATE_ACTIVE) continue;
      ids.push_back(key.substr(prefix.size()));
      if (ids.size() == limit) break;
    }
    if (entries.size() < want) break;
  }
  return ids;
}

}  // namespace crm::contact::projections
