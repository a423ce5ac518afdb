#include "crm/contact/crypto/aes_gcm_sealer.h"

#include <memory>

#include "crm/base/status_macros.h"
#include "fmt/format.h"
#include "openssl/evp.h"
#include "openssl/rand.h"

namespace crm::contact {
namespace {

constexpr int kNonceBytes = 12;
constexpr int kTagBytes = 16;
// Plaintexts are single records; far below this.
constexpr size_t kMaxPlaintextBytes = size_t{16} * 1024 * 1024;

struct CipherContextDeleter {
  void operator()(EVP_CIPHER_CTX* context) const {
    EVP_CIPHER_CTX_free(context);
  }
};
using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, CipherContextDeleter>;

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

absl::Status CipherFailed(std::string_view step) {
  return absl::InternalError(
      fmt::format("AES-256-GCM {} failed in OpenSSL", step));
}

}  // namespace

absl::StatusOr<v1::SealedData> AesGcmSealer::Seal(std::string_view key_id,
                                                  std::string_view plaintext) {
  if (key_id.empty()) {
    return absl::InvalidArgumentError("sealing needs a key id");
  }
  if (plaintext.size() > kMaxPlaintextBytes) {
    return absl::InvalidArgumentError(fmt::format(
        "a sealed plaintext has at most {} bytes", kMaxPlaintextBytes));
  }
  ASSIGN_OR_RETURN(DataKey key, keys_->GetOrCreate(key_id));
  std::string nonce(kNonceBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), kNonceBytes) !=
      1) {
    return absl::InternalError("the random source failed; retry");
  }
  CipherContext context(EVP_CIPHER_CTX_new());
  if (!context) return CipherFailed("context allocation");
  int length = 0;
  std::string ciphertext(plaintext.size() + kTagBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(ciphertext.data());
  if (EVP_EncryptInit_ex(context.get(), EVP_aes_256_gcm(), nullptr, nullptr,
                         nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes,
                          nullptr) != 1 ||
      EVP_EncryptInit_ex(context.get(), nullptr, nullptr, key.data(),
                         Bytes(nonce)) != 1) {
    return CipherFailed("initialisation");
  }
  if (EVP_EncryptUpdate(context.get(), nullptr, &length, Bytes(key_id),
                        static_cast<int>(key_id.size())) != 1) {
    return CipherFailed("authenticated data");
  }
  int written = 0;
  if (!plaintext.empty() &&
      EVP_EncryptUpdate(context.get(), out, &written, Bytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1) {
    return CipherFailed("encryption");
  }
  if (EVP_EncryptFinal_ex(context.get(), out + written, &length) != 1) {
    return CipherFailed("finalisation");
  }
  written += length;
  if (EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          out + written) != 1) {
    return CipherFailed("tag");
  }
  ciphertext.resize(static_cast<size_t>(written) + kTagBytes);
  v1::SealedData sealed;
  sealed.set_key_id(std::string(key_id));
  sealed.set_nonce(std::move(nonce));
  sealed.set_ciphertext(std::move(ciphertext));
  return sealed;
}

absl::StatusOr<std::string> AesGcmSealer::Open(const v1::SealedData& sealed) {
  if (sealed.key_id().empty()) {
    return absl::InvalidArgumentError("sealed data without a key id");
  }
  ASSIGN_OR_RETURN(DataKey key, keys_->Get(sealed.key_id()));
  if (sealed.nonce().size() != kNonceBytes ||
      sealed.ciphertext().size() < static_cast<size_t>(kTagBytes)) {
    return absl::InvalidArgumentError(fmt::format(
        "sealed data under key {} is malformed: it needs a {}-byte nonce and "
        "a ciphertext with a {}-byte tag",
        sealed.key_id(), kNonceBytes, kTagBytes));
  }
  std::string_view ciphertext = sealed.ciphertext();
  std::string_view body = ciphertext.substr(0, ciphertext.size() - kTagBytes);
  std::string tag(ciphertext.substr(body.size()));
  CipherContext context(EVP_CIPHER_CTX_new());
  if (!context) return CipherFailed("context allocation");
  int length = 0;
  if (EVP_DecryptInit_ex(context.get(), EVP_aes_256_gcm(), nullptr, nullptr,
                         nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes,
                          nullptr) != 1 ||
      EVP_DecryptInit_ex(context.get(), nullptr, nullptr, key.data(),
                         Bytes(sealed.nonce())) != 1) {
    return CipherFailed("initialisation");
  }
  if (EVP_DecryptUpdate(context.get(), nullptr, &length, Bytes(sealed.key_id()),
                        static_cast<int>(sealed.key_id().size())) != 1) {
    return CipherFailed("authenticated data");
  }
  std::string plaintext(body.size(), '\0');
  auto* out = reinterpret_cast<unsigned char*>(plaintext.data());
  int written = 0;
  if (!body.empty() &&
      EVP_DecryptUpdate(context.get(), out, &written, Bytes(body),
                        static_cast<int>(body.size())) != 1) {
    return CipherFailed("decryption");
  }
  if (EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes,
                          tag.data()) != 1) {
    return CipherFailed("tag");
  }
  if (EVP_DecryptFinal_ex(context.get(), out + written, &length) != 1) {
    return absl::DataLossError(fmt::format(
        "sealed data under key {} fails authentication: it was altered or "
        "sealed under another key",
        sealed.key_id()));
  }
  plaintext.resize(static_cast<size_t>(written) + static_cast<size_t>(length));
  return plaintext;
}

}  // namespace crm::contact
