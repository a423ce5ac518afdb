// UUIDs in text form, as the suite writes them: 8-4-4-4-12 hex digits.
//
//   std::string id = crm::base::NewRandomUuid();   // version 4
//   crm::base::FormatUuid(bytes);                  // 16 bytes -> text
//   crm::base::IsUuid(text);                       // any case
//   crm::base::IsCanonicalUuid(text);              // lower case only
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/random/random.h"

namespace crm::base {

// The text form of 16 bytes, lower case.
inline std::string FormatUuid(const uint8_t* bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0xf]);
  }
  return out;
}

// A new random (version 4, variant 10) UUID, lower case. absl::BitGen is
// seeded from the OS once per thread and then runs in user space: a syscall
// per id would cost more than the rest of preparing an event.
inline std::string NewRandomUuid() {
  thread_local absl::BitGen generator;
  uint8_t bytes[16];
  for (int word = 0; word < 2; ++word) {
    const uint64_t bits = absl::Uniform<uint64_t>(generator);
    for (int i = 0; i < 8; ++i) {
      bytes[word * 8 + i] = static_cast<uint8_t>(bits >> (56 - 8 * i));
    }
  }
  bytes[6] = static_cast<uint8_t>((bytes[6] & 0x0f) | 0x40);  // Version 4.
  bytes[8] = static_cast<uint8_t>((bytes[8] & 0x3f) | 0x80);  // Variant 10.
  return FormatUuid(bytes);
}

namespace uuid_internal {
inline bool HasUuidShape(std::string_view text, bool lower_case_only) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                 (!lower_case_only && c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}
}  // namespace uuid_internal

// True for 8-4-4-4-12 hex digits, in either case.
inline bool IsUuid(std::string_view text) {
  return uuid_internal::HasUuidShape(text, /*lower_case_only=*/false);
}

// True for the canonical form: 8-4-4-4-12 lower-case hex digits (what
// FormatUuid writes), so that equal ids are equal strings.
inline bool IsCanonicalUuid(std::string_view text) {
  return uuid_internal::HasUuidShape(text, /*lower_case_only=*/true);
}

}  // namespace crm::base
