// Reflection helpers: work on one named field of a message. Internal.
#pragma once

#include <string_view>

#include "google/protobuf/message.h"

namespace crm::contact::internal {

// The field named `name`. REQUIRES: it exists (the callers pass paths they
// validated against a fixed list).
const google::protobuf::FieldDescriptor* FieldNamed(
    const google::protobuf::Message& message, std::string_view name);

// Sets field `name` of *to to its value in `from` (same message type).
void CopyProtoField(const google::protobuf::Message& from,
                    google::protobuf::Message* to, std::string_view name);

// Whether field `name` has the same value in a and b.
bool ProtoFieldEquals(const google::protobuf::Message& a,
                      const google::protobuf::Message& b,
                      std::string_view name);

// Whether field `name` is empty (default scalar, unset message, no
// elements).
bool ProtoFieldEmpty(const google::protobuf::Message& message,
                     std::string_view name);

// Whether field `name` is repeated.
bool ProtoFieldRepeated(const google::protobuf::Message& message,
                        std::string_view name);

// Sets repeated field `name` of *out to a's elements followed by b's whose
// key is not among a's. The key of an EmailAddress is its normalized form,
// of a PhoneNumber its E.164 form (each falling back to the entered text),
// of any other element its serialization or string value.
void UnionProtoField(const google::protobuf::Message& a,
                     const google::protobuf::Message& b,
                     google::protobuf::Message* out, std::string_view name);

}  // namespace crm::contact::internal
