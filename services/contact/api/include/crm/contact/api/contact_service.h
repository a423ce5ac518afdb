// The gRPC ContactService (proto/crm/contact/v1/contact_service.proto):
// decode the request, call the domain, append, finish with the converted
// status (grpc_status.h).
//
// The RPCs are defined by area, one file each in src/: contacts
// (contact_service.cc), accounts, relationships, activities, history,
// quality, privacy, import and watch (<area>_service.cc); what they share is
// in src/service_support.h. An RPC not built yet answers UNIMPLEMENTED (the
// generated base class); services/contact/README.md lists which.
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
// Unary handlers run on the service's HandlerPool (--handler-threads), not
// on gRPC's few callback threads, because they block on the store (fsync)
// and on projections; a full pool answers RESOURCE_EXHAUSTED. Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/contact/domain/contact.h"
#include "crm/contact/domain/sealer.h"
#include "crm/contact/v1/contact_service.grpc.pb.h"
#include "crm/eventstore/event_store.h"
#include "crm/projection/projection.h"
#include "crm/server/handler_pool.h"

namespace crm::contact::api {

// The metadata keys naming the caller.
inline constexpr char kTenantKey[] = "x-crm-tenant";
inline constexpr char kActorKey[] = "x-crm-actor";

// What the handlers work with. None is owned; all outlive the service.
struct ServiceDeps {
  struct Options {
    // Longest a call waits for the projections to show a position.
    absl::Duration max_wait = absl::Seconds(5);
    // ISO region for phone numbers without "+country"; empty: refused.
    std::string default_region;
    // The field paths ListIncompleteRecords requires when a request names
    // none (Contact and Account resource paths; see completeness.h).
    std::vector<std::string> required_contact_fields = {
        "given_name", "family_name", "emails", "account"};
    std::vector<std::string> required_account_fields = {"display_name",
                                                        "website", "industry"};
    // Threads of the handler pool that runs the unary calls
    // (--handler-threads); its queue holds 16 calls per thread.
    size_t handler_threads = server::HandlerPool::kDefaultThreads;
  };

  eventstore::EventStore& store;
  // Runs the projections of ContactServiceProjections().
  const projection::ProjectionEngine& engine;
  PersonalDataSealer& sealer;
  Options options;
  // Runs the unary handlers' bodies (Serve); null runs them inline.
  server::HandlerPool* handlers = nullptr;
};

// The open WatchEvents streams of a service (watch_service.cc).
class WatchStreams;
std::shared_ptr<WatchStreams> NewWatchStreams();

class ContactServiceImpl final : public v1::ContactService::CallbackService {
 public:
  using Options = ServiceDeps::Options;

  // None is owned; all must outlive the service. The engine runs the
  // projections of ContactServiceProjections() (contact_projections.h).
  ContactServiceImpl(eventstore::EventStore& store,
                     const projection::ProjectionEngine& engine,
                     PersonalDataSealer& sealer, Options options)
      : deps_{store, engine, sealer, std::move(options)},
        watch_streams_(NewWatchStreams()),
        handler_pool_(std::make_unique<server::HandlerPool>(
            deps_.options.handler_threads)) {
    deps_.handlers = handler_pool_.get();
  }

  // Ends every open WatchEvents stream with UNAVAILABLE (clients reconnect
  // from their last position) and refuses new ones. Call it when shutdown
  // begins (ServiceHost::Options::on_shutdown): an open change feed would
  // otherwise hold the server's drain until its deadline. Thread-safe.
  void EndStreams();

  // The pool the unary calls run on, for its metrics
  // (server::RegisterHandlerPoolMetrics).
  const server::HandlerPool& handler_pool() const { return *handler_pool_; }

  // Finishes the erasures a crash interrupted (privacy_service.cc):
  // EraseContact marks a purge as pending before it appends ContactErased
  // and clears the mark once the store is purged; a process that died in
  // between left the person's old index entries and key bytes in the
  // store's files. When marks are left, waits (at most `timeout`) until
  // every projection has applied the log up to its end, deletes the keys
  // the erasures list, purges the store (EventStore::PurgeDeletedData) and
  // clears the marks; with none, returns at once. Call it before serving
  // (ContactServer::Ready does).
  // Errors: UNAVAILABLE when the projections are not caught up in time or
  // the purge fails (retry: the marks stay); the store's read errors.
  absl::Status ResumePendingErasures(absl::Duration timeout);

