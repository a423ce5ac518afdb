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
#include "records_support.h"
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

}  // namespace

grpc::ServerUnaryReactor* ContactServiceImpl::CreateRelationship(
    grpc::CallbackServerContext* call,
    const v1::CreateRelationshipRequest* request,
    v1::CreateRelationshipResponse* response) {
  return Serve(deps_, call, "relationship.", [=, this]() -> absl::Status {
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
    RETURN_IF_ERROR(CheckAccountActive(deps_, context.tenant, name.account_id,
                                       "relationship.account"));
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
  return Serve(deps_, call, "", [=, this]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context, CallerOf(*call, deps_));
    ASSIGN_OR_RETURN(size_t page_size, PageSizeOf(request->page().page_size()));
    projections::RelationshipQuery query;
    query.tenant = context.tenant;
    query.page_size = page_size;
    query.role = request->role();
    ASSIGN_OR_RETURN(const RecordRef parent, ParentOf(request->parent()));
    query.side = parent.type == RecordType::kAccount
                     ? projections::RelationshipSide::kAccount
                     : projections::RelationshipSide::kContact;
    query.parent_id = parent.id;
    ASSIGN_OR_RETURN(query.start_after,
                     DecodePageToken(*request, request->page().page_token()));

    for (const char* projection :
         {kRelationshipsProjection, kContactsByIdProjection,
          kAccountsByIdProjection}) {
      RETURN_IF_ERROR(
          WaitFor(deps_, *call, projection, request->min_position()));
    }
    RETURN_IF_ERROR(CheckVisible(deps_, context.tenant, parent));
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
  return Serve(deps_, call, "relationship.", [=, this]() -> absl::Status {
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
  return Serve(deps_, call, "", [=, this]() -> absl::Status {
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
