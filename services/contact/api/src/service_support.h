// What every ContactService handler shares (internal to contact_api): the
// caller, request checks, page tokens, waiting for the read models, and
// Execute, the one write path of a single-stream command:
//
//   grpc::ServerUnaryReactor* ContactServiceImpl::UpdateAccount(...) {
//     return Serve(deps_, call, "account.", [=, this]() -> absl::Status {
//       ASSIGN_OR_RETURN(CommandContext context, CallerOf(*call, deps_));
//       ...
//       ASSIGN_OR_RETURN(Written written, Execute<AccountAggregate>(
//           deps_, *call, context, id, request->etag(), command,
//           request->context().request_id()));
//       ...
//     });
//   }
//
// An area of the API (account_service.cc, ...) keeps its own helpers in its
// own file; what two areas need goes here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/base/status_macros.h"
#include "crm/contact/api/contact_service.h"
#include "crm/contact/domain/account.h"
#include "crm/contact/domain/activity.h"
#include "crm/contact/domain/contact.h"
#include "crm/contact/domain/event_codec.h"
#include "crm/contact/domain/ids.h"
#include "crm/contact/domain/proto_time.h"
#include "crm/eventstore/event_store.h"
#include "crm/server/call_context.h"
#include "crm/server/handler_pool.h"
#include "crm/server/logging.h"
#include "fmt/format.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/grpcpp.h"

namespace crm::contact::api {

// ---- Calls -----------------------------------------------------------------

// The caller's command context: tenant and actor from the metadata
// (kTenantKey, kActorKey; a missing one is UNAUTHENTICATED), the time now
// and the service's default phone region.
absl::StatusOr<CommandContext> CallerOf(const grpc::CallbackServerContext& call,
                                        const ServiceDeps& deps);

// Finishes a unary call's reactor with `status` converted by ToGrpcStatus
// (field paths of violations prefixed with `field_prefix`, e.g.
// "contact."). Unexpected codes (INTERNAL, UNAVAILABLE, ...) are logged as
// warnings.
void Finish(grpc::ServerUnaryReactor& reactor, const absl::Status& status,
            std::string_view field_prefix = {});

// CANCELLED: the call was cancelled before its handler ran (Serve).
absl::Status CancelledBeforeItRan();

// Serves a unary call: runs `body` on the service's handler pool
// (deps.handlers; inline when there is none) under the call's correlation
// id, then finishes the call with its status. Returns the call's reactor at
// once, so gRPC's few callback threads never wait on a write or a read
// model. When the pool's queue is full the call ends RESOURCE_EXHAUSTED
// (HandlerPool::BusyStatus) and `body` does not run. Nor does it run for a
// call cancelled while it waited in the queue (its deadline passed, its
// client cancelled it, or the server's shutdown did): nobody would read
// the answer, and the work it would do is left for a retry.
//
// `body` runs after the handler has returned: it captures by value (the
// call, request and response pointers and `this`, which gRPC keeps valid
// until the call is finished), never references to the handler's locals.
template <typename Body>
grpc::ServerUnaryReactor* Serve(const ServiceDeps& deps,
                                grpc::CallbackServerContext* call,
                                std::string_view field_prefix, Body body) {
  grpc::ServerUnaryReactor* reactor = call->DefaultReactor();
  auto run = [call, reactor, field_prefix, body = std::move(body)]() mutable {
    server::ScopedCorrelationId correlation(server::CorrelationId(*call));
    if (call->IsCancelled()) {
      Finish(*reactor, CancelledBeforeItRan());
      return;
    }
    Finish(*reactor, body(), field_prefix);
  };
  if (deps.handlers == nullptr) {
    run();
  } else if (!deps.handlers->Post(std::move(run))) {
    server::ScopedCorrelationId correlation(server::CorrelationId(*call));
    Finish(*reactor, server::HandlerPool::BusyStatus());
  }
  return reactor;
}

// ---- Request checks --------------------------------------------------------

// INVALID_ARGUMENT naming one field (google.rpc.BadRequest).
absl::Status InvalidField(std::string_view field, std::string description);

// The id in a resource name ("contacts/<id>", "accounts/<id>",
// "activities/<id>"); INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<std::string> IdOf(RecordType type, std::string_view name,
                                 std::string_view field);

// The version an etag stands for; INVALID_ARGUMENT naming "etag" otherwise.
absl::StatusOr<uint64_t> ParseEtag(std::string_view etag);

// A page size: 0 is `default_size`, larger than `max_size` is `max_size`,
// negative is INVALID_ARGUMENT naming "page.page_size".
absl::StatusOr<size_t> PageSizeOf(int32_t requested, size_t default_size = 50,
                                  size_t max_size = 1000);

// Page tokens bind a position in an index to the request's filters: the
// token is "<fingerprint of the request without its page and min_position
// fields>|<key>", web-safe base64. Decode gives the key ("" for the first
// page) or INVALID_ARGUMENT naming "page.page_token" when the token is not
// one of this request's (other filters, or not a token at all).
absl::StatusOr<std::string> DecodePageToken(
    const google::protobuf::Message& request, const std::string& token);