  // Contacts (contact_service.cc).
  grpc::ServerUnaryReactor* CreateContact(
      grpc::CallbackServerContext* call,
      const v1::CreateContactRequest* request,
      v1::CreateContactResponse* response) override;
  grpc::ServerUnaryReactor* GetContact(grpc::CallbackServerContext* call,
                                       const v1::GetContactRequest* request,
                                       v1::Contact* response) override;
  grpc::ServerUnaryReactor* ListContacts(
      grpc::CallbackServerContext* call, const v1::ListContactsRequest* request,
      v1::ListContactsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateContact(
      grpc::CallbackServerContext* call,
      const v1::UpdateContactRequest* request,
      v1::UpdateContactResponse* response) override;
  grpc::ServerUnaryReactor* DeleteContact(
      grpc::CallbackServerContext* call,
      const v1::DeleteContactRequest* request,
      v1::DeleteContactResponse* response) override;
  grpc::ServerUnaryReactor* UndeleteContact(
      grpc::CallbackServerContext* call,
      const v1::UndeleteContactRequest* request,
      v1::UndeleteContactResponse* response) override;

  // Accounts (account_service.cc).
  grpc::ServerUnaryReactor* CreateAccount(
      grpc::CallbackServerContext* call,
      const v1::CreateAccountRequest* request,
      v1::CreateAccountResponse* response) override;
  grpc::ServerUnaryReactor* GetAccount(grpc::CallbackServerContext* call,
                                       const v1::GetAccountRequest* request,
                                       v1::Account* response) override;
  grpc::ServerUnaryReactor* ListAccounts(
      grpc::CallbackServerContext* call, const v1::ListAccountsRequest* request,
      v1::ListAccountsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateAccount(
      grpc::CallbackServerContext* call,
      const v1::UpdateAccountRequest* request,
      v1::UpdateAccountResponse* response) override;
  grpc::ServerUnaryReactor* DeleteAccount(
      grpc::CallbackServerContext* call,
      const v1::DeleteAccountRequest* request,
      v1::DeleteAccountResponse* response) override;
  grpc::ServerUnaryReactor* UndeleteAccount(
      grpc::CallbackServerContext* call,
      const v1::UndeleteAccountRequest* request,
      v1::UndeleteAccountResponse* response) override;

  // Contact-to-account relationships (relationship_service.cc).
  grpc::ServerUnaryReactor* CreateRelationship(
      grpc::CallbackServerContext* call,
      const v1::CreateRelationshipRequest* request,
      v1::CreateRelationshipResponse* response) override;
  grpc::ServerUnaryReactor* ListRelationships(
      grpc::CallbackServerContext* call,
      const v1::ListRelationshipsRequest* request,
      v1::ListRelationshipsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateRelationship(
      grpc::CallbackServerContext* call,
      const v1::UpdateRelationshipRequest* request,
      v1::UpdateRelationshipResponse* response) override;
  grpc::ServerUnaryReactor* DeleteRelationship(
      grpc::CallbackServerContext* call,
      const v1::DeleteRelationshipRequest* request,
      v1::DeleteRelationshipResponse* response) override;

  // Activities (activity_service.cc).
  grpc::ServerUnaryReactor* CreateActivity(
      grpc::CallbackServerContext* call,
      const v1::CreateActivityRequest* request,
      v1::CreateActivityResponse* response) override;
  grpc::ServerUnaryReactor* GetActivity(grpc::CallbackServerContext* call,
                                        const v1::GetActivityRequest* request,
                                        v1::Activity* response) override;
  grpc::ServerUnaryReactor* ListActivities(
      grpc::CallbackServerContext* call,
      const v1::ListActivitiesRequest* request,
      v1::ListActivitiesResponse* response) override;
  grpc::ServerUnaryReactor* UpdateActivity(
      grpc::CallbackServerContext* call,
      const v1::UpdateActivityRequest* request,
      v1::UpdateActivityResponse* response) override;
  grpc::ServerUnaryReactor* CompleteActivity(
      grpc::CallbackServerContext* call,
      const v1::CompleteActivityRequest* request,
      v1::CompleteActivityResponse* response) override;
  grpc::ServerUnaryReactor* ReopenActivity(
      grpc::CallbackServerContext* call,
      const v1::ReopenActivityRequest* request,
      v1::ReopenActivityResponse* response) override;
  grpc::ServerUnaryReactor* DeleteActivity(
      grpc::CallbackServerContext* call,
      const v1::DeleteActivityRequest* request,
      v1::DeleteActivityResponse* response) override;

  // Timeline and history (history_service.cc).
  grpc::ServerUnaryReactor* ListTimelineEntries(
      grpc::CallbackServerContext* call,
      const v1::ListTimelineEntriesRequest* request,
      v1::ListTimelineEntriesResponse* response) override;
  grpc::ServerUnaryReactor* ListHistory(
      grpc::CallbackServerContext* call, const v1::ListHistoryRequest* request,
      v1::ListHistoryResponse* response) override;

  // Data quality: duplicates, merges, incomplete records (quality_service.cc).
  grpc::ServerUnaryReactor* FindDuplicateContacts(
      grpc::CallbackServerContext* call,
      const v1::FindDuplicateContactsRequest* request,
      v1::FindDuplicateContactsResponse* response) override;
  grpc::ServerUnaryReactor* FindDuplicateAccounts(
      grpc::CallbackServerContext* call,
      const v1::FindDuplicateAccountsRequest* request,
      v1::FindDuplicateAccountsResponse* response) override;
  grpc::ServerUnaryReactor* MergeContacts(
      grpc::CallbackServerContext* call,
      const v1::MergeContactsRequest* request,
      v1::MergeContactsResponse* response) override;
  grpc::ServerUnaryReactor* UnmergeContacts(
      grpc::CallbackServerContext* call,
      const v1::UnmergeContactsRequest* request,
      v1::UnmergeContactsResponse* response) override;
  grpc::ServerUnaryReactor* MergeAccounts(
      grpc::CallbackServerContext* call,
      const v1::MergeAccountsRequest* request,
      v1::MergeAccountsResponse* response) override;
  grpc::ServerUnaryReactor* UnmergeAccounts(
      grpc::CallbackServerContext* call,
      const v1::UnmergeAccountsRequest* request,
      v1::UnmergeAccountsResponse* response) override;
  grpc::ServerUnaryReactor* ListIncompleteRecords(
      grpc::CallbackServerContext* call,
      const v1::ListIncompleteRecordsRequest* request,
      v1::ListIncompleteRecordsResponse* response) override;

  // Personal data: consent, export, erasure (privacy_service.cc).
  grpc::ServerUnaryReactor* GiveConsent(
      grpc::CallbackServerContext* call, const v1::GiveConsentRequest* request,
      v1::GiveConsentResponse* response) override;
  grpc::ServerUnaryReactor* WithdrawConsent(
      grpc::CallbackServerContext* call,
      const v1::WithdrawConsentRequest* request,
      v1::WithdrawConsentResponse* response) override;
  grpc::ServerUnaryReactor* ListConsents(
      grpc::CallbackServerContext* call, const v1::ListConsentsRequest* request,
      v1::ListConsentsResponse* response) override;
  grpc::ServerWriteReactor<v1::PersonalDataExportPart>* ExportPersonalData(
      grpc::CallbackServerContext* call,
      const v1::ExportPersonalDataRequest* request) override;
  grpc::ServerUnaryReactor* EraseContact(
      grpc::CallbackServerContext* call, const v1::EraseContactRequest* request,
      v1::EraseContactResponse* response) override;

  // Bulk import (import_service.cc).
  grpc::ServerBidiReactor<v1::ImportContactsRequest,
                          v1::ImportContactsResponse>*
  ImportContacts(grpc::CallbackServerContext* call) override;

  // Change feed (watch_service.cc).
  grpc::ServerWriteReactor<v1::WatchEventsResponse>* WatchEvents(
      grpc::CallbackServerContext* call,
      const v1::WatchEventsRequest* request) override;

 private:
  ServiceDeps deps_;
  std::shared_ptr<WatchStreams> watch_streams_;
  // Last: destroyed first, running what is queued while deps_ still lives.
  std::unique_ptr<server::HandlerPool> handler_pool_;
};

}  // namespace crm::contact::api
