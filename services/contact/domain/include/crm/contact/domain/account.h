// The Account aggregate (a company): state, commands, decide and apply.
// Company data is not personal and is kept in clear; the rules are those of
// contact.h (context, validation, NOT_FOUND across tenants, merged and
// deleted records refuse changes, no-op commands give no event). Field paths
// are those of the crm.contact.v1.Account resource.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/contact/domain/context.h"
#include "crm/contact/v1/contact_events.pb.h"

namespace crm::contact {

using AccountEvent =
    std::variant<v1::AccountCreated, v1::AccountUpdated, v1::AccountDeleted,
                 v1::AccountUndeleted, v1::AccountMerged, v1::AccountMergedInto,
                 v1::AccountUnmerged, v1::AccountUnmergedFrom>;

// The writable fields of an account.
struct AccountFields {
  std::string owner;  // empty on create means the actor
  std::vector<std::string> tags;
  v1::AccountProfile profile;  // domain is output only (derived from website)
};

// Writable field paths of an account, in resource order: display_name,
// legal_name, website, industry, phones, addresses, employee_count,
// annual_revenue, parent_account, description, owner, tags.
const std::vector<std::string>& AccountFieldPaths();

// What an active merge into this account changed.
struct AccountMergeRecord {
  std::string merged_id;
  std::vector<std::string> changed_fields;
  std::set<std::string> touched_since;
  std::string previous_owner;
  std::vector<std::string> previous_tags;
  v1::AccountProfile previous_profile;
};

// An account as its events made it. version 0 means it does not exist.
struct AccountState {
  std::string id;
  std::string tenant;
  uint64_t version = 0;
  std::string owner;
  std::vector<std::string> tags;
  std::string source;
  v1::AccountProfile profile;
  std::vector<AccountMergeRecord> merges;
  bool deleted = false;
  std::string merged_into;
  absl::Time create_time = absl::UnixEpoch();
  absl::Time update_time = absl::UnixEpoch();
  std::optional<absl::Time> delete_time;

  bool exists() const { return version > 0; }
};

struct CreateAccount {
  std::string account_id;
  AccountFields fields;
  std::string source;
};

struct UpdateAccount {
  std::string account_id;
  std::vector<std::string> update_mask;
  AccountFields fields;
};

struct DeleteAccount {
  std::string account_id;
};

struct UndeleteAccount {
  std::string account_id;
};

using AccountCommand =
    std::variant<CreateAccount, UpdateAccount, DeleteAccount, UndeleteAccount>;

// As Decide for contacts: Create (ALREADY_EXISTS; display_name required,
// website must have a domain, parent_account not the account itself),
// Update (update_mask), Delete (FAILED_PRECONDITION when deleted), Undelete
// (FAILED_PRECONDITION when not deleted).
absl::StatusOr<std::vector<AccountEvent>> Decide(const AccountState& state,
                                                 const AccountCommand& command,
                                                 const CommandContext& context);

// Folds one event into the state (version + 1).
AccountState Apply(AccountState state, const AccountEvent& event,
                   const EventMeta& meta);

struct MergeAccounts {
  std::string survivor_id;
  std::string merged_id;
  std::map<std::string, v1::MergeFieldSource, std::less<>> field_choices;
};

struct UnmergeAccounts {
  std::string survivor_id;
  std::string merged_id;
};

struct AccountPairEvents {
  std::vector<AccountEvent> survivor_events;
  std::vector<AccountEvent> merged_events;
};

// As DecideMerge for contacts; BOTH is allowed for phones, addresses, tags.
// Gives AccountMerged and AccountMergedInto.
absl::StatusOr<AccountPairEvents> DecideMerge(const AccountState& survivor,
                                              const AccountState& merged,
                                              const MergeAccounts& command,
                                              const CommandContext& context);

// As DecideUnmerge for contacts. Gives AccountUnmerged and
// AccountUnmergedFrom.
absl::StatusOr<AccountPairEvents> DecideUnmerge(const AccountState& survivor,
                                                const AccountState& merged,
                                                const UnmergeAccounts& command,
                                                const CommandContext& context);

// The account's writable fields as they are now.
AccountFields CurrentAccountFields(const AccountState& state);

}  // namespace crm::contact
