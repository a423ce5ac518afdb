// Contacts: Create, Get, List, Update, Delete, Undelete (contact_service.h).
#include "crm/contact/api/contact_service.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "crm/base/status_macros.h"
#include "crm/contact/domain/normalize.h"
#include "crm/contact/projections/contact_projections.h"
#include "crm/server/logging.h"
#include "fmt/format.h"
#include "history_support.h"
#include "service_support.h"

namespace crm::contact::api {
namespace {

using projections::kContactListProjection;
using projections::kContactsByIdProjection;

// The writable fields of a Contact resource, as the domain takes them.
absl::StatusOr<ContactFields> FieldsOf(const v1::Contact& contact) {
  ContactFields fields;
  fields.owner = contact.owner();
  fields.tags.assign(contact.tags().begin(), contact.tags().end());
  if (!contact.account().empty()) {
    absl::StatusOr<std::string> account =
        ParseResourceName(RecordType::kAccount, contact.account());
    if (!account.ok()) {
      return InvalidField("contact.account",
                          std::string(account.status().message()));
    }
    fields.account_id = *std::move(account);
  }
  v1::ContactPersonalData& p = fields.personal;
  p.set_given_name(contact.given_name());
  p.set_family_name(contact.family_name());
  *p.mutable_emails() = contact.emails();
  *p.mutable_phones() = contact.phones();
  *p.mutable_addresses() = contact.addresses();
  p.set_job_title(contact.job_title());
  p.set_birth_date(contact.birth_date());
  p.set_notes(contact.notes());
  return fields;
}

// The contact as the projection shows it once it reached `position`.
absl::StatusOr<v1::Contact> ReadContact(const ServiceDeps& deps,
                                        const grpc::CallbackServerContext& call,
                                        std::string_view tenant,
                                        std::string_view id,
                                        uint64_t position) {
  // Both read models: a list right after a write shows it too.
  RETURN_IF_ERROR(WaitFor(deps, call, kContactListProjection, position));
  RETURN_IF_ERROR(WaitFor(deps, call, kContactsByIdProjection, position));
  return CurrentContact(deps, tenant, id);
}

}  // namespace

grpc::ServerUnaryReactor* ContactServiceImpl::CreateContact(
    grpc::CallbackServerContext* call, const v1::CreateContactRequest* request,
    v1::CreateContactResponse* response) {
  return Serve(deps_, call, "contact.", [=, this]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context, CallerOf(*call, deps_));
    ASSIGN_OR_RETURN(ContactFields fields, FieldsOf(request->contact()));
    crm::contact::CreateContact command;
    command.contact_id =
        request->contact_id().empty() ? NewUuid() : request->contact_id();
    command.fields = std::move(fields);
    ASSIGN_OR_RETURN(
        Written written,
        Execute<ContactAggregate>(deps_, *call, context, command.contact_id, "",
                                  command, request->context().request_id()));
    ASSIGN_OR_RETURN(*response->mutable_contact(),
                     ReadContact(deps_, *call, context.tenant, written.id,
                                 written.position));
    SetResult(written, *response->mutable_result());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::GetContact(
    grpc::CallbackServerContext* call, const v1::GetContactRequest* request,
    v1::Contact* response) {
  return Serve(deps_, call, "", [=, this]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context, CallerOf(*call, deps_));
    ASSIGN_OR_RETURN(std::string id,
                     IdOf(RecordType::kContact, request->name(), "name"));
    ASSIGN_OR_RETURN(std::optional<AsOf> as_of,
                     AsOfOf(request->has_as_of_time(), request->as_of_time(),
                            request->as_of_version()));
    if (as_of.has_value()) {  // Time travel: no redirect, as it was then.
      ASSIGN_OR_RETURN(*response,
                       ContactAsOf(deps_, context.tenant, id, *as_of));
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(
        v1::Contact contact,
        ReadContact(deps_, *call, context.tenant, id, request->min_position()));
    // Follow merge redirects, a bounded number of hops.
    for (int hop = 0; hop < 8 && !request->no_redirect() &&
                      contact.state() == v1::RECORD_STATE_MERGED;
         ++hop) {
      ASSIGN_OR_RETURN(
          std::string survivor,
          IdOf(RecordType::kContact, contact.merged_into(), "name"));
      ASSIGN_OR_RETURN(contact,
                       ReadContact(deps_, *call, context.tenant, survivor, 0));
    }
    *response = std::move(contact);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::ListContacts(
    grpc::CallbackServerContext* call, const v1::ListContactsRequest* request,
    v1::ListContactsResponse* response) {
  return Serve(deps_, call, "", [=, this]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context, CallerOf(*call, deps_));
    ASSIGN_OR_RETURN(size_t page_size, PageSizeOf(request->page().page_size()));
    projections::ContactListQuery query;
    query.tenant = context.tenant;
    query.page_size = page_size;
    switch (request->order_by()) {
      case v1::CONTACT_ORDER_UNSPECIFIED:
        query.order = projections::ContactListOrder::kName;
        break;
      case v1::CONTACT_ORDER_UPDATE_TIME:
        query.order = projections::ContactListOrder::kUpdateTime;
        break;
      default:
        return InvalidField(
            "order_by", fmt::format("{} is not an order of ListContacts; use "
                                    "CONTACT_ORDER_UNSPECIFIED or "
                                    "CONTACT_ORDER_UPDATE_TIME",
                                    static_cast<int>(request->order_by())));
    }
    if (!request->phone().empty()) {
      // Without "+", read in the tenant's default region, as stored numbers.
      absl::StatusOr<std::string> phone =
          NormalizePhoneE164(request->phone(), context.default_region);
      if (!phone.ok()) {
        return InvalidField("phone", std::string(phone.status().message()));
      }
      query.phone = *std::move(phone);
    }
    query.name_prefix = NormalizeNameForMatching(request->name_prefix());
    if (!request->email().empty()) {
      absl::StatusOr<std::string> email = NormalizeEmail(request->email());
      if (!email.ok()) {
        return InvalidField("email", std::string(email.status().message()));
      }
      query.email = *std::move(email);
    }
    query.owner = request->owner();
    if (!request->account().empty()) {
      ASSIGN_OR_RETURN(query.account_id, IdOf(RecordType::kAccount,
                                              request->account(), "account"));
    }
    query.tags.assign(request->tags().begin(), request->tags().end());
    if (request->has_updated_since()) {
      query.updated_since = FromTimestamp(request->updated_since());
    }
    query.show_deleted = request->show_deleted();
    ASSIGN_OR_RETURN(query.start_after,
                     DecodePageToken(*request, request->page().page_token()));

    RETURN_IF_ERROR(
        WaitFor(deps_, *call, kContactListProjection, request->min_position()));
    RETURN_IF_ERROR(WaitFor(deps_, *call, kContactsByIdProjection,
                            request->min_position()));
    ASSIGN_OR_RETURN(auto list_view, deps_.engine.View(kContactListProjection));
    absl::StatusOr<projections::ContactListPage> page =
        projections::ListContactIds(*list_view, query);
    if (absl::IsInvalidArgument(page.status())) {
      return InvalidField("page.page_token",
                          std::string(page.status().message()));
    }
    RETURN_IF_ERROR(page.status());
    // The list index may be ahead of contacts_by_id: make the latter catch
    // up to the list's position so every listed contact can be read.
    RETURN_IF_ERROR(
        WaitFor(deps_, *call, kContactsByIdProjection, list_view->position()));
    ASSIGN_OR_RETURN(auto by_id, deps_.engine.View(kContactsByIdProjection));
    for (const std::string& id : page->ids) {
      ASSIGN_OR_RETURN(
          std::optional<projections::StoredContact> stored,
          projections::GetStoredContact(*by_id, context.tenant, id));
      if (!stored.has_value()) continue;
      ASSIGN_OR_RETURN(*response->add_contacts(),
                       projections::ToResource(*stored, deps_.sealer));
    }
    if (!page->resume_after.empty()) {
      response->mutable_page()->set_next_page_token(
          EncodePageToken(*request, page->resume_after));
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::UpdateContact(
    grpc::CallbackServerContext* call, const v1::UpdateContactRequest* request,
    v1::UpdateContactResponse* response) {
  return Serve(deps_, call, "contact.", [=, this]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context, CallerOf(*call, deps_));
    ASSIGN_OR_RETURN(
        std::string id,
        IdOf(RecordType::kContact, request->contact().name(), "contact.name"));
    if (!request->etag().empty())
      RETURN_IF_ERROR(ParseEtag(request->etag()).status());
    ASSIGN_OR_RETURN(ContactFields fields, FieldsOf(request->contact()));
    crm::contact::UpdateContact command;
    command.contact_id = id;
    command.update_mask.assign(request->update_mask().paths().begin(),
                               request->update_mask().paths().end());
    command.fields = std::move(fields);
    ASSIGN_OR_RETURN(
        Written written,
        Execute<ContactAggregate>(deps_, *call, context, id, request->etag(),
                                  command, request->context().request_id()));
    ASSIGN_OR_RETURN(*response->mutable_contact(),
                     ReadContact(deps_, *call, context.tenant, written.id,
                                 written.position));
    SetResult(written, *response->mutable_result());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::DeleteContact(
    grpc::CallbackServerContext* call, const v1::DeleteContactRequest* request,
    v1::DeleteContactResponse* response) {
  return Serve(deps_, call, "", [=, this]() -> absl::Status {
    return ChangeRecord<ContactAggregate>(
        deps_, *call, RecordType::kContact, request->name(), request->etag(),
        request->context().request_id(),
        [](std::string id) -> ContactCommand {
          return crm::contact::DeleteContact{std::move(id)};
        },
        &ReadContact, response->mutable_contact(), *response->mutable_result());
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::UndeleteContact(
    grpc::CallbackServerContext* call,
    const v1::UndeleteContactRequest* request,
    v1::UndeleteContactResponse* response) {
  return Serve(deps_, call, "", [=, this]() -> absl::Status {
    return ChangeRecord<ContactAggregate>(
        deps_, *call, RecordType::kContact, request->name(), request->etag(),
        request->context().request_id(),
        [](std::string id) -> ContactCommand {
          return crm::contact::UndeleteContact{std::move(id)};
        },
        &ReadContact, response->mutable_contact(), *response->mutable_result());
  });
}

}  // namespace crm::contact::api
