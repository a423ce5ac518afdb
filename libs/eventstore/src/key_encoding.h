// Key encodings of the store's column families (docs/storage-format.md).
// Integers are big-endian so that RocksDB's bytewise order is numeric order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace crm::eventstore::internal {

// Column family names. The "es_" prefix is reserved for the store.
inline constexpr char kLogFamily[] = "es_log";
inline constexpr char kStreamIndexFamily[] = "es_stream_index";
inline constexpr char kStreamsFamily[] = "es_streams";
inline constexpr char kStreamMetadataFamily[] = "es_stream_metadata";
inline constexpr char kSnapshotsFamily[] = "es_snapshots";
inline constexpr char kRequestsFamily[] = "es_requests";
inline constexpr char kReservedFamilyPrefix[] = "es_";

// Key in the default column family holding the on-disk format version as
// decimal text.
inline constexpr char kFormatVersionKey[] = "es_format_version";

// es_log key: the global position, 8 bytes big-endian.
std::string EncodePosition(uint64_t position);
// nullopt when `key` is not 8 bytes.
std::optional<uint64_t> DecodePosition(std::string_view key);

// es_stream_index key: the stream name, a 0x00 byte, then the version as
// 8 bytes big-endian. Stream names have no control characters, so the 0x00
// keeps each stream's keys together and ordered by version.
std::string StreamIndexKey(std::string_view stream, uint64_t version);

}  // namespace crm::eventstore::internal
