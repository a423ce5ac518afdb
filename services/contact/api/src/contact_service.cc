#include "crm/contact/api/contact_service.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/time/clock.h"
#include "crm/base/status_macros.h"
#include "crm/contact/api/grpc_status.h"
#include "crm/contact/domain/event_codec.h"
#include "crm/contact/domain/field_violation.h"
#include "crm/contact/domain/ids.h"
#include "crm/contact/domain/normalize.h"
#include "crm/contact/projections/contact_projections.h"
#include "crm/server/call_context.h"
#include "crm/server/logging.h"
#include "fmt/format.h"

namespace crm::contact::api {
namespace {

using projections::kContactListProjection;
using projections::kContactsByIdProjection;

constexpr int32_t kDefaultPageSize = 50;
constexpr int32_t kMaxPageSize = 1000;
// Contacts (and the events of one) a load reads per page.
constexpr size_t kLoadPage = 1000;

std::optional<std::string> Metadata(const grpc::CallbackServerContext& call,
                                    std::string_view key) {
  const auto& metadata = call.client_metadata();
  auto found = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (found == metadata.end()) return std::nullopt;
  return std::string(found->second.data(), found->second.size());
}

// The caller's command context: tenant and actor from the metadata, now.
absl::StatusOr<CommandContext> CallerOf(const grpc::CallbackServerContext& call,
                                        std::string_view default_region) {
  std::optional<std::string> tenant = Metadata(call, kTenantKey);
  std::optional<std::string> actor = Metadata(call, kActorKey);
  if (!tenant.has_value() || !actor.has_value()) {
    return absl::UnauthenticatedError(fmt::format(
        "the call names no {}: send the metadata \"{}\" (your tenant) and "
        "\"{}\" (your user id)",
        tenant.has_value() ? "actor" : "tenant", kTenantKey, kActorKey));
  }
  CommandContext context;
  context.tenant = *std::move(tenant);
  context.actor = *std::move(actor);
  context.now = absl::Now();
  context.default_region = std::string(default_region);
  RETURN_IF_ERROR(ValidateCommandContext(context));
  return context;
}

std::string NewUuid() {
  static absl::Mutex mutex(absl::kConstInit);
  static absl::BitGen* gen = new absl::BitGen();
  uint64_t high;
  uint64_t low;
  {
    absl::MutexLock lock(&mutex);
    high = absl::Uniform<uint64_t>(*gen);
    low = absl::Uniform<uint64_t>(*gen);
  }
  high = (high & ~0xF000ULL) | 0x4000ULL;            // version 4
  low = (low & ~(0xC0ULL << 56)) | (0x80ULL << 56);  // variant 10
  const std::string hex = fmt::format("{:016x}{:016x}", high, low);
  return fmt::format("{}-{}-{}-{}-{}", hex.substr(0, 8), hex.substr(8, 4),
                     hex.substr(12, 4), hex.substr(16, 4), hex.substr(20));
}

google::protobuf::Timestamp ToTimestamp(absl::Time time) {
  google::protobuf::Timestamp out;
  const int64_t nanos = absl::ToUnixNanos(time);
  out.set_seconds(nanos / 1'000'000'000);
  out.set_nanos(static_cast<int32_t>(nanos % 1'000'000'000));
  return out;
}

absl::Status InvalidField(std::string_view field, std::string description) {
  return InvalidArgumentWithViolations(
      "request", {FieldViolation{std::string(field), std::move(description)}});
}

absl::StatusOr<std::string> ContactIdOf(std::string_view name,
                                        std::string_view field) {
  absl::StatusOr<std::string> id =
      ParseResourceName(RecordType::kContact, name);
  if (!id.ok()) {
    return InvalidField(field, std::string(id.status().message()));
  }
  return id;
}

absl::StatusOr<uint64_t> ParseEtag(std::string_view etag) {
  uint64_t version = 0;
  if (etag.empty() || etag.size() > 20 ||
      !std::all_of(etag.begin(), etag.end(),
                   [](char c) { return c >= '0' && c <= '9'; })) {
    return InvalidField("etag",
                        "is not an etag of this service; pass the etag of a "
                        "contact you read, unchanged");
  }
  for (char c : etag) version = version * 10 + static_cast<uint64_t>(c - '0');
  return version;
}

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

// Page tokens: "<fingerprint of the filters>|<index key>", web-safe base64.
std::string Fingerprint(const v1::ListContactsRequest& request) {
  v1::ListContactsRequest filters = request;
  filters.clear_page();
  filters.clear_min_position();
  uint64_t hash = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : filters.SerializeAsString()) {
    hash = (hash ^ c) * 1099511628211ULL;
  }
  return fmt::format("{:016x}", hash);
}

absl::StatusOr<std::string> DecodePageToken(
    const v1::ListContactsRequest& request) {
  const std::string& token = request.page().page_token();
  if (token.empty()) return std::string();
  std::string raw;
  const std::string fingerprint = Fingerprint(request);
  if (!absl::WebSafeBase64Unescape(token, &raw) ||
      raw.size() <= fingerprint.size() + 1 ||
      raw.compare(0, fingerprint.size(), fingerprint) != 0 ||
      raw[fingerprint.size()] != '|') {
    return InvalidField("page.page_token",
                        "is not a token of this list with these filters; pass "
                        "the next_page_token of the previous page unchanged, "
                        "with the same filters");
  }
  return raw.substr(fingerprint.size() + 1);
}

std::string EncodePageToken(const v1::ListContactsRequest& request,
                            std::string_view key) {
  std::string out;
  absl::WebSafeBase64Escape(fmt::format("{}|{}", Fingerprint(request), key),
                            &out);
  return out;
}

// Paths that are not fields of the Contact resource: not prefixed.
const std::vector<std::string>& RequestFields() {
  static const auto* fields = new std::vector<std::string>{
      "tenant",   "actor", "context", "etag",  "update_mask", "contact_id",
      "contact.", "name",  "page.",   "email", "account"};
  return *fields;
}

// Finishes the call with `status` (converted) and returns its reactor.
grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* call,
                                 const absl::Status& status,
                                 std::string_view field_prefix = {}) {
  grpc::ServerUnaryReactor* reactor = call->DefaultReactor();
  if (!status.ok() && status.code() != absl::StatusCode::kNotFound &&
      status.code() != absl::StatusCode::kInvalidArgument &&
      status.code() != absl::StatusCode::kFailedPrecondition &&
      status.code() != absl::StatusCode::kAborted &&
      status.code() != absl::StatusCode::kAlreadyExists &&
      status.code() != absl::StatusCode::kUnauthenticated) {
    server::LogWarn("contact call failed",
                    {{"code", absl::StatusCodeToString(status.code())},
                     {"error", std::string(status.message())}});
  }
  reactor->Finish(ToGrpcStatus(status, field_prefix, RequestFields()));
  return reactor;
}

}  // namespace

ContactServiceImpl::ContactServiceImpl(
    eventstore::EventStore& store, const projection::ProjectionEngine& engine,
    PersonalDataSealer& sealer, Options options)
    : store_(store),
      engine_(engine),
      sealer_(sealer),
      options_(std::move(options)) {}

absl::StatusOr<ContactState> ContactServiceImpl::Load(
    std::string_view id) const {
  ContactState state;
  const std::string stream = ContactStream(id);
  uint64_t from = 1;
  while (true) {
    absl::StatusOr<eventstore::StreamSlice> slice = store_.ReadStream(
        stream, eventstore::Direction::kForward, from, kLoadPage);
    if (absl::IsNotFound(slice.status())) return state;
    RETURN_IF_ERROR(slice.status());
    for (const eventstore::Envelope& envelope : slice->events) {
      ASSIGN_OR_RETURN(ContactEvent event,
                       ReadContactEvent(envelope, UpcastContext{&sealer_}));
      state = Apply(std::move(state), event, EventMetaOf(envelope));
    }
    if (slice->end_of_stream || slice->events.empty()) return state;
    from = slice->next_version;
  }
}

absl::StatusOr<ContactServiceImpl::Written> ContactServiceImpl::Execute(
    const grpc::CallbackServerContext& call, const CommandContext& context,
    std::string_view id, std::string_view etag, const ContactCommand& command,
    std::string_view request_id) {
  // Request ids are the client's, per tenant: the store's key is derived
  // from both (fixed length, whatever the tenant's).
  std::string request_key;
  if (!request_id.empty()) {
    if (request_id.size() > 128) {
      return InvalidField("context.request_id", "is longer than 128 bytes");
    }
    request_key =
        DeriveId(fmt::format("{}/request", context.tenant), request_id);
  }
  auto stored_result = [&]() -> absl::StatusOr<std::optional<Written>> {
    if (request_key.empty()) return std::nullopt;
    ASSIGN_OR_RETURN(std::optional<eventstore::AppendResult> done,
                     store_.LookupRequest(request_key));
    if (!done.has_value() || done->streams.empty()) return std::nullopt;
    ASSIGN_OR_RETURN(RecordRef ref, ParseStreamName(done->streams[0].stream));
    return Written{ref.id, done->last_position, done->streams[0].last_version};
  };
  ASSIGN_OR_RETURN(std::optional<Written> earlier, stored_result());
  if (earlier.has_value()) return *earlier;

  ASSIGN_OR_RETURN(ContactState state, Load(id));
  if (!etag.empty() && state.exists() && state.tenant == context.tenant) {
    ASSIGN_OR_RETURN(uint64_t expected, ParseEtag(etag));
    if (expected != state.version) {
      return absl::FailedPreconditionError(fmt::format(
          "contacts/{} changed since you read it (your etag {}, now {}); read "
          "it again and reapply your change",
          id, expected, state.version));
    }
  }
  ASSIGN_OR_RETURN(std::vector<ContactEvent> events,
                   Decide(state, command, context, sealer_));
  if (events.empty()) return Written{std::string(id), 0, state.version};

  std::vector<eventstore::Envelope> envelopes;
  const std::string correlation_id = server::CorrelationId(call);
  for (const ContactEvent& event : events) {
    eventstore::Envelope& envelope = envelopes.emplace_back();
    FillEnvelope(EncodeEvent(event), &envelope);
    envelope.set_tenant(context.tenant);
    envelope.set_actor(context.actor);
    envelope.set_correlation_id(correlation_id);
    *envelope.mutable_occurred_at() = ToTimestamp(context.now);
  }
  const eventstore::ExpectedVersion expected =
      state.exists() ? eventstore::ExpectedVersion::Exact(state.version)
                     : eventstore::ExpectedVersion::NoStream();
  absl::StatusOr<eventstore::AppendResult> appended = store_.Append(
      ContactStream(id), expected, std::move(envelopes), request_key);
  if (absl::IsAlreadyExists(appended.status()) && !request_key.empty()) {
    // A concurrent retry of the same request won the race: its result.
    ASSIGN_OR_RETURN(earlier, stored_result());
    if (earlier.has_value()) return *earlier;
  }
  if (absl::IsAborted(appended.status())) {
    return absl::AbortedError(fmt::format(
        "contacts/{} was changed by a concurrent write; retry the request",
        id));
  }
  RETURN_IF_ERROR(appended.status());
  return Written{std::string(id), appended->last_position,
                 appended->streams.at(0).last_version};
}

absl::Status ContactServiceImpl::WaitFor(
    const grpc::CallbackServerContext& call, std::string_view projection,
    uint64_t position) const {
  if (position == 0) return absl::OkStatus();
  const absl::Status waited = engine_.WaitForPosition(
      projection, position, server::TimeLeft(call, options_.max_wait));
  if (absl::IsDeadlineExceeded(waited)) {
    return absl::UnavailableError(fmt::format(
        "the {} read model has not reached position {} in time; retry with "
        "a longer deadline",
        projection, position));
  }
  return waited;
}

absl::StatusOr<v1::Contact> ContactServiceImpl::ReadContact(
    const grpc::CallbackServerContext& call, std::string_view tenant,
    std::string_view id, uint64_t position) const {
  // Both read models: a list right after a write shows it too.
  RETURN_IF_ERROR(WaitFor(call, kContactListProjection, position));
  RETURN_IF_ERROR(WaitFor(call, kContactsByIdProjection, position));
  ASSIGN_OR_RETURN(auto view, engine_.View(kContactsByIdProjection));
  ASSIGN_OR_RETURN(std::optional<projections::StoredContact> stored,
                   projections::GetStoredContact(*view, tenant, id));
  if (!stored.has_value()) {
    return absl::NotFoundError(fmt::format("contacts/{} does not exist", id));
  }
  return projections::ToResource(*stored, sealer_);
}

grpc::ServerUnaryReactor* ContactServiceImpl::CreateContact(
    grpc::CallbackServerContext* call, const v1::CreateContactRequest* request,
    v1::CreateContactResponse* response) {
  server::ScopedCorrelationId correlation(server::CorrelationId(*call));
  absl::Status status = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context,
                     CallerOf(*call, options_.default_region));
    ASSIGN_OR_RETURN(ContactFields fields, FieldsOf(request->contact()));
    crm::contact::CreateContact command;
    command.contact_id =
        request->contact_id().empty() ? NewUuid() : request->contact_id();
    command.fields = std::move(fields);
    ASSIGN_OR_RETURN(Written written,
                     Execute(*call, context, command.contact_id, "", command,
                             request->context().request_id()));
    ASSIGN_OR_RETURN(
        *response->mutable_contact(),
        ReadContact(*call, context.tenant, written.id, written.position));
    response->mutable_result()->set_global_position(written.position);
    response->mutable_result()->set_etag(std::to_string(written.version));
    return absl::OkStatus();
  }();
  return Finish(call, status, "contact.");
}

