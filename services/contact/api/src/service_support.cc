#include "service_support.h"

#include <algorithm>
#include <ctime>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/time/clock.h"
#include "crm/base/uuid.h"
#include "crm/contact/api/grpc_status.h"
#include "crm/contact/domain/field_violation.h"
#include "crm/contact/projections/contact_projections.h"
#include "crm/server/logging.h"
#include "fmt/format.h"
#include "google/protobuf/descriptor.h"

namespace crm::contact::api {
namespace {

// Contacts (and the events of one) a load reads per page.
constexpr size_t kLoadPage = 1000;

std::optional<std::string> Metadata(const grpc::CallbackServerContext& call,
                                    std::string_view key) {
  const auto& metadata = call.client_metadata();
  auto found = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (found == metadata.end()) return std::nullopt;
  return std::string(found->second.data(), found->second.size());
}

// Paths of violations that name request fields, not fields of the resource:
// not prefixed.
const std::vector<std::string>& RequestFields() {
  static const auto* fields = new std::vector<std::string>{
      "tenant",   "actor",         "context",    "etag",         "update_mask",
      "name",     "page.",         "email",      "account",      "contact_id",
      "contact.", "account_id",    "account.",   "activity_id",  "activity.",
      "parent",   "relationship.", "as_of_time", "as_of_version"};
  return *fields;
}

// FNV-1a of the request without its page and min_position fields.
std::string Fingerprint(const google::protobuf::Message& request) {
  std::unique_ptr<google::protobuf::Message> filters(request.New());
  filters->CopyFrom(request);
  const google::protobuf::Descriptor* descriptor = filters->GetDescriptor();
  for (const char* field : {"page", "min_position"}) {
    if (const auto* f = descriptor->FindFieldByName(field); f != nullptr) {
      filters->GetReflection()->ClearField(filters.get(), f);
    }
  }
  uint64_t hash = 1469598103934665603ULL;
  for (unsigned char c : filters->SerializeAsString()) {
    hash = (hash ^ c) * 1099511628211ULL;
  }
  return fmt::format("{:016x}", hash);
}

}  // namespace

absl::StatusOr<CommandContext> CallerOf(const grpc::CallbackServerContext& call,
                                        const ServiceDeps& deps) {
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
  context.default_region = deps.options.default_region;
  RETURN_IF_ERROR(ValidateCommandContext(context));
  return context;
}

absl::Status CancelledBeforeItRan() {
  return absl::CancelledError(
      "the call was cancelled before its turn came (its deadline passed, or "
      "the client or the server's shutdown cancelled it); nothing was done: "
      "retry it, with the same request_id for a write, and with a longer "
      "deadline if the server is busy");
}

void Finish(grpc::ServerUnaryReactor& reactor, const absl::Status& status,
            std::string_view field_prefix) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
    case absl::StatusCode::kCancelled:  // The client's (or a shutdown's) act.
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kUnimplemented:
      break;
    default:
      server::LogWarn("contact call failed",
                      {{"code", absl::StatusCodeToString(status.code())},
                       {"error", std::string(status.message())}});
  }
  reactor.Finish(ToGrpcStatus(status, field_prefix, RequestFields()));
}

absl::Status InvalidField(std::string_view field, std::string description) {
  return InvalidArgumentWithViolations(
      "request", {FieldViolation{std::string(field), std::move(description)}});
}

absl::StatusOr<std::string> IdOf(RecordType type, std::string_view name,
                                 std::string_view field) {
  absl::StatusOr<std::string> id = ParseResourceName(type, name);
  if (!id.ok()) return InvalidField(field, std::string(id.status().message()));
  return id;
}

absl::StatusOr<uint64_t> ParseEtag(std::string_view etag) {
  uint64_t version = 0;
  if (etag.empty() || etag.size() > 19 ||
      !std::all_of(etag.begin(), etag.end(),
                   [](char c) { return c >= '0' && c <= '9'; })) {
    return InvalidField("etag",
                        "is not an etag of this service; pass the etag of a "
                        "record you read, unchanged");
  }
  for (char c : etag) version = version * 10 + static_cast<uint64_t>(c - '0');
  return version;
}

absl::StatusOr<size_t> PageSizeOf(int32_t requested, size_t default_size,
                                  size_t max_size) {
  if (requested < 0) {
    return InvalidField("page.page_size", "must not be negative");
  }
  if (requested == 0) return default_size;
  return std::min(static_cast<size_t>(requested), max_size);
}

