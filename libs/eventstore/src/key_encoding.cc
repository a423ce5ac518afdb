#include "key_encoding.h"

namespace crm::eventstore::internal {
namespace {

void AppendBigEndian64(uint64_t value, std::string& out) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

}  // namespace

std::string EncodePosition(uint64_t position) {
  std::string key;
  key.reserve(8);
  AppendBigEndian64(position, key);
  return key;
}

std::optional<uint64_t> DecodePosition(std::string_view key) {
  if (key.size() != 8) return std::nullopt;
  uint64_t value = 0;
  for (char c : key) value = (value << 8) | static_cast<unsigned char>(c);
  return value;
}

std::string StreamIndexKey(std::string_view stream, uint64_t version) {
  std::string key;
  key.reserve(stream.size() + 9);
  key.append(stream);
  key.push_back('\0');
  AppendBigEndian64(version, key);
  return key;
}

}  // namespace crm::eventstore::internal