grpc::ServerUnaryReactor* ContactServiceImpl::GetContact(
    grpc::CallbackServerContext* call, const v1::GetContactRequest* request,
    v1::Contact* response) {
  server::ScopedCorrelationId correlation(server::CorrelationId(*call));
  absl::Status status = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context,
                     CallerOf(*call, options_.default_region));
    ASSIGN_OR_RETURN(std::string id, ContactIdOf(request->name(), "name"));
    if (request->has_as_of_time() || request->as_of_version() != 0) {
      return absl::UnimplementedError(
          "as_of_time and as_of_version are not served yet; read the current "
          "state (leave both unset)");
    }
    ASSIGN_OR_RETURN(v1::Contact contact, ReadContact(*call, context.tenant, id,
                                                      request->min_position()));
    // Follow merge redirects, a bounded number of hops.
    for (int hop = 0; hop < 8 && !request->no_redirect() &&
                      contact.state() == v1::RECORD_STATE_MERGED;
         ++hop) {
      ASSIGN_OR_RETURN(std::string survivor,
                       ContactIdOf(contact.merged_into(), "name"));
      ASSIGN_OR_RETURN(contact,
                       ReadContact(*call, context.tenant, survivor, 0));
    }
    *response = std::move(contact);
    return absl::OkStatus();
  }();
  return Finish(call, status);
}

