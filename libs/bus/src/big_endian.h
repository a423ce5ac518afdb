// Fixed-width big-endian integers in keys and values (so that RocksDB's
// bytewise order is numeric order; docs/storage-format.md). Internal to
// libs/bus.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace crm::bus {

// Appends the low `bytes` bytes of `value`, most significant first.
inline void PutBigEndian(std::string& out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  }
}

// The value of up to 8 bytes, most significant first.
inline uint64_t GetBigEndian(std::string_view in) {
  uint64_t value = 0;
  for (char c : in) value = (value << 8) | static_cast<uint8_t>(c);
  return value;
}

}  // namespace crm::bus
