#include "append_request.h"

#include <openssl/evp.h>

#include <array>
#include <memory>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "crm/base/status_macros.h"
#include "crm/base/uuid.h"
#include "fmt/format.h"

namespace crm::eventstore::internal {
namespace {

// Room left in max_event_bytes for the fields the store sets at commit time
// (stream_version, global_position, recorded_at).
constexpr size_t kCommitFieldsBytes = 40;

bool HasControlCharacter(std::string_view text) {
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return true;
  }
  return false;
}

absl::Status ValidateRequestId(std::string_view request_id, size_t max_bytes) {
  if (request_id.size() > max_bytes) {
    return absl::InvalidArgumentError(
        fmt::format("request_id is {} bytes; the limit is {} "
                    "(max_request_id_bytes); use a UUID",
                    request_id.size(), max_bytes));
  }
  if (HasControlCharacter(request_id)) {
    return absl::InvalidArgumentError(
        "request_id contains control characters; use a UUID");
  }
  return absl::OkStatus();
}

// Feeds a length-prefixed field into the digest, so that field boundaries
// are part of what is hashed.
class Fingerprinter {
 public:
  Fingerprinter() : context_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr);
  }
  void Add(std::string_view field) {
    AddNumber(field.size());
    EVP_DigestUpdate(context_.get(), field.data(), field.size());
  }
  void AddNumber(uint64_t value) {
    std::array<unsigned char, 8> bytes;
    for (int i = 0; i < 8; ++i) bytes[i] = (value >> (8 * i)) & 0xff;
    EVP_DigestUpdate(context_.get(), bytes.data(), bytes.size());
  }
  std::string Finish() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest;
    unsigned int size = 0;
    EVP_DigestFinal_ex(context_.get(), digest.data(), &size);
    return std::string(reinterpret_cast<const char*>(digest.data()), size);
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context_;
};

absl::Status PrepareEvent(const std::string& stream, size_t index,
                          const EventStore::Options& options, Envelope& event,
                          size_t& bytes) {
  auto where = [&] {
    return fmt::format("event {} of stream '{}'", index, stream);
  };
  if (event.type().empty()) {
    return absl::InvalidArgumentError(fmt::format(
        "{} has no type; set it to the payload's proto message name", where()));
  }
  if (event.type().size() > 256 || HasControlCharacter(event.type())) {
    return absl::InvalidArgumentError(
        fmt::format("{} has an invalid type (over 256 bytes or with control "
                    "characters); use the payload's proto message name",
                    where()));
  }
  if (event.event_id().empty()) {
    event.set_event_id(base::NewRandomUuid());
  } else if (!base::IsUuid(event.event_id())) {
    return absl::InvalidArgumentError(
        fmt::format("{} has event_id '{}', which is not a canonical UUID; "
                    "leave it empty to have one generated",
                    where(), event.event_id()));
  }
  if (event.schema_version() == 0) event.set_schema_version(1);
  event.set_stream(stream);
  event.clear_stream_version();
  event.clear_global_position();
  event.clear_recorded_at();
  size_t size = event.ByteSizeLong() + kCommitFieldsBytes;
  if (size > options.max_event_bytes) {
    return absl::InvalidArgumentError(
        fmt::format("{} is {} bytes encoded; the limit is {} "
                    "(max_event_bytes); keep large content outside events",
                    where(), size, options.max_event_bytes));
  }
  bytes += size;
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateStreamName(std::string_view stream, size_t max_bytes) {
  if (stream.empty()) {
    return absl::InvalidArgumentError(
        "stream name is empty; name the stream, e.g. 'contact-<id>'");
  }
  if (stream.size() > max_bytes) {
    return absl::InvalidArgumentError(
        fmt::format("stream name '{}...' is {} bytes; the limit is {} "
                    "(max_stream_name_bytes)",
                    stream.substr(0, 64), stream.size(), max_bytes));
  }
  if (HasControlCharacter(stream)) {
    return absl::InvalidArgumentError(
        "stream name contains control characters; use printable text such "
        "as 'contact-<id>'");
  }
  return absl::OkStatus();
}

absl::StatusOr<PreparedAppend> PrepareAppend(
    std::vector<StreamAppend> streams, std::string_view request_id,
    const EventStore::Options& options) {
  if (streams.empty()) {
    return absl::InvalidArgumentError(
        "an append needs at least one stream with events");
  }
  RETURN_IF_ERROR(ValidateRequestId(request_id, options.max_request_id_bytes));
  size_t total_events = 0;
  absl::flat_hash_set<std::string_view> names;
  for (const StreamAppend& part : streams) {
    RETURN_IF_ERROR(
        ValidateStreamName(part.stream, options.max_stream_name_bytes));
    if (!names.insert(part.stream).second) {
      return absl::InvalidArgumentError(
          fmt::format("stream '{}' is named twice in one append; put all its "
                      "events in one entry",
                      part.stream));
    }
    if (part.events.empty()) {
      return absl::InvalidArgumentError(
          fmt::format("the append to stream '{}' has no events", part.stream));
    }
    total_events += part.events.size();
  }
  if (total_events > options.max_events_per_append) {
    return absl::InvalidArgumentError(
        fmt::format("the append has {} events; the limit is {} "
                    "(max_events_per_append); split it into several appends",
                    total_events, options.max_events_per_append));
  }

  PreparedAppend prepared;
  prepared.request_id = std::string(request_id);
  prepared.events.reserve(total_events);
  prepared.parts.reserve(streams.size());
  // Only a request with a request_id needs a fingerprint.
  std::optional<Fingerprinter> fingerprint;
  if (!request_id.empty()) fingerprint.emplace();
  for (StreamAppend& part : streams) {
    PreparedAppend::Part& out = prepared.parts.emplace_back();
    out.stream = std::move(part.stream);
    out.expected_version = part.expected_version;
    out.begin = prepared.events.size();
    if (fingerprint.has_value()) {
      fingerprint->Add(out.stream);
      fingerprint->AddNumber(
          static_cast<uint64_t>(out.expected_version.kind()));
      fingerprint->AddNumber(out.expected_version.version());
      fingerprint->AddNumber(part.events.size());
    }
    for (size_t i = 0; i < part.events.size(); ++i) {
      Envelope& event = part.events[i];
      RETURN_IF_ERROR(
          PrepareEvent(out.stream, i, options, event, prepared.bytes));
      if (fingerprint.has_value()) {
        fingerprint->Add(event.type());
        fingerprint->AddNumber(event.schema_version());
        fingerprint->Add(event.payload());
      }
      prepared.events.push_back(std::move(event));
    }
    out.end = prepared.events.size();
  }
  if (fingerprint.has_value()) prepared.fingerprint = fingerprint->Finish();
  return prepared;
}

}  // namespace crm::eventstore::internal