grpc::ServerUnaryReactor* ContactServiceImpl::ListContacts(
    grpc::CallbackServerContext* call, const v1::ListContactsRequest* request,
    v1::ListContactsResponse* response) {
  server::ScopedCorrelationId correlation(server::CorrelationId(*call));
  absl::Status status = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context,
                     CallerOf(*call, options_.default_region));
    const int32_t page_size = request->page().page_size();
    if (page_size < 0) {
      return InvalidField("page.page_size", "must not be negative");
    }
    if (!request->phone().empty() ||
        request->order_by() != v1::CONTACT_ORDER_UNSPECIFIED) {
      return absl::UnimplementedError(
          "the phone filter and order_by UPDATE_TIME are not served yet; "
          "leave them unset");
    }
    projections::ContactListQuery query;
    query.tenant = context.tenant;
    query.page_size = static_cast<size_t>(
        page_size == 0 ? kDefaultPageSize : std::min(page_size, kMaxPageSize));
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
      absl::StatusOr<std::string> account =
          ParseResourceName(RecordType::kAccount, request->account());
      if (!account.ok()) {
        return InvalidField("account", std::string(account.status().message()));
      }
      query.account_id = *std::move(account);
    }
    query.tags.assign(request->tags().begin(), request->tags().end());
    if (request->has_updated_since()) {
      query.updated_since =
          absl::FromUnixSeconds(request->updated_since().seconds()) +
          absl::Nanoseconds(request->updated_since().nanos());
    }
    query.show_deleted = request->show_deleted();
    ASSIGN_OR_RETURN(query.start_after, DecodePageToken(*request));

    RETURN_IF_ERROR(
        WaitFor(*call, kContactListProjection, request->min_position()));
    RETURN_IF_ERROR(
        WaitFor(*call, kContactsByIdProjection, request->min_position()));
    ASSIGN_OR_RETURN(auto list_view, engine_.View(kContactListProjection));
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
        WaitFor(*call, kContactsByIdProjection, list_view->position()));
    ASSIGN_OR_RETURN(auto by_id, engine_.View(kContactsByIdProjection));
    for (const std::string& id : page->ids) {
      ASSIGN_OR_RETURN(
          std::optional<projections::StoredContact> stored,
          projections::GetStoredContact(*by_id, context.tenant, id));
      if (!stored.has_value()) continue;
      ASSIGN_OR_RETURN(*response->add_contacts(),
                       projections::ToResource(*stored, sealer_));
    }
    if (!page->resume_after.empty()) {
      response->mutable_page()->set_next_page_token(
          EncodePageToken(*request, page->resume_after));
    }
    return absl::OkStatus();
  }();
  return Finish(call, status);
}

