// The Account aggregate: fields, Decide, Apply, merge and unmerge.
#include "crm/contact/domain/account.h"

#include <algorithm>

#include "crm/base/status_macros.h"
#include "crm/contact/domain/field_violation.h"
#include "crm/contact/domain/ids.h"
#include "crm/contact/domain/normalize.h"
#include "fmt/format.h"
#include "merge_choices.h"
#include "proto_fields.h"
#include "validation.h"

namespace crm::contact {
namespace {

using Events = std::vector<AccountEvent>;

constexpr int kMaxAccountPhones = 20;

// The AccountProfile field behind a resource path.
std::string_view ProfileField(std::string_view path) {
  return path == "parent_account" ? "parent_account_id" : path;
}

bool IsRepeatedAccountField(std::string_view path) {
  return path == "phones" || path == "addresses" || path == "tags";
}

void CopyField(std::string_view path, const AccountFields& from,
               AccountFields* to) {
  if (path == "owner") {
    to->owner = from.owner;
  } else if (path == "tags") {
    to->tags = from.tags;
  } else {
    internal::CopyProtoField(from.profile, &to->profile, ProfileField(path));
    if (path == "website") to->profile.set_domain(from.profile.domain());
  }
}

bool FieldEquals(std::string_view path, const AccountFields& a,
                 const AccountFields& b) {
  if (path == "owner") return a.owner == b.owner;
  if (path == "tags") return a.tags == b.tags;
  return internal::ProtoFieldEquals(a.profile, b.profile, ProfileField(path));
}

bool FieldEmpty(std::string_view path, const AccountFields& fields) {
  if (path == "owner") return fields.owner.empty();
  if (path == "tags") return fields.tags.empty();
  return internal::ProtoFieldEmpty(fields.profile, ProfileField(path));
}

void UnionField(std::string_view path, const AccountFields& a,
                const AccountFields& b, AccountFields* out) {
  if (path == "tags") {
    std::vector<std::string> tags = a.tags;
    for (const std::string& tag : b.tags) {
      if (!internal::Contains(tags, tag)) tags.push_back(tag);
    }
    out->tags = std::move(tags);
    return;
  }
  internal::UnionProtoField(a.profile, b.profile, &out->profile, path);
}

void NormalizeFields(ViolationList& violations,
                     const std::vector<std::string>& paths,
                     std::string_view account_id, const CommandContext& context,
                     AccountFields* fields) {
  v1::AccountProfile& profile = fields->profile;
  for (const std::string& path : paths) {
    if (path == "display_name") {
      profile.set_display_name(internal::Trim(profile.display_name()));
      if (profile.display_name().empty()) {
        violations.Add(path, "is required: the company's name");
      }
      internal::CheckText(violations, path, profile.display_name(),
                          internal::kMaxNameBytes, false);
    } else if (path == "legal_name") {
      profile.set_legal_name(internal::Trim(profile.legal_name()));
      internal::CheckText(violations, path, profile.legal_name(),
                          internal::kMaxNameBytes, false);
    } else if (path == "website") {
      profile.set_website(internal::Trim(profile.website()));
      profile.clear_domain();
      if (!profile.website().empty()) {
        internal::CheckText(violations, path, profile.website(), 2048, false);
        absl::StatusOr<std::string> domain =
            NormalizeWebDomain(profile.website());
        if (domain.ok()) {
          profile.set_domain(*domain);
        } else {
          violations.Add(path, std::string(domain.status().message()));
        }
      }
    } else if (path == "industry") {
      profile.set_industry(internal::Trim(profile.industry()));
      internal::CheckText(violations, path, profile.industry(),
                          internal::kMaxNameBytes, false);
    } else if (path == "phones") {
      internal::NormalizePhones(violations, path, context.default_region,
                                profile.mutable_phones());
    } else if (path == "addresses") {
      internal::NormalizeAddresses(violations, path,
                                   profile.mutable_addresses());
    } else if (path == "employee_count") {
      if (profile.employee_count() < 0) {
        violations.Add(path, "must not be negative (0 means unknown)");
      }
    } else if (path == "annual_revenue") {
      if (profile.has_annual_revenue()) {
        const std::string& code = profile.annual_revenue().currency_code();
        bool ok = code.size() == 3 &&
                  std::all_of(code.begin(), code.end(),
                              [](char c) { return c >= 'A' && c <= 'Z'; });
        if (!ok) {
          violations.Add("annual_revenue.currency_code",
                         "must be an ISO 4217 code in upper case, such as EUR");
        }
      }
    } else if (path == "parent_account") {
      internal::CheckId(violations, path, profile.parent_account_id(), false);
      if (!account_id.empty() && profile.parent_account_id() == account_id) {
        violations.Add(path, "an account cannot be its own parent");
      }
    } else if (path == "description") {
      internal::CheckText(violations, path, profile.description(),
                          internal::kMaxNotesBytes, true);
    } else if (path == "owner") {
      fields->owner = internal::Trim(fields->owner);
      if (fields->owner.empty()) {
        violations.Add(path, "is required (a user id)");
      } else {
        internal::CheckText(violations, path, fields->owner,
                            internal::kMaxNameBytes, false);
      }
    } else if (path == "tags") {
      fields->tags = internal::NormalizeTags(violations, path, fields->tags);
    }
  }
}

absl::Status CheckVisible(const AccountState& state, std::string_view id,
                          const CommandContext& context) {
  if (!state.exists() || state.tenant != context.tenant) {
    return internal::NotFound("account", id);
  }
  return absl::OkStatus();
}

absl::Status CheckWritable(const AccountState& state, bool allow_deleted) {
  if (!state.merged_into.empty()) {
    return absl::FailedPreconditionError(fmt::format(
        "account {} was merged into {}; change that account instead, or "
        "unmerge first",
        state.id, ResourceName(RecordType::kAccount, state.merged_into)));
  }
  if (state.deleted && !allow_deleted) {
    return absl::FailedPreconditionError(
        fmt::format("account {} is deleted; undelete it first", state.id));
  }
  return absl::OkStatus();
}

absl::Status CheckAccountId(std::string_view id) {
  ViolationList violations;
  internal::CheckId(violations, "account_id", id, true);
  return violations.ToStatus("request");
}

class AccountDecider {
 public:
  AccountDecider(const AccountState& state, const CommandContext& context)
      : state_(state), context_(context) {}

