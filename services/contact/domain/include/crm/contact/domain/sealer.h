// Sealing personal data per person (crypto-shredding, DESIGN.md §3).
//
// Events keep personal data only as v1::SealedData: the serialized plaintext
// message, encrypted with the key of the person it is about. Deleting that key
// (erasure) makes every copy unreadable while the log stays intact. The
// domain seals through this interface; crm::contact_crypto implements it
// with AES-256-GCM (AesGcmSealer).
//
//   ASSIGN_OR_RETURN(v1::SealedData sealed,
//                    SealMessage(sealer, KeyIdFor(tenant, contact_id), data));
//   v1::ContactPersonalData back;
//   absl::Status opened = OpenMessage(sealer, sealed, &back);
//   if (IsKeyErased(opened)) { ... the person was erased ... }
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crm/contact/v1/contact_types.pb.h"
#include "google/protobuf/message_lite.h"

namespace crm::contact {

// Encrypts and decrypts personal data under per-subject keys.
// Implementations are thread-safe.
class PersonalDataSealer {
 public:
  virtual ~PersonalDataSealer() = default;

  // Seals `plaintext` under the key `key_id` (made by KeyIdFor), creating the
  // key when the subject has none yet.
  // Errors: FAILED_PRECONDITION (with IsKeyErased) when the key was deleted:
  // nothing may be written for an erased person; UNAVAILABLE or INTERNAL
  // when the key store or the cipher fails.
  virtual absl::StatusOr<v1::SealedData> Seal(std::string_view key_id,
                                              std::string_view plaintext) = 0;

  // Opens what Seal produced and returns the plaintext.
  // Errors: FAILED_PRECONDITION with IsKeyErased(status) when the key was
  // deleted (the person was erased: read the record as erased); NOT_FOUND
  // when the key never existed; DATA_LOSS when the ciphertext fails
  // authentication (tampered, or sealed under another key id);
  // INVALID_ARGUMENT when the SealedData is malformed.
  virtual absl::StatusOr<std::string> Open(const v1::SealedData& sealed) = 0;
};

// The key id of a subject (a contact, or an account for data about no
// person): "<tenant>/<subject_id>".
std::string KeyIdFor(std::string_view tenant, std::string_view subject_id);

// The status a sealer returns for a deleted key: FAILED_PRECONDITION with a
// payload IsKeyErased recognises; the message names the key id (not
// personal) and says the person was erased.
absl::Status KeyErasedError(std::string_view key_id);

// True for a status made by KeyErasedError.
bool IsKeyErased(const absl::Status& status);

// Serializes `message` and seals it under key_id.
absl::StatusOr<v1::SealedData> SealMessage(
    PersonalDataSealer& sealer, std::string_view key_id,
    const google::protobuf::MessageLite& message);

// Opens `sealed` into *message (cleared first). Errors as Open, and
// DATA_LOSS when the plaintext does not parse as the message. An empty
// SealedData (no key id) opens as an empty message.
absl::Status OpenMessage(PersonalDataSealer& sealer,
                         const v1::SealedData& sealed,
                         google::protobuf::MessageLite* message);

}  // namespace crm::contact