grpc::ServerUnaryReactor* ContactServiceImpl::UpdateContact(
    grpc::CallbackServerContext* call, const v1::UpdateContactRequest* request,
    v1::UpdateContactResponse* response) {
  server::ScopedCorrelationId correlation(server::CorrelationId(*call));
  absl::Status status = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context,
                     CallerOf(*call, options_.default_region));
    ASSIGN_OR_RETURN(std::string id,
                     ContactIdOf(request->contact().name(), "contact.name"));
    if (!request->etag().empty())
      RETURN_IF_ERROR(ParseEtag(request->etag()).status());
    ASSIGN_OR_RETURN(ContactFields fields, FieldsOf(request->contact()));
    crm::contact::UpdateContact command;
    command.contact_id = id;
    command.update_mask.assign(request->update_mask().paths().begin(),
                               request->update_mask().paths().end());
    command.fields = std::move(fields);
    ASSIGN_OR_RETURN(Written written,
                     Execute(*call, context, id, request->etag(), command,
                             request->context().request_id()));
    ASSIGN_OR_RETURN(
        *response->mutable_contact(),
        ReadContact(*call, context.tenant, written.id, written.position));
    response->mutable_result()->set_global_position(written.position);
    response->mutable_result()->set_etag(std::to_string(written.version));
    return absl::OkStatus();
  }();
  return Finish(call, status, "contact.");
}