  absl::StatusOr<Events> operator()(const CreateAccount& command) const {
    ViolationList violations;
    internal::CheckId(violations, "account_id", command.account_id, true);
    AccountFields fields = command.fields;
    if (internal::Trim(fields.owner).empty()) fields.owner = context_.actor;
    NormalizeFields(violations, AccountFieldPaths(), command.account_id,
                    context_, &fields);
    internal::CheckText(violations, "source", command.source,
                        internal::kMaxSourceBytes, false);
    RETURN_IF_ERROR(violations.ToStatus("account"));
    if (state_.exists()) {
      return absl::AlreadyExistsError(fmt::format(
          "an account with id {} exists already; choose another id or omit it",
          command.account_id));
    }
    v1::AccountCreated created;
    created.set_account_id(command.account_id);
    created.set_owner(fields.owner);
    for (const std::string& tag : fields.tags) created.add_tags(tag);
    *created.mutable_profile() = fields.profile;
    created.set_source(command.source.empty() ? "api" : command.source);
    return Events{std::move(created)};
  }

  absl::StatusOr<Events> operator()(const UpdateAccount& command) const {
    ViolationList violations;
    internal::CheckId(violations, "account_id", command.account_id, true);
    std::vector<std::string> paths = internal::ExpandUpdateMask(
        violations, command.update_mask, AccountFieldPaths());
    AccountFields requested = command.fields;
    NormalizeFields(violations, paths, command.account_id, context_,
                    &requested);
    RETURN_IF_ERROR(violations.ToStatus("account update"));
    RETURN_IF_ERROR(CheckVisible(state_, command.account_id, context_));
    RETURN_IF_ERROR(CheckWritable(state_, /*allow_deleted=*/false));
    AccountFields current = CurrentAccountFields(state_);
    AccountFields next = current;
    std::vector<std::string> changed;
    for (const std::string& path : paths) {
      if (FieldEquals(path, current, requested)) continue;
      CopyField(path, requested, &next);
      changed.push_back(path);
    }
    if (changed.empty()) return Events{};
    std::sort(changed.begin(), changed.end());
    v1::AccountUpdated updated;
    updated.set_account_id(state_.id);
    for (const std::string& path : changed) updated.add_changed_fields(path);
    if (internal::Contains(changed, "owner")) updated.set_owner(next.owner);
    if (internal::Contains(changed, "tags")) {
      for (const std::string& tag : next.tags) updated.add_tags(tag);
    }
    *updated.mutable_profile() = next.profile;
    return Events{std::move(updated)};
  }

