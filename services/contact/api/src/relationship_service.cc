// Contact-to-account relationships: Create, List, Update, Delete
// (contact_service.h). They live in the contact's stream (AddRelationship,
// UpdateRelationship, RemoveRelationship); the relationships read model
// lists them both ways.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "crm/base/status_macros.h"
#include "crm/contact/api/contact_service.h"
#include "crm/contact/projections/account_projections.h"
#include "crm/contact/projections/contact_projections.h"
#include "fmt/format.h"
#include "service_support.h"

namespace crm::contact::api {
namespace {

using projections::kAccountsByIdProjection;
using projections::kContactsByIdProjection;
using projections::kRelationshipsProjection;

constexpr std::string_view kNameForm =
    "must be \"contacts/{contact}/relationships/{account}\"";

struct RelationshipName {
  std::string contact_id;
  std::string account_id;
};

// "contacts/{contact}/relationships/{account}"; INVALID_ARGUMENT naming
// `field` otherwise.
absl::StatusOr<RelationshipName> ParseRelationshipName(std::string_view name,
                                                       std::string_view field) {
  constexpr std::string_view kMiddle = "/relationships/";
  const size_t middle = name.find(kMiddle);
  if (middle == std::string_view::npos) {
    return InvalidField(field, std::string(kNameForm));
  }
  absl::StatusOr<std::string> contact =
      ParseResourceName(RecordType::kContact, name.substr(0, middle));
  absl::StatusOr<std::string> account = ParseResourceName(
      RecordType::kAccount,
      fmt::format("accounts/{}", name.substr(middle + kMiddle.size())));
  if (!contact.ok() || !account.ok()) {
    const absl::Status& bad =
        !contact.ok() ? contact.status() : account.status();
    return InvalidField(
        field, fmt::format("{}: {}", kNameForm, std::string(bad.message())));
  }
  return RelationshipName{*std::move(contact), *std::move(account)};
}

// A contact can be related only to an active account of the caller's
// tenant: FAILED_PRECONDITION naming the account otherwise.
absl::Status CheckAccountRelatable(const ServiceDeps& deps,
                                   std::string_view tenant,
                                   std::string_view account_id) {
  ASSIGN_OR_RETURN(auto view, deps.engine.View(kAccountsByIdProjection));
  ASSIGN_OR_RETURN(std::optional<v1::Account> account,
                   projections::GetAccountRecord(*view, tenant, account_id));
  if (!account.has_value()) {
    return absl::FailedPreconditionError(fmt::format(
        "accounts/{} (relationship.account) does not exist; create the "
        "account first or name an existing one",
        account_id));
  }
  if (account->state() == v1::RECORD_STATE_MERGED) {
    return absl::FailedPreconditionError(fmt::format(
        "accounts/{} (relationship.account) was merged into {}; relate the "
        "contact to that account instead",
        account_id, account->merged_into()));
  }
  if (account->state() == v1::RECORD_STATE_DELETED) {
    return absl::FailedPreconditionError(fmt::format(
        "accounts/{} (relationship.account) is deleted; undelete it first",
        account_id));
  }
  return absl::OkStatus();
}

// The relationship as the read model shows it once it reached `position`.
absl::StatusOr<v1::ContactRelationship> ReadRelationship(
    const ServiceDeps& deps, const grpc::CallbackServerContext& call,
    std::string_view tenant, const RelationshipName& name, uint64_t position) {
  RETURN_IF_ERROR(WaitFor(deps, call, kRelationshipsProjection, position));
  ASSIGN_OR_RETURN(auto view, deps.engine.View(kRelationshipsProjection));
  ASSIGN_OR_RETURN(std::optional<v1::ContactRelationship> relationship,
                   projections::GetRelationship(*view, tenant, name.contact_id,
                                                name.account_id));
  if (!relationship.has_value()) {
    return absl::NotFoundError(
        fmt::format("contacts/{} has no relationship to accounts/{}",
                    name.contact_id, name.account_id));
  }
  return *std::move(relationship);
}

// NOT_FOUND unless the list's parent exists in the caller's tenant.
absl::Status CheckParentVisible(const ServiceDeps& deps,
                                const projections::RelationshipQuery& query) {
  if (query.side == projections::RelationshipSide::kContact) {
    ASSIGN_OR_RETURN(auto view, deps.engine.View(kContactsByIdProjection));
    ASSIGN_OR_RETURN(
        std::optional<projections::StoredContact> contact,
        projections::GetStoredContact(*view, query.tenant, query.parent_id));
    if (contact.has_value()) return absl::OkStatus();
    return absl::NotFoundError(
        fmt::format("contacts/{} does not exist", query.parent_id));
  }
  ASSIGN_OR_RETURN(auto view, deps.engine.View(kAccountsByIdProjection));
  ASSIGN_OR_RETURN(
      std::optional<v1::Account> account,
      projections::GetAccountRecord(*view, query.tenant, query.parent_id));
  if (account.has_value()) return absl::OkStatus();
  return absl::NotFoundError(
      fmt::format("accounts/{} does not exist", query.parent_id));
}

}  // namespace

grpc::ServerUnaryReactor* ContactServiceImpl::CreateRelationship(
    grpc::CallbackServerContext* call,
    const v1::CreateRelationshipRequest* request,
    v1::CreateRelationshipResponse* response) {
  return Serve(call, "relationship.", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context, CallerOf(*call, deps_));
    RelationshipName name;
    ASSIGN_OR_RETURN(name.contact_id,
                     IdOf(RecordType::kContact, request->parent(), "parent"));
    if (request->relationship().account().empty()) {
      return InvalidField("relationship.account",
                          "is required: the account \"accounts/{account}\"");
    }
    ASSIGN_OR_RETURN(name.account_id, IdOf(RecordType::kAccount,
                                           request->relationship().account(),
                                           "relationship.account"));
    RETURN_IF_ERROR(
        CheckAccountRelatable(deps_, context.tenant, name.account_id));
    AddRelationship command;
    command.contact_id = name.contact_id;
    command.account_id = name.account_id;
    command.roles.assign(request->relationship().roles().begin(),
                         request->relationship().roles().end());
    ASSIGN_OR_RETURN(
        Written written,
        Execute<ContactAggregate>(deps_, *call, context, name.contact_id, "",
                                  command, request->context().request_id()));
    ASSIGN_OR_RETURN(
        *response->mutable_relationship(),
        ReadRelationship(deps_, *call, context.tenant, name, written.position));
    SetResult(written, *response->mutable_result());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::ListRelationships(
    grpc::CallbackServerContext* call,
    const v1::ListRelationshipsRequest* request,
    v1::ListRelationshipsResponse* response) {
  return Serve(call, "", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context, CallerOf(*call, deps_));
    ASSIGN_OR_RETURN(size_t page_size, PageSizeOf(request->page().page_size()));
    projections::RelationshipQuery query;
    query.tenant = context.tenant;
    query.page_size = page_size;
    query.role = request->role();
    if (request->parent().starts_with("accounts/")) {
      query.side = projections::RelationshipSide::kAccount;
      ASSIGN_OR_RETURN(query.parent_id,
                       IdOf(RecordType::kAccount, request->parent(), "parent"));
    } else if (request->parent().starts_with("contacts/")) {
      query.side = projections::RelationshipSide::kContact;
      ASSIGN_OR_RETURN(query.parent_id,
                       IdOf(RecordType::kContact, request->parent(), "parent"));
    } else {
      return InvalidField("parent",
                          "must be \"contacts/{contact}\" (its accounts) or "
                          "\"accounts/{account}\" (its people)");
    }
    ASSIGN_OR_RETURN(query.start_after,
                     DecodePageToken(*request, request->page().page_token()));

    for (const char* projection :
         {kRelationshipsProjection, kContactsByIdProjection,
          kAccountsByIdProjection}) {
      RETURN_IF_ERROR(
          WaitFor(deps_, *call, projection, request->min_position()));
    }
    RETURN_IF_ERROR(CheckParentVisible(deps_, query));
    ASSIGN_OR_RETURN(auto view, deps_.engine.View(kRelationshipsProjection));
    absl::StatusOr<projections::RelationshipPage> page =
        projections::ListRelationshipRecords(*view, query);
    if (absl::IsInvalidArgument(page.status())) {
      return InvalidField("page.page_token",
                          std::string(page.status().message()));
    }
    RETURN_IF_ERROR(page.status());
    for (v1::ContactRelationship& r : page->relationships) {
      *response->add_relationships() = std::move(r);
    }
    if (!page->resume_after.empty()) {
      response->mutable_page()->set_next_page_token(
          EncodePageToken(*request, page->resume_after));
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::UpdateRelationship(
    grpc::CallbackServerContext* call,
    const v1::UpdateRelationshipRequest* request,
    v1::UpdateRelationshipResponse* response) {
  return Serve(call, "relationship.", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context, CallerOf(*call, deps_));
    ASSIGN_OR_RETURN(RelationshipName name,
                     ParseRelationshipName(request->relationship().name(),
                                           "relationship.name"));
    if (!request->etag().empty()) {
      RETURN_IF_ERROR(ParseEtag(request->etag()).status());
    }
    crm::contact::UpdateRelationship command;
    command.contact_id = name.contact_id;
    command.account_id = name.account_id;
    command.roles.assign(request->relationship().roles().begin(),
                         request->relationship().roles().end());
    ASSIGN_OR_RETURN(
        Written written,
        Execute<ContactAggregate>(deps_, *call, context, name.contact_id,
                                  request->etag(), command,
                                  request->context().request_id()));
    ASSIGN_OR_RETURN(
        *response->mutable_relationship(),
        ReadRelationship(deps_, *call, context.tenant, name, written.position));
    SetResult(written, *response->mutable_result());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::DeleteRelationship(
    grpc::CallbackServerContext* call,
    const v1::DeleteRelationshipRequest* request,
    v1::DeleteRelationshipResponse* response) {
  return Serve(call, "", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context, CallerOf(*call, deps_));
    ASSIGN_OR_RETURN(RelationshipName name,
                     ParseRelationshipName(request->name(), "name"));
    if (!request->etag().empty()) {
      RETURN_IF_ERROR(ParseEtag(request->etag()).status());
    }
    RemoveRelationship command;
    command.contact_id = name.contact_id;
    command.account_id = name.account_id;
    ASSIGN_OR_RETURN(
        Written written,
        Execute<ContactAggregate>(deps_, *call, context, name.contact_id,
                                  request->etag(), command,
                                  request->context().request_id()));
    RETURN_IF_ERROR(
        WaitFor(deps_, *call, kRelationshipsProjection, written.position));
    SetResult(written, *response->mutable_result());
    return absl::OkStatus();
  });
}

}  // namespace crm::contact::api
