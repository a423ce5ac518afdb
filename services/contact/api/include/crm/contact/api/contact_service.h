// The gRPC ContactService (proto/crm/contact/v1/contact_service.proto):
// decode the request, call the domain, append, finish with the converted
// status (grpc_status.h).
//
// Built so far: CreateContact, GetContact, ListContacts, UpdateContact,
// DeleteContact, UndeleteContact. Every other RPC answers UNIMPLEMENTED
// (the generated base class).
//
// Caller: the tenant comes from the metadata "x-crm-tenant" and the actor
// from "x-crm-actor" (until bearer tokens carry them, DESIGN.md §11). A
// missing one is UNAUTHENTICATED (the caller is not identified); a malformed
// one INVALID_ARGUMENT naming "tenant" or "actor".
//
// Writes: the aggregate is loaded from its stream, Decide runs, the events
// are appended with the loaded version as expected version. A stale etag is
// FAILED_PRECONDITION, a stream that moved between load and append ABORTED
// (retry). request_id (RequestContext) is the store's idempotency key, per
// tenant: a retry returns the first result and appends nothing.
// Reads go through the projections; a write's reply waits (bounded by the
// client's deadline, at most 5 s) until they show the write, and a read may
// pass min_position to do the same.
//
// Handlers run on gRPC's callback threads and block on the store (fsync)
// and on projections; thread-safe.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/contact/domain/contact.h"
#include "crm/contact/domain/sealer.h"
#include "crm/contact/v1/contact_service.grpc.pb.h"
#include "crm/eventstore/event_store.h"
#include "crm/projection/projection.h"

namespace crm::contact::api {

// The metadata keys naming the caller.
inline constexpr char kTenantKey[] = "x-crm-tenant";
inline constexpr char kActorKey[] = "x-crm-actor";

class ContactServiceImpl final : public v1::ContactService::CallbackService {
 public:
  struct Options {
    // Longest a call waits for the projections to show a position.
    absl::Duration max_wait = absl::Seconds(5);
    // ISO region for phone numbers without "+country"; empty: refused.
    std::string default_region;
  };

  // None is owned; all must outlive the service. The engine runs the
  // projections of contact_projections.h.
  ContactServiceImpl(eventstore::EventStore& store,
                     const projection::ProjectionEngine& engine,
                     PersonalDataSealer& sealer, Options options);

  grpc::ServerUnaryReactor* CreateContact(
      grpc::CallbackServerContext* context,
      const v1::CreateContactRequest* request,
      v1::CreateContactResponse* response) override;
  grpc::ServerUnaryReactor* GetContact(grpc::CallbackServerContext* context,
                                       const v1::GetContactRequest* request,
                                       v1::Contact* response) override;
  grpc::ServerUnaryReactor* ListContacts(
      grpc::CallbackServerContext* context,
      const v1::ListContactsRequest* request,
      v1::ListContactsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateContact(
      grpc::CallbackServerContext* context,
      const v1::UpdateContactRequest* request,
      v1::UpdateContactResponse* response) override;
  grpc::ServerUnaryReactor* DeleteContact(
      grpc::CallbackServerContext* context,
      const v1::DeleteContactRequest* request,
      v1::DeleteContactResponse* response) override;
  grpc::ServerUnaryReactor* UndeleteContact(
      grpc::CallbackServerContext* context,
      const v1::UndeleteContactRequest* request,
      v1::UndeleteContactResponse* response) override;

 private:
  // Where a write landed.
  struct Written {
    std::string id;
    uint64_t position = 0;  // 0: nothing appended (no change).
    uint64_t version = 0;
  };

  absl::StatusOr<ContactState> Load(std::string_view id) const;
  absl::StatusOr<Written> Execute(const grpc::CallbackServerContext& call,
                                  const CommandContext& context,
                                  std::string_view id, std::string_view etag,
                                  const ContactCommand& command,
                                  std::string_view request_id);
  // Delete and Undelete: the same steps with another command (made from
  // the contact's id); fills the response's contact and result.
  absl::Status ChangeLifecycle(grpc::CallbackServerContext& call,
                               std::string_view name, std::string_view etag,
                               std::string_view request_id,
                               ContactCommand (*command)(std::string id),
                               v1::Contact& contact,
                               common::v1::WriteResult& result);
  // The contact as the projection shows it once it reached `position`.
  absl::StatusOr<v1::Contact> ReadContact(
      const grpc::CallbackServerContext& call, std::string_view tenant,
      std::string_view id, uint64_t position) const;
  absl::Status WaitFor(const grpc::CallbackServerContext& call,
                       std::string_view projection, uint64_t position) const;

  eventstore::EventStore& store_;
  const projection::ProjectionEngine& engine_;
  PersonalDataSealer& sealer_;
  Options options_;
};

}  // namespace crm::contact::api
