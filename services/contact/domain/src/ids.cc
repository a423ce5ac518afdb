#include "crm/contact/domain/ids.h"

#include <array>
#include <cstdint>
#include <cstdlib>

#include "crm/base/uuid.h"
#include "fmt/format.h"
#include "openssl/evp.h"

namespace crm::contact {
namespace {

// The suite's root namespace for DeriveId (a fixed random v4 UUID); never
// change it, or every derived id changes.
constexpr std::array<uint8_t, 16> kRootNamespace = {
    0x3b, 0x8e, 0x51, 0x0c, 0x6a, 0x2f, 0x4d, 0x7e,
    0x9c, 0x41, 0x0f, 0xa2, 0x5d, 0x13, 0x88, 0xe6};

std::string_view StreamPrefix(RecordType type) {
  switch (type) {
    case RecordType::kContact:
      return "contact-";
    case RecordType::kAccount:
      return "account-";
    case RecordType::kActivity:
      return "activity-";
  }
  return "";
}

std::string_view CollectionId(RecordType type) {
  switch (type) {
    case RecordType::kContact:
      return "contacts/";
    case RecordType::kAccount:
      return "accounts/";
    case RecordType::kActivity:
      return "activities/";
  }
  return "";
}

// UUIDv5: SHA-1 of namespace bytes and name, version and variant bits set.
std::array<uint8_t, 16> UuidV5(const uint8_t* name_space,
                               std::string_view name) {
  std::string input(reinterpret_cast<const char*>(name_space), 16);
  input.append(name);
  std::array<uint8_t, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_size = 0;
  // SHA-1 of memory fails only when OpenSSL cannot allocate; an id must
  // never be wrong, so that is fatal.
  if (EVP_Digest(input.data(), input.size(), digest.data(), &digest_size,
                 EVP_sha1(), nullptr) != 1) {
    std::abort();
  }
  std::array<uint8_t, 16> uuid{};
  std::copy(digest.begin(), digest.begin() + 16, uuid.begin());
  uuid[6] = static_cast<uint8_t>((uuid[6] & 0x0f) | 0x50);
  uuid[8] = static_cast<uint8_t>((uuid[8] & 0x3f) | 0x80);
  return uuid;
}

}  // namespace

bool IsCanonicalUuid(std::string_view id) { return base::IsCanonicalUuid(id); }

std::string DeriveId(std::string_view name_space, std::string_view key) {
  std::array<uint8_t, 16> ns = UuidV5(kRootNamespace.data(), name_space);
  std::array<uint8_t, 16> id = UuidV5(ns.data(), key);
  return base::FormatUuid(id.data());
}

std::string StreamName(RecordType type, std::string_view id) {
  return fmt::format("{}{}", StreamPrefix(type), id);
}

std::string ResourceName(RecordType type, std::string_view id) {
  return fmt::format("{}{}", CollectionId(type), id);
}

absl::StatusOr<RecordRef> ParseStreamName(std::string_view stream) {
  for (RecordType type :
       {RecordType::kContact, RecordType::kAccount, RecordType::kActivity}) {
    std::string_view prefix = StreamPrefix(type);
    if (stream.substr(0, prefix.size()) == prefix &&
        IsCanonicalUuid(stream.substr(prefix.size()))) {
      return RecordRef{type, std::string(stream.substr(prefix.size()))};
    }
  }
  return absl::InvalidArgumentError(
      fmt::format("stream '{}' is not 'contact-<uuid>', 'account-<uuid>' or "
                  "'activity-<uuid>'",
                  stream.substr(0, 128)));
}

absl::StatusOr<std::string> ParseResourceName(RecordType type,
                                              std::string_view name) {
  std::string_view collection = CollectionId(type);
  if (name.substr(0, collection.size()) == collection &&
      IsCanonicalUuid(name.substr(collection.size()))) {
    return std::string(name.substr(collection.size()));
  }
  return absl::InvalidArgumentError(
      fmt::format("'{}' is not a resource name of the form '{}<uuid>' with a "
                  "lower-case canonical UUID",
                  name.substr(0, 128), collection));
}

}  // namespace crm::contact
