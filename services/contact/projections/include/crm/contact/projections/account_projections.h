// Accounts and relationships: the read models of this area of the contact
// service, folded from the service's own log.
//
//   ASSIGN_OR_RETURN(auto view, engine.View(kAccountsByIdProjection));
//   ASSIGN_OR_RETURN(std::optional<v1::Account> account,
//                    GetAccountRecord(*view, tenant, id));
//
// Accounts are company data, kept in clear (domain/account.h); both account
// projections fold AccountEvents through the domain's Apply, so they agree
// with the write side on every event type (merges included).
//
// Keys (every key starts with the tenant, so a read of one tenant never
// meets another's record):
//   accounts_by_id:  "<tenant>/<id>" -> v1::Account (the resource).
//   account_list:    "<tenant>/n/<folded display name> NUL <id>" -> the
//                    v1::Account (the list's order: display name, then id,
//                    stable and unique), and "<tenant>/k/<id>" -> the
//                    account's current "n/" key (to move its entry when the
//                    name changes), and "<tenant>/d/<normalized domain> NUL
//                    <id>" -> the account's "n/" key (the domain index; not
//                    for merged accounts), moved or deleted when the domain
//                    changes (the old entry says which key it had).
//   relationships:   "<tenant>/c/<contact id>/<account id>" and
//                    "<tenant>/a/<account id>/<contact id>" ->
//                    v1::ContactRelationship (a contact's accounts, an
//                    account's people), and "<tenant>/s/<contact id>" -> the
//                    contact's relationships as the domain holds them
//                    (v1::ListRelationshipsResponse used as a list), so that
//                    a merge or unmerge can hide and restore index entries,
//                    and "<tenant>/h/<contact id>" -> "" while they are hidden.
//                    While a contact is merged into another or erased, its
//                    own entries are not in the "c/" and "a/" indexes (the
//                    survivor lists the relationships the merge moved).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/contact/domain/account.h"
#include "crm/contact/domain/sealer.h"
#include "crm/contact/v1/contact_service.pb.h"
#include "crm/projection/projection.h"

namespace crm::contact::projections {

inline constexpr char kAccountsByIdProjection[] = "accounts_by_id";
inline constexpr char kAccountListProjection[] = "account_list";
inline constexpr char kRelationshipsProjection[] = "relationships";

// Adds this area's projections to the service's list
// (ContactServiceProjections). `sealer` is not owned.
void AddAccountProjections(
    std::vector<std::unique_ptr<projection::Projection>>& list,
    PersonalDataSealer* sealer);

// accounts_by_id: the current state of each account. Thread-compatible
// (the engine calls Apply from one thread).
class AccountsByIdProjection final : public projection::Projection {
 public:
  std::string name() const override { return kAccountsByIdProjection; }
  uint32_t version() const override { return 1; }
  absl::Status Apply(const projection::Envelope& event,
                     projection::ProjectionWriter& writer) override;
};

// account_list: the list index of accounts. Version 2: the domain index.
class AccountListProjection final : public projection::Projection {
 public:
  std::string name() const override { return kAccountListProjection; }
  uint32_t version() const override { return 2; }
  absl::Status Apply(const projection::Envelope& event,
                     projection::ProjectionWriter& writer) override;
};

// relationships: contact-to-account relationships, both ways.
class RelationshipsProjection final : public projection::Projection {
 public:
  std::string name() const override { return kRelationshipsProjection; }
  uint32_t version() const override { return 1; }
  absl::Status Apply(const projection::Envelope& event,
                     projection::ProjectionWriter& writer) override;
};

// The API resource of an account state (which must exist), and back (for
// Apply to fold the next event into; merge records are not kept).
v1::Account AccountResource(const AccountState& state);
AccountState AccountStateOf(const v1::Account& account,
                            std::string_view tenant);

// The account `id` of `tenant` from an accounts_by_id view, or nullopt.
// Errors: the view's; DATA_LOSS for an undecodable value.
absl::StatusOr<std::optional<v1::Account>> GetAccountRecord(
    const projection::ProjectionView& view, std::string_view tenant,
    std::string_view id);

// What ListAccounts asks of the list index; empty fields do not filter.
struct AccountListQuery {
  std::string tenant;
  std::string name_prefix;  // Folded (NormalizeNameForMatching).
  std::string domain;       // Normalized (NormalizeWebDomain).
  std::string owner;
  std::vector<std::string> tags;  // Every one required.
  std::optional<absl::Time> updated_since;
  bool show_deleted = false;
  size_t page_size = 50;  // REQUIRES: > 0.
  // The last key a previous page returned (AccountListPage::resume_after).
  std::string start_after;
  // Most index entries one call examines. REQUIRES: > 0.
  size_t max_scan = 10'000;
};

struct AccountListPage {
  std::vector<v1::Account> accounts;  // In list order.
  // Where the next page starts; empty when the index holds nothing further.
  // Can be set with fewer than page_size accounts, when max_scan stopped
  // the call.
  std::string resume_after;
};

// One page of accounts matching `query`, from an account_list view. Merged
// accounts are never listed; deleted ones only with show_deleted. Order:
// (display name, id), or with a domain filter the accounts of that domain
// by id (one seek of the domain index).
// Errors: INVALID_ARGUMENT when start_after is not a key of this tenant's
// index; the view's; DATA_LOSS for an undecodable entry.
absl::StatusOr<AccountListPage> ListAccountRecords(
    const projection::ProjectionView& view, const AccountListQuery& query);

// Up to `limit` ids of `tenant`'s active accounts (not deleted or merged)
// whose web domain is `domain` (NormalizeWebDomain), in id order, from an
// account_list view: one seek, for the import. Empty for an empty domain or
// a limit of 0. Errors: DATA_LOSS for an undecodable or missing entry; the
// view's.
absl::StatusOr<std::vector<std::string>> FindAccountIdsByDomain(
    const projection::ProjectionView& view, std::string_view tenant,
    std::string_view domain, size_t limit);

// The relationship of `contact_id` to `account_id`, or nullopt.
absl::StatusOr<std::optional<v1::ContactRelationship>> GetRelationship(
    const projection::ProjectionView& view, std::string_view tenant,
    std::string_view contact_id, std::string_view account_id);

// Whose relationships a query lists.
enum class RelationshipSide { kContact, kAccount };

struct RelationshipQuery {
  std::string tenant;
  RelationshipSide side = RelationshipSide::kContact;
  std::string parent_id;     // The contact's or the account's id.
  std::string role;          // Only relationships with this role; "" = all.
  size_t page_size = 50;     // REQUIRES: > 0.
  std::string start_after;   // RelationshipPage::resume_after, or "".
  size_t max_scan = 10'000;  // REQUIRES: > 0.
};

struct RelationshipPage {
  std::vector<v1::ContactRelationship> relationships;  // By the other id.
  std::string resume_after;                            // As in AccountListPage.
};

// One page of a contact's accounts or an account's people.
// Errors: INVALID_ARGUMENT when start_after is not a key of this list; the
// view's; DATA_LOSS for an undecodable entry.
absl::StatusOr<RelationshipPage> ListRelationshipRecords(
    const projection::ProjectionView& view, const RelationshipQuery& query);

}  // namespace crm::contact::projections
