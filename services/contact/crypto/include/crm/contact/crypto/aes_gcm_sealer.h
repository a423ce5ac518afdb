// PersonalDataSealer with AES-256-GCM (OpenSSL EVP) and per-subject keys.
//
//   InMemoryKeyProvider keys;
//   AesGcmSealer sealer(&keys);
//   ASSIGN_OR_RETURN(v1::SealedData sealed, sealer.Seal(key_id, plaintext));
//   keys.Delete(key_id);            // erasure
//   sealer.Open(sealed);            // FAILED_PRECONDITION, IsKeyErased
//
// Each Seal draws a fresh random 96-bit nonce; the key id is the additional
// authenticated data, so a ciphertext moved under another key id fails to
// open (DATA_LOSS). The 16-byte tag follows the ciphertext.
#pragma once

#include "crm/contact/crypto/key_provider.h"
#include "crm/contact/domain/sealer.h"

namespace crm::contact {

// Thread-safe if the key provider is.
class AesGcmSealer final : public PersonalDataSealer {
 public:
  // `keys` is not owned and must outlive the sealer.
  explicit AesGcmSealer(KeyProvider* keys) : keys_(keys) {}

  absl::StatusOr<v1::SealedData> Seal(std::string_view key_id,
                                      std::string_view plaintext) override;
  absl::StatusOr<std::string> Open(const v1::SealedData& sealed) override;

 private:
  KeyProvider* keys_;
};

}  // namespace crm::contact
