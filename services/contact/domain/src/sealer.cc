#include "crm/contact/domain/sealer.h"

#include "absl/strings/cord.h"
#include "crm/base/status_macros.h"
#include "fmt/format.h"

namespace crm::contact {
namespace {

// Debian's Abseil has its own string_view.
constexpr absl::string_view kKeyErasedPayloadUrl =
    "type.crm.dev/crm.contact.KeyErased";

}  // namespace

std::string KeyIdFor(std::string_view tenant, std::string_view subject_id) {
  return fmt::format("{}/{}", tenant, subject_id);
}

absl::Status KeyErasedError(std::string_view key_id) {
  absl::Status status = absl::FailedPreconditionError(
      fmt::format("the key {} was deleted: the person's data was erased and "
                  "cannot be read or written any more",
                  key_id));
  status.SetPayload(kKeyErasedPayloadUrl, absl::Cord(std::string(key_id)));
  return status;
}

bool IsKeyErased(const absl::Status& status) {
  return status.code() == absl::StatusCode::kFailedPrecondition &&
         status.GetPayload(kKeyErasedPayloadUrl).has_value();
}

absl::StatusOr<v1::SealedData> SealMessage(
    PersonalDataSealer& sealer, std::string_view key_id,
    const google::protobuf::MessageLite& message) {
  std::string plaintext;
  if (!message.SerializeToString(&plaintext)) {
    return absl::InternalError(
        fmt::format("cannot serialize {} for sealing", message.GetTypeName()));
  }
  return sealer.Seal(key_id, plaintext);
}

absl::Status OpenMessage(PersonalDataSealer& sealer,
                         const v1::SealedData& sealed,
                         google::protobuf::MessageLite* message) {
  message->Clear();
  if (sealed.key_id().empty() && sealed.ciphertext().empty()) {
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::string plaintext, sealer.Open(sealed));
  if (!message->ParseFromString(plaintext)) {
    return absl::DataLossError(
        fmt::format("data sealed under key {} does not parse as {}",
                    sealed.key_id(), message->GetTypeName()));
  }
  return absl::OkStatus();
}

}  // namespace crm::contact
