#include "crm/contact/api/grpc_status.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace crm::contact::api {
namespace {

using google::protobuf::io::CodedInputStream;
using google::protobuf::io::CodedOutputStream;
using google::protobuf::io::StringOutputStream;

constexpr char kBadRequestTypeUrl[] =
    "type.googleapis.com/google.rpc.BadRequest";

// Wire types of the protobuf encoding.
constexpr uint32_t kVarint = 0;
constexpr uint32_t kLengthDelimited = 2;

uint32_t Tag(uint32_t field, uint32_t wire_type) {
  return (field << 3) | wire_type;
}

void WriteBytes(CodedOutputStream& out, uint32_t field, std::string_view s) {
  out.WriteTag(Tag(field, kLengthDelimited));
  out.WriteVarint32(static_cast<uint32_t>(s.size()));
  out.WriteRaw(s.data(), static_cast<int>(s.size()));
}

template <typename Fn>
std::string Encode(Fn&& fn) {
  std::string bytes;
  {
    StringOutputStream stream(&bytes);
    CodedOutputStream out(&stream);
    fn(out);
  }
  return bytes;
}

// google.rpc.BadRequest { repeated FieldViolation field_violations = 1; }
// FieldViolation { string field = 1; string description = 2; }
std::string EncodeBadRequest(const std::vector<FieldViolation>& violations) {
  return Encode([&](CodedOutputStream& out) {
    for (const FieldViolation& v : violations) {
      WriteBytes(out, 1, Encode([&](CodedOutputStream& inner) {
                   WriteBytes(inner, 1, v.field);
                   WriteBytes(inner, 2, v.description);
                 }));
    }
  });
}

// google.rpc.Status { int32 code = 1; string message = 2;
//                     repeated google.protobuf.Any details = 3; }
// Any { string type_url = 1; bytes value = 2; }
std::string EncodeRpcStatus(int code, std::string_view message,
                            std::string_view bad_request) {
  return Encode([&](CodedOutputStream& out) {
    out.WriteTag(Tag(1, kVarint));
    out.WriteVarint32(static_cast<uint32_t>(code));
    WriteBytes(out, 2, message);
    WriteBytes(out, 3, Encode([&](CodedOutputStream& any) {
                 WriteBytes(any, 1, kBadRequestTypeUrl);
                 WriteBytes(any, 2, bad_request);
               }));
  });
}

// Calls fn(field, wire_type, bytes-or-empty, varint) for each field of a
// message; false when it does not parse.
template <typename Fn>
bool ForEachField(std::string_view bytes, Fn&& fn) {
  CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                      static_cast<int>(bytes.size()));
  while (true) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) return true;  // The end (or a zero tag: malformed).
    const uint32_t field = tag >> 3;
    const uint32_t wire_type = tag & 7;
    if (wire_type == kVarint) {
      uint64_t value = 0;
      if (!in.ReadVarint64(&value)) return false;
      fn(field, wire_type, std::string(), value);
    } else if (wire_type == kLengthDelimited) {
      uint32_t size = 0;
      std::string value;
      if (!in.ReadVarint32(&size) || !in.ReadString(&value, size)) return false;
      fn(field, wire_type, std::move(value), 0);
    } else {
      return false;  // google.rpc.Status and BadRequest use no other type.
    }
  }
}

bool IsRequestField(std::string_view path,
                    const std::vector<std::string>& request_fields) {
  return std::any_of(
      request_fields.begin(), request_fields.end(), [&](const std::string& f) {
        if (!f.empty() && f.back() == '.') {
          return path.starts_with(f);  // Already prefixed.
        }
        return path == f || (path.starts_with(f) &&
                             (path[f.size()] == '.' || path[f.size()] == '['));
      });
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status,
                          std::string_view field_prefix,
                          const std::vector<std::string>& request_fields) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  const std::string message(status.message());
  std::vector<FieldViolation> violations = FieldViolations(status);
  if (violations.empty()) return grpc::Status(code, message);
  for (FieldViolation& v : violations) {
    if (!IsRequestField(v.field, request_fields)) {
      v.field = std::string(field_prefix) + v.field;
    }
  }
  return grpc::Status(code, message,
                      EncodeRpcStatus(static_cast<int>(code), message,
                                      EncodeBadRequest(violations)));
}

std::vector<FieldViolation> BadRequestViolations(const grpc::Status& status) {
  std::vector<FieldViolation> violations;
  std::vector<std::string> bad_requests;
  ForEachField(status.error_details(), [&](uint32_t field, uint32_t,
                                           std::string any, uint64_t) {
    if (field != 3) return;
    std::string type_url;
    std::string value;
    ForEachField(any, [&](uint32_t f, uint32_t, std::string s, uint64_t) {
      if (f == 1) type_url = std::move(s);
      if (f == 2) value = std::move(s);
    });
    if (type_url == kBadRequestTypeUrl) bad_requests.push_back(value);
  });
  for (const std::string& bad_request : bad_requests) {
    ForEachField(
        bad_request, [&](uint32_t field, uint32_t, std::string v, uint64_t) {
          if (field != 1) return;
          FieldViolation violation;
          ForEachField(v, [&](uint32_t f, uint32_t, std::string s, uint64_t) {
            if (f == 1) violation.field = std::move(s);
            if (f == 2) violation.description = std::move(s);
          });
          violations.push_back(std::move(violation));
        });
  }
  return violations;
}

int DetailsCode(const grpc::Status& status) {
  if (status.error_details().empty()) return -1;
  int code = -1;
  const bool parsed = ForEachField(
      status.error_details(),
      [&](uint32_t field, uint32_t wire_type, std::string, uint64_t value) {
        if (field == 1 && wire_type == kVarint) code = static_cast<int>(value);
      });
  return parsed ? code : -1;
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  std::vector<FieldViolation> violations = BadRequestViolations(status);
  if (code == absl::StatusCode::kInvalidArgument && !violations.empty()) {
    const absl::string_view url(kFieldViolationsPayloadUrl.data(),
                                kFieldViolationsPayloadUrl.size());
    const absl::Status with =
        InvalidArgumentWithViolations("request", violations);
    absl::Status out(code, status.error_message());
    if (absl::optional<absl::Cord> payload = with.GetPayload(url)) {
      out.SetPayload(url, *std::move(payload));
    }
    return out;
  }
  return absl::Status(code, status.error_message());
}

}  // namespace crm::contact::api