std::string EncodePageToken(const google::protobuf::Message& request,
                            std::string_view key);

// A random (version 4) UUID, for records created without a client id.
std::string NewUuid();

// ---- Reads -----------------------------------------------------------------

// Waits (bounded by the call's deadline and deps.options.max_wait) until
// `projection` has applied `position`; 0 returns at once. UNAVAILABLE when
// it does not get there in time.
absl::Status WaitFor(const ServiceDeps& deps,
                     const grpc::CallbackServerContext& call,
                     std::string_view projection, uint64_t position);

// The contact as contacts_by_id shows it now (the caller waits for the
// read models it needs first); NOT_FOUND when it does not exist in
// `tenant`.
absl::StatusOr<v1::Contact> CurrentContact(const ServiceDeps& deps,
                                           std::string_view tenant,
                                           std::string_view id);

// ---- Writes ----------------------------------------------------------------

// Where a write landed.
struct Written {
  std::string id;
  uint64_t position = 0;  // 0: nothing appended (no change).
  uint64_t version = 0;   // The stream's version after the write.
};

// The aggregates, as Load and Execute see them.
struct ContactAggregate {
  using State = ContactState;
  using Command = ContactCommand;
  using Event = ContactEvent;
  static constexpr std::string_view kCollection = "contacts";
  static std::string Stream(std::string_view id) { return ContactStream(id); }
  static absl::StatusOr<Event> Read(const eventstore::Envelope& envelope,
                                    PersonalDataSealer& sealer) {
    return ReadContactEvent(envelope, UpcastContext{&sealer});
  }
  static absl::StatusOr<std::vector<Event>> Decide(
      const State& state, const Command& command, const CommandContext& context,
      PersonalDataSealer& sealer) {
    return crm::contact::Decide(state, command, context, sealer);
  }
};

struct AccountAggregate {
  using State = AccountState;
  using Command = AccountCommand;
  using Event = AccountEvent;
  static constexpr std::string_view kCollection = "accounts";
  static std::string Stream(std::string_view id) { return AccountStream(id); }
  static absl::StatusOr<Event> Read(const eventstore::Envelope& envelope,
                                    PersonalDataSealer& sealer) {
    return ReadAccountEvent(envelope, UpcastContext{&sealer});
  }
  static absl::StatusOr<std::vector<Event>> Decide(
      const State& state, const Command& command, const CommandContext& context,
      PersonalDataSealer&) {
    return crm::contact::Decide(state, command, context);
  }
};

struct ActivityAggregate {
  using State = ActivityState;
  using Command = ActivityCommand;
  using Event = ActivityEvent;
  static constexpr std::string_view kCollection = "activities";
  static std::string Stream(std::string_view id) { return ActivityStream(id); }
  static absl::StatusOr<Event> Read(const eventstore::Envelope& envelope,
                                    PersonalDataSealer& sealer) {
    return ReadActivityEvent(envelope, UpcastContext{&sealer});
  }
  static absl::StatusOr<std::vector<Event>> Decide(
      const State& state, const Command& command, const CommandContext& context,
      PersonalDataSealer& sealer) {
    return crm::contact::Decide(state, command, context, sealer);
  }
};

// Reads a stream page by page and hands each envelope to `visit` (which
// returns false to stop). A stream that does not exist visits nothing.
absl::Status ForEachEvent(
    eventstore::EventStore& store, const std::string& stream,
    const std::function<absl::StatusOr<bool>(const eventstore::Envelope&)>&
        visit);

// The aggregate's state from its stream (the empty state when the stream
// does not exist).
template <typename Aggregate>
absl::StatusOr<typename Aggregate::State> Load(const ServiceDeps& deps,
                                               std::string_view id) {
  typename Aggregate::State state;
  RETURN_IF_ERROR(ForEachEvent(
      deps.store, Aggregate::Stream(id),
      [&](const eventstore::Envelope& envelope) -> absl::StatusOr<bool> {
        ASSIGN_OR_RETURN(typename Aggregate::Event event,
                         Aggregate::Read(envelope, deps.sealer));
        state = Apply(std::move(state), event, EventMetaOf(envelope));
        return true;
      }));
  return state;
}

// The store's idempotency key of a client's request_id, per tenant (""
// when request_id is empty); INVALID_ARGUMENT naming "context.request_id"
// when it is longer than 128 bytes.
absl::StatusOr<std::string> RequestKey(const CommandContext& context,
                                       std::string_view request_id);

// The result of an earlier append under `request_key` (its first stream),
// or nullopt.
absl::StatusOr<std::optional<Written>> EarlierWrite(
    eventstore::EventStore& store, std::string_view request_key);

// Envelopes for encoded events: tenant, actor, correlation id of the call,
// occurred_at = context.now.
std::vector<eventstore::Envelope> ToEnvelopes(
    const grpc::CallbackServerContext& call, const CommandContext& context,
    std::vector<EncodedEvent> events);