absl::Status ContactServiceImpl::ChangeLifecycle(
    grpc::CallbackServerContext& call, std::string_view name,
    std::string_view etag, std::string_view request_id,
    ContactCommand (*command)(std::string id), v1::Contact& contact,
    common::v1::WriteResult& result) {
  ASSIGN_OR_RETURN(CommandContext context,
                   CallerOf(call, options_.default_region));
  ASSIGN_OR_RETURN(std::string id, ContactIdOf(name, "name"));
  if (!etag.empty()) RETURN_IF_ERROR(ParseEtag(etag).status());
  ASSIGN_OR_RETURN(Written written,
                   Execute(call, context, id, etag, command(id), request_id));
  ASSIGN_OR_RETURN(
      contact, ReadContact(call, context.tenant, written.id, written.position));
  result.set_global_position(written.position);
  result.set_etag(std::to_string(written.version));
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* ContactServiceImpl::DeleteContact(
    grpc::CallbackServerContext* call, const v1::DeleteContactRequest* request,
    v1::DeleteContactResponse* response) {
  server::ScopedCorrelationId correlation(server::CorrelationId(*call));
  return Finish(call,
                ChangeLifecycle(
                    *call, request->name(), request->etag(),
                    request->context().request_id(),
                    [](std::string id) -> ContactCommand {
                      return crm::contact::DeleteContact{std::move(id)};
                    },
                    *response->mutable_contact(), *response->mutable_result()));
}

grpc::ServerUnaryReactor* ContactServiceImpl::UndeleteContact(
    grpc::CallbackServerContext* call,
    const v1::UndeleteContactRequest* request,
    v1::UndeleteContactResponse* response) {
  server::ScopedCorrelationId correlation(server::CorrelationId(*call));
  return Finish(call,
                ChangeLifecycle(
                    *call, request->name(), request->etag(),
                    request->context().request_id(),
                    [](std::string id) -> ContactCommand {
                      return crm::contact::UndeleteContact{std::move(id)};
                    },
                    *response->mutable_contact(), *response->mutable_result()));
}

}  // namespace crm::contact::api
