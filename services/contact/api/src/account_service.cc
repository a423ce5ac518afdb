// Accounts: Create, Get, List, Update, Delete, Undelete (contact_service.h).
#include <optional>
#include <string>
#include <utility>

#include "crm/base/status_macros.h"
#include "crm/contact/api/contact_service.h"
#include "crm/contact/domain/normalize.h"
#include "crm/contact/projections/account_projections.h"
#include "fmt/format.h"
#include "history_support.h"
#include "service_support.h"

namespace crm::contact::api {
namespace {

using projections::kAccountListProjection;
using projections::kAccountsByIdProjection;

// Merge redirects a Get follows at most.
constexpr int kMaxRedirects = 8;

// The writable fields of an Account resource, as the domain takes them.
absl::StatusOr<AccountFields> FieldsOf(const v1::Account& account) {
  AccountFields fields;
  fields.owner = account.owner();
  fields.tags.assign(account.tags().begin(), account.tags().end());
  v1::AccountProfile& p = fields.profile;
  p.set_display_name(account.display_name());
  p.set_legal_name(account.legal_name());
  p.set_website(account.website());
  p.set_industry(account.industry());
  *p.mutable_phones() = account.phones();
  *p.mutable_addresses() = account.addresses();
  p.set_employee_count(account.employee_count());
  if (account.has_annual_revenue()) {
    *p.mutable_annual_revenue() = account.annual_revenue();
  }
  if (!account.parent_account().empty()) {
    absl::StatusOr<std::string> parent =
        ParseResourceName(RecordType::kAccount, account.parent_account());
    if (!parent.ok()) {
      return InvalidField("account.parent_account",
                          std::string(parent.status().message()));
    }
    p.set_parent_account_id(*std::move(parent));
  }
  p.set_description(account.description());
  return fields;
}

// The account as accounts_by_id shows it once both account read models
// reached `position`. NOT_FOUND for an unknown id or another tenant's.
absl::StatusOr<v1::Account> ReadAccount(const ServiceDeps& deps,
                                        const grpc::CallbackServerContext& call,
                                        std::string_view tenant,
                                        std::string_view id,
                                        uint64_t position) {
  RETURN_IF_ERROR(WaitFor(deps, call, kAccountListProjection, position));
  RETURN_IF_ERROR(WaitFor(deps, call, kAccountsByIdProjection, position));
  ASSIGN_OR_RETURN(auto view, deps.engine.View(kAccountsByIdProjection));
  ASSIGN_OR_RETURN(std::optional<v1::Account> account,
                   projections::GetAccountRecord(*view, tenant, id));
  if (!account.has_value()) {
    return absl::NotFoundError(fmt::format(
        "accounts/{} does not exist; check the name (ListAccounts shows your "
        "accounts)",
        id));
  }
  return *std::move(account);
}

}  // namespace

grpc::ServerUnaryReactor* ContactServiceImpl::CreateAccount(
    grpc::CallbackServerContext* call, const v1::CreateAccountRequest* request,
    v1::CreateAccountResponse* response) {
  return Serve(deps_, call, "account.", [=, this]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context, CallerOf(*call, deps_));
    ASSIGN_OR_RETURN(AccountFields fields, FieldsOf(request->account()));
    crm::contact::CreateAccount command;
    command.account_id =
        request->account_id().empty() ? NewUuid() : request->account_id();
    command.fields = std::move(fields);
    ASSIGN_OR_RETURN(
        Written written,
        Execute<AccountAggregate>(deps_, *call, context, command.account_id, "",
                                  command, request->context().request_id()));
    ASSIGN_OR_RETURN(*response->mutable_account(),
                     ReadAccount(deps_, *call, context.tenant, written.id,
                                 written.position));
    SetResult(written, *response->mutable_result());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::GetAccount(
    grpc::CallbackServerContext* call, const v1::GetAccountRequest* request,
    v1::Account* response) {
  return Serve(deps_, call, "", [=, this]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context, CallerOf(*call, deps_));
    ASSIGN_OR_RETURN(std::string id,
                     IdOf(RecordType::kAccount, request->name(), "name"));
    ASSIGN_OR_RETURN(std::optional<AsOf> as_of,
                     AsOfOf(request->has_as_of_time(), request->as_of_time(),
                            request->as_of_version()));
    if (as_of.has_value()) {  // Time travel: no redirect, as it was then.
      ASSIGN_OR_RETURN(*response,
                       AccountAsOf(deps_, context.tenant, id, *as_of));
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(
        v1::Account account,
        ReadAccount(deps_, *call, context.tenant, id, request->min_position()));
    // Follow merge redirects, a bounded number of hops.
    for (int hop = 0; hop < kMaxRedirects && !request->no_redirect() &&
                      account.state() == v1::RECORD_STATE_MERGED;
         ++hop) {
      ASSIGN_OR_RETURN(
          std::string survivor,
          IdOf(RecordType::kAccount, account.merged_into(), "name"));
      ASSIGN_OR_RETURN(account,
                       ReadAccount(deps_, *call, context.tenant, survivor, 0));
    }
    *response = std::move(account);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::ListAccounts(
    grpc::CallbackServerContext* call, const v1::ListAccountsRequest* request,
    v1::ListAccountsResponse* response) {
  return Serve(deps_, call, "", [=, this]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context, CallerOf(*call, deps_));
    ASSIGN_OR_RETURN(size_t page_size, PageSizeOf(request->page().page_size()));
    projections::AccountListQuery query;
    query.tenant = context.tenant;
    query.page_size = page_size;
    query.name_prefix = NormalizeNameForMatching(request->name_prefix());
    if (!request->domain().empty()) {
      absl::StatusOr<std::string> domain =
          NormalizeWebDomain(request->domain());
      if (!domain.ok()) {
        return InvalidField("domain", std::string(domain.status().message()));
      }
      query.domain = *std::move(domain);
    }
    query.owner = request->owner();
    query.tags.assign(request->tags().begin(), request->tags().end());
    if (request->has_updated_since()) {
      query.updated_since = FromTimestamp(request->updated_since());
    }
    query.show_deleted = request->show_deleted();
    ASSIGN_OR_RETURN(query.start_after,
                     DecodePageToken(*request, request->page().page_token()));

    RETURN_IF_ERROR(
        WaitFor(deps_, *call, kAccountListProjection, request->min_position()));
    ASSIGN_OR_RETURN(auto view, deps_.engine.View(kAccountListProjection));
    absl::StatusOr<projections::AccountListPage> page =
        projections::ListAccountRecords(*view, query);
    if (absl::IsInvalidArgument(page.status())) {
      return InvalidField("page.page_token",
                          std::string(page.status().message()));
    }
    RETURN_IF_ERROR(page.status());
    for (v1::Account& account : page->accounts) {
      *response->add_accounts() = std::move(account);
    }
    if (!page->resume_after.empty()) {
      response->mutable_page()->set_next_page_token(
          EncodePageToken(*request, page->resume_after));
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::UpdateAccount(
    grpc::CallbackServerContext* call, const v1::UpdateAccountRequest* request,
    v1::UpdateAccountResponse* response) {
  return Serve(deps_, call, "account.", [=, this]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context, CallerOf(*call, deps_));
    ASSIGN_OR_RETURN(
        std::string id,
        IdOf(RecordType::kAccount, request->account().name(), "account.name"));
    if (!request->etag().empty()) {
      RETURN_IF_ERROR(ParseEtag(request->etag()).status());
    }
    ASSIGN_OR_RETURN(AccountFields fields, FieldsOf(request->account()));
    crm::contact::UpdateAccount command;
    command.account_id = id;
    command.update_mask.assign(request->update_mask().paths().begin(),
                               request->update_mask().paths().end());
    command.fields = std::move(fields);
    ASSIGN_OR_RETURN(
        Written written,
        Execute<AccountAggregate>(deps_, *call, context, id, request->etag(),
                                  command, request->context().request_id()));
    ASSIGN_OR_RETURN(*response->mutable_account(),
                     ReadAccount(deps_, *call, context.tenant, written.id,
                                 written.position));
    SetResult(written, *response->mutable_result());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::DeleteAccount(
    grpc::CallbackServerContext* call, const v1::DeleteAccountRequest* request,
    v1::DeleteAccountResponse* response) {
  return Serve(deps_, call, "", [=, this]() -> absl::Status {
    return ChangeRecord<AccountAggregate>(
        deps_, *call, RecordType::kAccount, request->name(), request->etag(),
        request->context().request_id(),
        [](std::string id) -> AccountCommand {
          return crm::contact::DeleteAccount{std::move(id)};
        },
        &ReadAccount, response->mutable_account(), *response->mutable_result());
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::UndeleteAccount(
    grpc::CallbackServerContext* call,
    const v1::UndeleteAccountRequest* request,
    v1::UndeleteAccountResponse* response) {
  return Serve(deps_, call, "", [=, this]() -> absl::Status {
    return ChangeRecord<AccountAggregate>(
        deps_, *call, RecordType::kAccount, request->name(), request->etag(),
        request->context().request_id(),
        [](std::string id) -> AccountCommand {
          return crm::contact::UndeleteAccount{std::move(id)};
        },
        &ReadAccount, response->mutable_account(), *response->mutable_result());
  });
}

}  // namespace crm::contact::api
