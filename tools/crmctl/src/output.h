// How crmctl prints results: human-readable tables by default, one JSON
// object per line (protobuf's JSON mapping) with --json.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "crm/contact/v1/contact_service.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"

namespace crm::crmctl {

// `message` as one line of JSON (field names in lowerCamelCase, enums by
// name, defaults omitted).
void PrintJson(const google::protobuf::Message& message, std::ostream& out);

// A table whose columns are as wide as their widest cell.
class Table {
 public:
  explicit Table(std::vector<std::string> headers)
      : headers_(std::move(headers)) {}
  void AddRow(std::vector<std::string> cells) {
    rows_.push_back(std::move(cells));
  }
  size_t size() const { return rows_.size(); }
  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// RFC 3339 in UTC, seconds precision; "" for an unset timestamp.
std::string FormatTime(const google::protobuf::Timestamp& time);

// "ACTIVE", "DELETED", ...
std::string StateName(contact::v1::RecordState state);

// The columns of a contact in a list, and a row of them.
std::vector<std::string> ContactColumns();
std::vector<std::string> ContactRow(const contact::v1::Contact& contact);

// Every set field of one contact, one "field: value" line each.
void PrintContact(const contact::v1::Contact& contact, std::ostream& out);

}  // namespace crm::crmctl
