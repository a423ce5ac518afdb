// Reading a CSV file of contacts for `crmctl import`: libcsv splits the
// records, CsvColumns maps a record to an ImportRow by the header's column
// names (docs/crmctl.md lists them).
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crm/contact/v1/contact_service.pb.h"

struct csv_parser;

namespace crm::crmctl {

// Which field of an ImportRow each column fills.
class CsvColumns {
 public:
  // From the header record. INVALID_ARGUMENT naming every unknown column (a
  // typo would lose data silently), a column named twice, or a header
  // without any name column.
  static absl::StatusOr<CsvColumns> FromHeader(
      const std::vector<std::string>& header);

  // The row of record number `record` (the header is 1). Its key is the
  // row_key column when there is one, else the record number. Values with
  // several parts (emails, phones, tags) are separated by ';'.
  // INVALID_ARGUMENT when the record has another number of fields than the
  // header.
  absl::StatusOr<contact::v1::ImportRow> Map(
      const std::vector<std::string>& fields, int64_t record) const;

  // The field a column fills (csv_rows.cc).
  enum class Target;

 private:
  std::vector<Target> targets_;
};

// Reads a CSV file record by record (RFC 4180: quoted fields may hold
// commas, quotes and line breaks). Not thread-safe.
class CsvReader {
 public:
  // NOT_FOUND when the file cannot be opened.
  static absl::StatusOr<std::unique_ptr<CsvReader>> Open(
      const std::string& path);
  ~CsvReader();

  // The next record, or nullopt at the end of the file. INVALID_ARGUMENT
  // for malformed CSV (the message says where).
  absl::StatusOr<std::optional<std::vector<std::string>>> Next();

  // Bytes read so far and the file's size, for a progress bar.
  uint64_t bytes_read() const { return bytes_read_; }
  uint64_t file_size() const { return file_size_; }

 private:
  CsvReader(std::FILE* file, uint64_t size);
  static void OnField(void* data, size_t size, void* reader);
  static void OnRecord(int terminator, void* reader);

  std::FILE* file_;
  std::unique_ptr<csv_parser> parser_;
  uint64_t file_size_;
  uint64_t bytes_read_ = 0;
  bool finished_ = false;
  std::vector<std::string> field_buffer_;
  std::vector<std::vector<std::string>> ready_;  // Parsed, not returned yet.
  size_t next_ready_ = 0;
};

}  // namespace crm::crmctl