// Appends and maps the store's errors to the API's: ABORTED (a concurrent
// write; retry) names `what` ("contacts/<id>").
absl::StatusOr<eventstore::AppendResult> AppendOrExplain(
    eventstore::EventStore& store,
    std::vector<eventstore::StreamAppend> appends, std::string_view request_key,
    std::string_view what);

// The single-stream write path: an earlier result for the request id, else
// load, check the etag (stale: FAILED_PRECONDITION), Decide, append with
// the loaded version as expected version (moved: ABORTED). No event: OK
// with position 0.
template <typename Aggregate>
absl::StatusOr<Written> Execute(const ServiceDeps& deps,
                                const grpc::CallbackServerContext& call,
                                const CommandContext& context,
                                std::string_view id, std::string_view etag,
                                const typename Aggregate::Command& command,
                                std::string_view request_id) {
  ASSIGN_OR_RETURN(std::string request_key, RequestKey(context, request_id));
  ASSIGN_OR_RETURN(std::optional<Written> earlier,
                   EarlierWrite(deps.store, request_key));
  if (earlier.has_value()) return *earlier;

  ASSIGN_OR_RETURN(typename Aggregate::State state, Load<Aggregate>(deps, id));
  if (!etag.empty() && state.exists() && state.tenant == context.tenant) {
    ASSIGN_OR_RETURN(uint64_t expected, ParseEtag(etag));
    if (expected != state.version) {
      return absl::FailedPreconditionError(fmt::format(
          "{}/{} changed since you read it (your etag {}, now {}); read it "
          "again and reapply your change",
          Aggregate::kCollection, id, expected, state.version));
    }
  }
  ASSIGN_OR_RETURN(std::vector<typename Aggregate::Event> events,
                   Aggregate::Decide(state, command, context, deps.sealer));
  if (events.empty()) return Written{std::string(id), 0, state.version};

  std::vector<EncodedEvent> encoded;
  encoded.reserve(events.size());
  for (const auto& event : events) encoded.push_back(EncodeEvent(event));
  std::vector<eventstore::StreamAppend> appends(1);
  appends[0].stream = Aggregate::Stream(id);
  appends[0].expected_version =
      state.exists() ? eventstore::ExpectedVersion::Exact(state.version)
                     : eventstore::ExpectedVersion::NoStream();
  appends[0].events = ToEnvelopes(call, context, std::move(encoded));
  absl::StatusOr<eventstore::AppendResult> appended =
      AppendOrExplain(deps.store, std::move(appends), request_key,
                      fmt::format("{}/{}", Aggregate::kCollection, id));
  if (absl::IsAlreadyExists(appended.status()) && !request_key.empty()) {
    // A concurrent retry of the same request won the race: its result.
    ASSIGN_OR_RETURN(earlier, EarlierWrite(deps.store, request_key));
    if (earlier.has_value()) return *earlier;
  }
  RETURN_IF_ERROR(appended.status());
  return Written{std::string(id), appended->last_position,
                 appended->streams.at(0).last_version};
}

// Fills a WriteResult from a write.
void SetResult(const Written& written, common::v1::WriteResult& result);

// How a handler reads a record back after a write: the resource once the
// read model(s) reached `position` (ReadContact, ReadAccount, ...).
template <typename Resource>
using ReadBackFn = absl::StatusOr<Resource> (*)(
    const ServiceDeps& deps, const grpc::CallbackServerContext& call,
    std::string_view tenant, std::string_view id, uint64_t position);

// A command on one record named by the request's `name` (Delete, Undelete,
// Complete, Reopen): the caller, the id (INVALID_ARGUMENT naming "name"),
// the etag checked, Execute of `command(id)`, then the record read back
// with `read` into `*resource` (read and dropped when `resource` is null,
// which still waits for its read model) and `result` filled.
template <typename Aggregate, typename Resource>
absl::Status ChangeRecord(const ServiceDeps& deps,
                          grpc::CallbackServerContext& call, RecordType type,
                          std::string_view name, std::string_view etag,
                          std::string_view request_id,
                          typename Aggregate::Command (*command)(std::string),
                          ReadBackFn<Resource> read, Resource* resource,
                          common::v1::WriteResult& result) {
  ASSIGN_OR_RETURN(CommandContext context, CallerOf(call, deps));
  ASSIGN_OR_RETURN(std::string id, IdOf(type, name, "name"));
  if (!etag.empty()) RETURN_IF_ERROR(ParseEtag(etag).status());
  ASSIGN_OR_RETURN(Written written,
                   Execute<Aggregate>(deps, call, context, id, etag,
                                      command(id), request_id));
  ASSIGN_OR_RETURN(Resource read_back, read(deps, call, context.tenant,
                                            written.id, written.position));
  if (resource != nullptr) *resource = std::move(read_back);
  SetResult(written, result);
  return absl::OkStatus();
}

}  // namespace crm::contact::api