  absl::StatusOr<Events> operator()(const DeleteAccount& command) const {
    RETURN_IF_ERROR(CheckAccountId(command.account_id));
    RETURN_IF_ERROR(CheckVisible(state_, command.account_id, context_));
    RETURN_IF_ERROR(CheckWritable(state_, /*allow_deleted=*/true));
    if (state_.deleted) {
      return absl::FailedPreconditionError(
          fmt::format("account {} is deleted already", state_.id));
    }
    v1::AccountDeleted deleted;
    deleted.set_account_id(state_.id);
    return Events{std::move(deleted)};
  }

  absl::StatusOr<Events> operator()(const UndeleteAccount& command) const {
    RETURN_IF_ERROR(CheckAccountId(command.account_id));
    RETURN_IF_ERROR(CheckVisible(state_, command.account_id, context_));
    RETURN_IF_ERROR(CheckWritable(state_, /*allow_deleted=*/true));
    if (!state_.deleted) {
      return absl::FailedPreconditionError(
          fmt::format("account {} is not deleted", state_.id));
    }
    v1::AccountUndeleted undeleted;
    undeleted.set_account_id(state_.id);
    return Events{std::move(undeleted)};
  }

 private:
  const AccountState& state_;
  const CommandContext& context_;
};

std::vector<std::string> ToVector(
    const google::protobuf::RepeatedPtrField<std::string>& values) {
  return {values.begin(), values.end()};
}

void TouchMerges(AccountState& state,
                 const google::protobuf::RepeatedPtrField<std::string>& paths) {
  for (AccountMergeRecord& merge : state.merges) {
    merge.touched_since.insert(paths.begin(), paths.end());
  }
}

class AccountApplier {
 public:
  AccountApplier(AccountState& state, const EventMeta& meta)
      : state_(state), meta_(meta) {}

  void operator()(const v1::AccountCreated& e) {
    state_.id = e.account_id();
    state_.tenant = meta_.tenant;
    state_.owner = e.owner();
    state_.tags = ToVector(e.tags());
    state_.profile = e.profile();
    state_.source = e.source();
    state_.create_time = meta_.occurred_at;
  }

  void operator()(const v1::AccountUpdated& e) {
    SetClear(e.changed_fields(), e.owner(), e.tags());
    state_.profile = e.profile();
    TouchMerges(state_, e.changed_fields());
  }

  void operator()(const v1::AccountDeleted&) {
    state_.deleted = true;
    state_.delete_time = meta_.occurred_at;
  }

  void operator()(const v1::AccountUndeleted&) {
    state_.deleted = false;
    state_.delete_time.reset();
  }

  void operator()(const v1::AccountMerged& e) {
    TouchMerges(state_, e.changed_fields());
    AccountMergeRecord merge;
    merge.merged_id = e.merged_account_id();
    merge.changed_fields = ToVector(e.changed_fields());
    merge.previous_owner = state_.owner;
    merge.previous_tags = state_.tags;
    merge.previous_profile = state_.profile;
    state_.merges.push_back(std::move(merge));
    SetClear(e.changed_fields(), e.owner(), e.tags());
    state_.profile = e.profile();
  }

