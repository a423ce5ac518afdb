// Activities: Create, Get, List, Update, Complete, Reopen, Delete
// (contact_service.h). Content is sealed by the domain under the contact's
// key (the account's when there is no contact); the activities read model
// keeps it sealed and ToResource opens it on read.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "crm/base/status_macros.h"
#include "crm/contact/api/contact_service.h"
#include "crm/contact/projections/account_projections.h"
#include "crm/contact/projections/activity_projections.h"
#include "crm/contact/projections/contact_projections.h"
#include "fmt/format.h"
#include "records_support.h"
#include "service_support.h"

namespace crm::contact::api {
namespace {

using projections::kAccountsByIdProjection;
using projections::kActivitiesProjection;
using projections::kContactsByIdProjection;
using projections::kRelationshipsProjection;

// The writable fields of an Activity resource, as the domain takes them.
absl::StatusOr<ActivityFields> FieldsOf(const v1::Activity& activity) {
  ActivityFields fields;
  fields.kind = activity.kind();
  if (!activity.contact().empty()) {
    ASSIGN_OR_RETURN(
        fields.contact_id,
        IdOf(RecordType::kContact, activity.contact(), "activity.contact"));
  }
  if (!activity.account().empty()) {
    ASSIGN_OR_RETURN(
        fields.account_id,
        IdOf(RecordType::kAccount, activity.account(), "activity.account"));
  }
  fields.owner = activity.owner();
  fields.direction = activity.direction();
  if (activity.has_start_time()) {
    fields.start_time = FromTimestamp(activity.start_time());
  }
  if (activity.has_end_time()) {
    fields.end_time = FromTimestamp(activity.end_time());
  }
  if (activity.has_due_time()) {
    fields.due_time = FromTimestamp(activity.due_time());
  }
  v1::ActivityContent& content = fields.content;
  content.set_subject(activity.subject());
  content.set_body(activity.body());
  content.set_location(activity.location());
  *content.mutable_participants() = activity.participants();
  return fields;
}

// An activity can be about an active contact or account of the caller's
// tenant only: FAILED_PRECONDITION naming the record (and the field)
// otherwise.
absl::Status CheckContactUsable(const ServiceDeps& deps,
                                std::string_view tenant, std::string_view id) {
  ASSIGN_OR_RETURN(auto view, deps.engine.View(kContactsByIdProjection));
  ASSIGN_OR_RETURN(std::optional<projections::StoredContact> contact,
                   projections::GetStoredContact(*view, tenant, id));
  if (!contact.has_value()) {
    return absl::FailedPreconditionError(fmt::format(
        "contacts/{} (activity.contact) does not exist; name an existing "
        "contact",
        id));
  }
  switch (contact->clear.state()) {
    case v1::RECORD_STATE_MERGED:
      return absl::FailedPreconditionError(fmt::format(
          "contacts/{} (activity.contact) was merged into {}; log the "
          "activity on that contact",
          id, contact->clear.merged_into()));
    case v1::RECORD_STATE_DELETED:
      return absl::FailedPreconditionError(fmt::format(
          "contacts/{} (activity.contact) is deleted; undelete it first", id));
    case v1::RECORD_STATE_ERASED:
      return absl::FailedPreconditionError(fmt::format(
          "contacts/{} (activity.contact) was erased; nothing can be logged "
          "about the person any more",
          id));
    default:
      return absl::OkStatus();
  }
}

// Checks the contact and the account `fields` names, each when asked.
absl::Status CheckReferences(const ServiceDeps& deps, std::string_view tenant,
                             const ActivityFields& fields, bool contact,
                             bool account) {
  if (contact && !fields.contact_id.empty()) {
    RETURN_IF_ERROR(CheckContactUsable(deps, tenant, fields.contact_id));
  }
  if (account && !fields.account_id.empty()) {
    RETURN_IF_ERROR(CheckAccountActive(deps, tenant, fields.account_id,
                                       "activity.account"));
  }
  return absl::OkStatus();
}

bool Names(const google::protobuf::FieldMask& mask, std::string_view path) {
  return std::any_of(
      mask.paths().begin(), mask.paths().end(),
      [&](const std::string& p) { return p == path || p == "*"; });
}

// The activity as the read model shows it once it reached `position`.
absl::StatusOr<v1::Activity> ReadActivity(
    const ServiceDeps& deps, const grpc::CallbackServerContext& call,
    std::string_view tenant, std::string_view id, uint64_t position) {
  RETURN_IF_ERROR(WaitFor(deps, call, kActivitiesProjection, position));
  ASSIGN_OR_RETURN(auto view, deps.engine.View(kActivitiesProjection));
  ASSIGN_OR_RETURN(std::optional<projections::StoredActivity> stored,
                   projections::GetStoredActivity(*view, tenant, id));
  if (!stored.has_value()) {
    return absl::NotFoundError(fmt::format(
        "activities/{} does not exist; check the name (ListActivities shows "
        "the activities of a contact or account)",
        id));
  }
  return projections::ToResource(*stored, deps.sealer);
}

// The ids of the contacts related to account `account_id` (the people
// ListRelationships lists), for include_related: at most `max` of them,
// FAILED_PRECONDITION when there are more.
absl::StatusOr<std::vector<std::string>> RelatedContactIds(
    const ServiceDeps& deps, std::string_view tenant,
    std::string_view account_id, size_t max) {
  ASSIGN_OR_RETURN(auto view, deps.engine.View(kRelationshipsProjection));
  projections::RelationshipQuery query;
  query.tenant = std::string(tenant);
  query.side = projections::RelationshipSide::kAccount;
  query.parent_id = std::string(account_id);
  query.page_size = max;
  ASSIGN_OR_RETURN(projections::RelationshipPage page,
                   projections::ListRelationshipRecords(*view, query));
  if (!page.resume_after.empty()) {
    return absl::FailedPreconditionError(fmt::format(
        "accounts/{} has more than {} related contacts, too many to list "
        "their activities in one list; list them per contact (parent "
        "\"contacts/<id>\") instead of include_related",
        account_id, max));
  }
  std::vector<std::string> ids;
  for (const v1::ContactRelationship& r : page.relationships) {
    ASSIGN_OR_RETURN(std::string id,
                     ParseResourceName(RecordType::kContact, r.contact()));
    ids.push_back(std::move(id));
  }
  return ids;
}

}  // namespace

grpc::ServerUnaryReactor* ContactServiceImpl::CreateActivity(
    grpc::CallbackServerContext* call, const v1::CreateActivityRequest* request,
    v1::CreateActivityResponse* response) {
  return Serve(deps_, call, "activity.", [=, this]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context, CallerOf(*call, deps_));
    ASSIGN_OR_RETURN(ActivityFields fields, FieldsOf(request->activity()));
    LogActivity command;
    command.activity_id =
        request->activity_id().empty() ? NewUuid() : request->activity_id();
    // A retry of a logged request returns its result even when the contact
    // or account changed since.
    ASSIGN_OR_RETURN(std::string request_key,
                     RequestKey(context, request->context().request_id()));
    ASSIGN_OR_RETURN(std::optional<Written> earlier,
                     EarlierWrite(deps_.store, request_key));
    if (!earlier.has_value()) {
      RETURN_IF_ERROR(
          CheckReferences(deps_, context.tenant, fields, true, true));
    }
    command.fields = std::move(fields);
    ASSIGN_OR_RETURN(Written written,
                     Execute<ActivityAggregate>(
                         deps_, *call, context, command.activity_id, "",
                         command, request->context().request_id()));
    ASSIGN_OR_RETURN(*response->mutable_activity(),
                     ReadActivity(deps_, *call, context.tenant, written.id,
                                  written.position));
    SetResult(written, *response->mutable_result());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::GetActivity(
    grpc::CallbackServerContext* call, const v1::GetActivityRequest* request,
    v1::Activity* response) {
  return Serve(deps_, call, "", [=, this]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context, CallerOf(*call, deps_));
    ASSIGN_OR_RETURN(std::string id,
                     IdOf(RecordType::kActivity, request->name(), "name"));
    ASSIGN_OR_RETURN(*response, ReadActivity(deps_, *call, context.tenant, id,
                                             request->min_position()));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::ListActivities(
    grpc::CallbackServerContext* call, const v1::ListActivitiesRequest* request,
    v1::ListActivitiesResponse* response) {
  return Serve(deps_, call, "", [=, this]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context, CallerOf(*call, deps_));
    ASSIGN_OR_RETURN(size_t page_size, PageSizeOf(request->page().page_size()));
    projections::ActivityListQuery query;
    query.tenant = context.tenant;
    query.page_size = page_size;
    ASSIGN_OR_RETURN(const RecordRef parent, ParentOf(request->parent()));
    query.account = parent.type == RecordType::kAccount;
    query.parent_id = parent.id;
    if (request->include_related() && !query.account) {
      return InvalidField("include_related",
                          "is for an account's list (its people's "
                          "activities); leave it unset for a contact");
    }
    for (int i = 0; i < request->kinds_size(); ++i) {
      const int kind = request->kinds(i);
      if (kind == v1::ACTIVITY_KIND_UNSPECIFIED ||
          !v1::ActivityKind_IsValid(kind)) {
        return InvalidField(fmt::format("kinds[{}]", i),
                            "must be CALL, MEETING, TASK, NOTE or EMAIL");
      }
      query.kinds.push_back(static_cast<v1::ActivityKind>(kind));
    }
    query.open_tasks_only = request->open_tasks_only();
    if (request->has_due_before()) {
      query.due_before = FromTimestamp(request->due_before());
    }
    query.show_deleted = request->show_deleted();
    ASSIGN_OR_RETURN(query.start_after,
                     DecodePageToken(*request, request->page().page_token()));

    for (const char* projection :
         {kActivitiesProjection, kContactsByIdProjection,
          kAccountsByIdProjection, kRelationshipsProjection}) {
      RETURN_IF_ERROR(
          WaitFor(deps_, *call, projection, request->min_position()));
    }
    RETURN_IF_ERROR(CheckVisible(deps_, context.tenant, parent));
    if (request->include_related()) {
      ASSIGN_OR_RETURN(query.related_contact_ids,
                       RelatedContactIds(deps_, context.tenant, query.parent_id,
                                         query.max_records - 1));
    }
    ASSIGN_OR_RETURN(auto view, deps_.engine.View(kActivitiesProjection));
    absl::StatusOr<projections::ActivityListPage> page =
        projections::ListStoredActivities(*view, query);
    if (absl::IsInvalidArgument(page.status())) {
      return InvalidField("page.page_token",
                          std::string(page.status().message()));
    }
    RETURN_IF_ERROR(page.status());
    for (const projections::StoredActivity& stored : page->activities) {
      ASSIGN_OR_RETURN(*response->add_activities(),
                       projections::ToResource(stored, deps_.sealer));
    }
    if (!page->resume_after.empty()) {
      response->mutable_page()->set_next_page_token(
          EncodePageToken(*request, page->resume_after));
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::UpdateActivity(
    grpc::CallbackServerContext* call, const v1::UpdateActivityRequest* request,
    v1::UpdateActivityResponse* response) {
  return Serve(deps_, call, "activity.", [=, this]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context, CallerOf(*call, deps_));
    ASSIGN_OR_RETURN(std::string id,
                     IdOf(RecordType::kActivity, request->activity().name(),
                          "activity.name"));
    if (!request->etag().empty()) {
      RETURN_IF_ERROR(ParseEtag(request->etag()).status());
    }
    ASSIGN_OR_RETURN(ActivityFields fields, FieldsOf(request->activity()));
    ASSIGN_OR_RETURN(std::string request_key,
                     RequestKey(context, request->context().request_id()));
    ASSIGN_OR_RETURN(std::optional<Written> earlier,
                     EarlierWrite(deps_.store, request_key));
    if (!earlier.has_value()) {
      RETURN_IF_ERROR(
          CheckReferences(deps_, context.tenant, fields,
                          Names(request->update_mask(), "contact"),
                          Names(request->update_mask(), "account")));
    }
    crm::contact::UpdateActivity command;
    command.activity_id = id;
    command.update_mask.assign(request->update_mask().paths().begin(),
                               request->update_mask().paths().end());
    command.fields = std::move(fields);
    ASSIGN_OR_RETURN(
        Written written,
        Execute<ActivityAggregate>(deps_, *call, context, id, request->etag(),
                                   command, request->context().request_id()));
    ASSIGN_OR_RETURN(*response->mutable_activity(),
                     ReadActivity(deps_, *call, context.tenant, written.id,
                                  written.position));
    SetResult(written, *response->mutable_result());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::CompleteActivity(
    grpc::CallbackServerContext* call,
    const v1::CompleteActivityRequest* request,
    v1::CompleteActivityResponse* response) {
  return Serve(deps_, call, "", [=, this]() -> absl::Status {
    return ChangeRecord<ActivityAggregate>(
        deps_, *call, RecordType::kActivity, request->name(), request->etag(),
        request->context().request_id(),
        [](std::string id) -> ActivityCommand {
          return crm::contact::CompleteActivity{std::move(id)};
        },
        &ReadActivity, response->mutable_activity(),
        *response->mutable_result());
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::ReopenActivity(
    grpc::CallbackServerContext* call, const v1::ReopenActivityRequest* request,
    v1::ReopenActivityResponse* response) {
  return Serve(deps_, call, "", [=, this]() -> absl::Status {
    return ChangeRecord<ActivityAggregate>(
        deps_, *call, RecordType::kActivity, request->name(), request->etag(),
        request->context().request_id(),
        [](std::string id) -> ActivityCommand {
          return crm::contact::ReopenActivity{std::move(id)};
        },
        &ReadActivity, response->mutable_activity(),
        *response->mutable_result());
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::DeleteActivity(
    grpc::CallbackServerContext* call, const v1::DeleteActivityRequest* request,
    v1::DeleteActivityResponse* response) {
  return Serve(deps_, call, "", [=, this]() -> absl::Status {
    return ChangeRecord<ActivityAggregate>(
        deps_, *call, RecordType::kActivity, request->name(), request->etag(),
        request->context().request_id(),
        [](std::string id) -> ActivityCommand {
          return crm::contact::DeleteActivity{std::move(id)};
        },
        &ReadActivity, static_cast<v1::Activity*>(nullptr),
        *response->mutable_result());
  });
}

}  // namespace crm::contact::api