absl::StatusOr<std::string> DecodePageToken(
    const google::protobuf::Message& request, const std::string& token) {
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

std::string EncodePageToken(const google::protobuf::Message& request,
                            std::string_view key) {
  std::string out;
  absl::WebSafeBase64Escape(fmt::format("{}|{}", Fingerprint(request), key),
                            &out);
  return out;
}

std::string NewUuid() { return base::NewRandomUuid(); }

absl::Status WaitFor(const ServiceDeps& deps,
                     const grpc::CallbackServerContext& call,
                     std::string_view projection, uint64_t position) {
  if (position == 0) return absl::OkStatus();
  const absl::Status waited = deps.engine.WaitForPosition(
      projection, position, server::TimeLeft(call, deps.options.max_wait));
  if (absl::IsDeadlineExceeded(waited)) {
    return absl::UnavailableError(fmt::format(
        "the {} read model has not reached position {} in time; retry with "
        "a longer deadline",
        projection, position));
  }
  return waited;
}

absl::StatusOr<v1::Contact> CurrentContact(const ServiceDeps& deps,
                                           std::string_view tenant,
                                           std::string_view id) {
  ASSIGN_OR_RETURN(auto view,
                   deps.engine.View(projections::kContactsByIdProjection));
  ASSIGN_OR_RETURN(std::optional<projections::StoredContact> stored,
                   projections::GetStoredContact(*view, tenant, id));
  if (!stored.has_value()) {
    return absl::NotFoundError(fmt::format(
        "contacts/{} does not exist; check the name (and the tenant)", id));
  }
  return projections::ToResource(*stored, deps.sealer);
}

absl::Status ForEachEvent(
    eventstore::EventStore& store, const std::string& stream,
    const std::function<absl::StatusOr<bool>(const eventstore::Envelope&)>&
        visit) {
  uint64_t from = 1;
  while (true) {
    absl::StatusOr<eventstore::StreamSlice> slice = store.ReadStream(
        stream, eventstore::Direction::kForward, from, kLoadPage);
    if (absl::IsNotFound(slice.status())) return absl::OkStatus();
    RETURN_IF_ERROR(slice.status());
    for (const eventstore::Envelope& envelope : slice->events) {
      ASSIGN_OR_RETURN(bool more, visit(envelope));
      if (!more) return absl::OkStatus();
    }
    if (slice->end_of_stream || slice->events.empty()) return absl::OkStatus();
    from = slice->next_version;
  }
}

absl::StatusOr<std::string> RequestKey(const CommandContext& context,
                                       std::string_view request_id) {
  if (request_id.empty()) return std::string();
  if (request_id.size() > 128) {
    return InvalidField("context.request_id", "is longer than 128 bytes");
  }
  // Request ids are the client's, per tenant: the store's key is derived
  // from both (fixed length, whatever the tenant's).
  return DeriveId(fmt::format("{}/request", context.tenant), request_id);
}

absl::StatusOr<std::optional<Written>> EarlierWrite(
    eventstore::EventStore& store, std::string_view request_key) {
  if (request_key.empty()) return std::nullopt;
  ASSIGN_OR_RETURN(std::optional<eventstore::AppendResult> done,
                   store.LookupRequest(request_key));
  if (!done.has_value() || done->streams.empty()) return std::nullopt;
  ASSIGN_OR_RETURN(RecordRef ref, ParseStreamName(done->streams[0].stream));
  return Written{ref.id, done->last_position, done->streams[0].last_version};
}

std::vector<eventstore::Envelope> ToEnvelopes(
    const grpc::CallbackServerContext& call, const CommandContext& context,
    std::vector<EncodedEvent> events) {
  std::vector<eventstore::Envelope> envelopes;
  envelopes.reserve(events.size());
  const std::string correlation_id = server::CorrelationId(call);
  for (const EncodedEvent& event : events) {
    eventstore::Envelope& envelope = envelopes.emplace_back();
    FillEnvelope(event, &envelope);
    envelope.set_tenant(context.tenant);
    envelope.set_actor(context.actor);
    envelope.set_correlation_id(correlation_id);
    *envelope.mutable_occurred_at() = ToTimestamp(context.now);
  }
  return envelopes;
}

absl::StatusOr<eventstore::AppendResult> AppendOrExplain(
    eventstore::EventStore& store,
    std::vector<eventstore::StreamAppend> appends, std::string_view request_key,
    std::string_view what) {
  absl::StatusOr<eventstore::AppendResult> appended =
      store.AppendMulti(std::move(appends), request_key);
  if (absl::IsAborted(appended.status())) {
    return absl::AbortedError(fmt::format(
        "{} was changed by a concurrent write; retry the request", what));
  }
  return appended;
}

void SetResult(const Written& written, common::v1::WriteResult& result) {
  result.set_global_position(written.position);
  result.set_etag(std::to_string(written.version));
}

}  // namespace crm::contact::api