  void operator()(const v1::AccountMergedInto& e) {
    state_.merged_into = e.survivor_account_id();
  }

  void operator()(const v1::AccountUnmerged& e) {
    SetClear(e.reverted_fields(), e.owner(), e.tags());
    state_.profile = e.profile();
    std::erase_if(state_.merges, [&](const AccountMergeRecord& merge) {
      return merge.merged_id == e.unmerged_account_id();
    });
    TouchMerges(state_, e.reverted_fields());
  }

  void operator()(const v1::AccountUnmergedFrom&) {
    state_.merged_into.clear();
  }

 private:
  void SetClear(const google::protobuf::RepeatedPtrField<std::string>& paths,
                const std::string& owner,
                const google::protobuf::RepeatedPtrField<std::string>& tags) {
    for (const std::string& path : paths) {
      if (path == "owner") state_.owner = owner;
      if (path == "tags") state_.tags = ToVector(tags);
    }
  }

  AccountState& state_;
  const EventMeta& meta_;
};

absl::Status CheckPair(const AccountState& survivor, const AccountState& merged,
                       std::string_view survivor_id, std::string_view merged_id,
                       const CommandContext& context) {
  RETURN_IF_ERROR(ValidateCommandContext(context));
  ViolationList violations;
  internal::CheckId(violations, "survivor", survivor_id, true);
  internal::CheckId(violations, "merged", merged_id, true);
  if (!survivor_id.empty() && survivor_id == merged_id) {
    violations.Add("merged", "an account cannot be merged with itself");
  }
  RETURN_IF_ERROR(violations.ToStatus("merge request"));
  RETURN_IF_ERROR(CheckVisible(survivor, survivor_id, context));
  return CheckVisible(merged, merged_id, context);
}

}  // namespace

const std::vector<std::string>& AccountFieldPaths() {
  static const std::vector<std::string>* const paths =
      new std::vector<std::string>{
          "display_name",   "legal_name",  "website",        "industry",
          "phones",         "addresses",   "employee_count", "annual_revenue",
          "parent_account", "description", "owner",          "tags"};
  return *paths;
}

AccountFields CurrentAccountFields(const AccountState& state) {
  AccountFields fields;
  fields.owner = state.owner;
  fields.tags = state.tags;
  fields.profile = state.profile;
  return fields;
}

absl::StatusOr<std::vector<AccountEvent>> Decide(
    const AccountState& state, const AccountCommand& command,
    const CommandContext& context) {
  RETURN_IF_ERROR(ValidateCommandContext(context));
  return std::visit(AccountDecider(state, context), command);
}

AccountState Apply(AccountState state, const AccountEvent& event,
                   const EventMeta& meta) {
  std::visit(AccountApplier(state, meta), event);
  state.version += 1;
  state.update_time = meta.occurred_at;
  return state;
}

absl::StatusOr<AccountPairEvents> DecideMerge(const AccountState& survivor,
                                              const AccountState& merged,
                                              const MergeAccounts& command,
                                              const CommandContext& context) {
  RETURN_IF_ERROR(CheckPair(survivor, merged, command.survivor_id,
                            command.merged_id, context));
  ViolationList violations;
  internal::CheckFieldChoices(violations, command.field_choices,
                              AccountFieldPaths(), IsRepeatedAccountField);
  RETURN_IF_ERROR(violations.ToStatus("merge request"));
  RETURN_IF_ERROR(CheckWritable(survivor, false));
  RETURN_IF_ERROR(CheckWritable(merged, false));

  AccountFields kept = CurrentAccountFields(survivor);
  AccountFields other = CurrentAccountFields(merged);
  AccountFields next = kept;
  std::vector<std::string> changed;
  for (const std::string& path : AccountFieldPaths()) {
    switch (internal::ChoiceFor(command.field_choices, path)) {
      case v1::MERGE_FIELD_SOURCE_MERGED:
        CopyField(path, other, &next);
        break;
      case v1::MERGE_FIELD_SOURCE_BOTH:
        UnionField(path, kept, other, &next);
        break;
      case v1::MERGE_FIELD_SOURCE_SURVIVOR:
        break;
      default:
        if (FieldEmpty(path, kept)) CopyField(path, other, &next);
        break;
    }
    if (!FieldEquals(path, kept, next)) changed.push_back(path);
  }
  // The merged account must not become the survivor's parent.
  if (next.profile.parent_account_id() == survivor.id) {
    next.profile.set_parent_account_id(kept.profile.parent_account_id());
    std::erase(changed, std::string("parent_account"));
  }
  if (next.profile.phones_size() > kMaxAccountPhones ||
      next.profile.addresses_size() >
          static_cast<int>(internal::kMaxAddresses) ||
      next.tags.size() > internal::kMaxTags) {
    ViolationList result;
    result.Add("field_choices",
               "the merged account would have more phones, addresses or tags "
               "than an account may have; choose SURVIVOR or MERGED for some");
    return result.ToStatus("merge request");
  }
  std::sort(changed.begin(), changed.end());

  v1::AccountMerged event;
  event.set_account_id(survivor.id);
  event.set_merged_account_id(merged.id);
  for (const auto& [path, source] : command.field_choices) {
    (*event.mutable_field_choices())[path] = source;
  }
  for (const std::string& path : changed) event.add_changed_fields(path);
  if (internal::Contains(changed, "owner")) event.set_owner(next.owner);
  if (internal::Contains(changed, "tags")) {
    for (const std::string& tag : next.tags) event.add_tags(tag);
  }
  *event.mutable_profile() = next.profile;

  v1::AccountMergedInto into;
  into.set_account_id(merged.id);
  into.set_survivor_account_id(survivor.id);
  AccountPairEvents events;
  events.survivor_events.push_back(std::move(event));
  events.merged_events.push_back(std::move(into));
  return events;
}

absl::StatusOr<AccountPairEvents> DecideUnmerge(const AccountState& survivor,
                                                const AccountState& merged,
                                                const UnmergeAccounts& command,
                                                const CommandContext& context) {
  RETURN_IF_ERROR(CheckPair(survivor, merged, command.survivor_id,
                            command.merged_id, context));
  auto record = std::find_if(
      survivor.merges.begin(), survivor.merges.end(),
      [&](const AccountMergeRecord& m) { return m.merged_id == merged.id; });
  if (record == survivor.merges.end() || merged.merged_into != survivor.id) {
    return absl::FailedPreconditionError(
        fmt::format("account {} is not merged into account {}; nothing to undo",
                    merged.id, survivor.id));
  }
  if (!survivor.merged_into.empty()) {
    return absl::FailedPreconditionError(fmt::format(
        "account {} is itself merged into account {}; unmerge that first",
        survivor.id, survivor.merged_into));
  }
  std::vector<std::string> reverted;
  for (const std::string& path : record->changed_fields) {
    if (record->touched_since.count(path) == 0) reverted.push_back(path);
  }
  std::sort(reverted.begin(), reverted.end());
  AccountFields previous;
  previous.owner = record->previous_owner;
  previous.tags = record->previous_tags;
  previous.profile = record->previous_profile;
  AccountFields next = CurrentAccountFields(survivor);
  for (const std::string& path : reverted) CopyField(path, previous, &next);

  v1::AccountUnmerged event;
  event.set_account_id(survivor.id);
  event.set_unmerged_account_id(merged.id);
  for (const std::string& path : reverted) event.add_reverted_fields(path);
  if (internal::Contains(reverted, "owner")) event.set_owner(next.owner);
  if (internal::Contains(reverted, "tags")) {
    for (const std::string& tag : next.tags) event.add_tags(tag);
  }
  *event.mutable_profile() = next.profile;

  v1::AccountUnmergedFrom from;
  from.set_account_id(merged.id);
  from.set_survivor_account_id(survivor.id);
  AccountPairEvents events;
  events.survivor_events.push_back(std::move(event));
  events.merged_events.push_back(std::move(from));
  return events;
}

}  // namespace crm::contact
