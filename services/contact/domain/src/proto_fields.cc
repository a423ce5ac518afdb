#include "proto_fields.h"

#include <set>
#include <string>
#include <vector>

#include "crm/contact/v1/contact_types.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/message_differencer.h"

namespace crm::contact::internal {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string ElementKey(const Message& message, const FieldDescriptor* field,
                       int index) {
  const Reflection* reflection = message.GetReflection();
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
    return reflection->GetRepeatedString(message, field, index);
  }
  if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
    return std::to_string(index);  // scalars other than strings: never equal
  }
  const Message& element =
      reflection->GetRepeatedMessage(message, field, index);
  if (const auto* email = dynamic_cast<const v1::EmailAddress*>(&element)) {
    return "e:" + (email->normalized().empty() ? email->address()
                                               : email->normalized());
  }
  if (const auto* phone = dynamic_cast<const v1::PhoneNumber*>(&element)) {
    return "p:" + (phone->e164().empty() ? phone->number() : phone->e164());
  }
  return "m:" + element.SerializeAsString();
}

void AppendElement(const Message& from, const FieldDescriptor* field, int index,
                   Message* to) {
  const Reflection* in = from.GetReflection();
  const Reflection* out = to->GetReflection();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      out->AddString(to, field, in->GetRepeatedString(from, field, index));
      break;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      out->AddMessage(to, field)->CopyFrom(
          in->GetRepeatedMessage(from, field, index));
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      out->AddEnumValue(to, field,
                        in->GetRepeatedEnumValue(from, field, index));
      break;
    default:
      break;  // no other repeated types in our messages
  }
}

}  // namespace

const FieldDescriptor* FieldNamed(const Message& message,
                                  std::string_view name) {
  return message.GetDescriptor()->FindFieldByName(std::string(name));
}

void CopyProtoField(const Message& from, Message* to, std::string_view name) {
  const FieldDescriptor* field = FieldNamed(from, name);
  if (field == nullptr) return;
  const Reflection* reflection = to->GetReflection();
  reflection->ClearField(to, field);
  if (field->is_repeated()) {
    int size = from.GetReflection()->FieldSize(from, field);
    for (int i = 0; i < size; ++i) AppendElement(from, field, i, to);
    return;
  }
  const Reflection* in = from.GetReflection();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      reflection->SetString(to, field, in->GetString(from, field));
      break;
    case FieldDescriptor::CPPTYPE_INT32:
      reflection->SetInt32(to, field, in->GetInt32(from, field));
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      reflection->SetEnumValue(to, field, in->GetEnumValue(from, field));
      break;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      if (in->HasField(from, field)) {
        reflection->MutableMessage(to, field)->CopyFrom(
            in->GetMessage(from, field));
      }
      break;
    default:
      break;  // no other singular types in our messages
  }
}

bool ProtoFieldEquals(const Message& a, const Message& b,
                      std::string_view name) {
  const FieldDescriptor* field = FieldNamed(a, name);
  if (field == nullptr) return true;
  google::protobuf::util::MessageDifferencer differencer;
  std::vector<const FieldDescriptor*> fields = {field};
  return differencer.CompareWithFields(a, b, fields, fields);
}

bool ProtoFieldEmpty(const Message& message, std::string_view name) {
  const FieldDescriptor* field = FieldNamed(message, name);
  if (field == nullptr) return true;
  const Reflection* reflection = message.GetReflection();
  if (field->is_repeated()) return reflection->FieldSize(message, field) == 0;
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
    return reflection->GetString(message, field).empty();
  }
  return !reflection->HasField(message, field);
}

bool ProtoFieldRepeated(const Message& message, std::string_view name) {
  const FieldDescriptor* field = FieldNamed(message, name);
  return field != nullptr && field->is_repeated();
}

void UnionProtoField(const Message& a, const Message& b, Message* out,
                     std::string_view name) {
  const FieldDescriptor* field = FieldNamed(a, name);
  if (field == nullptr || !field->is_repeated()) return;
  std::unique_ptr<Message> result(a.New());
  std::set<std::string> keys;
  int a_size = a.GetReflection()->FieldSize(a, field);
  for (int i = 0; i < a_size; ++i) {
    keys.insert(ElementKey(a, field, i));
    AppendElement(a, field, i, result.get());
  }
  int b_size = b.GetReflection()->FieldSize(b, field);
  for (int i = 0; i < b_size; ++i) {
    if (keys.insert(ElementKey(b, field, i)).second) {
      AppendElement(b, field, i, result.get());
    }
  }
  CopyProtoField(*result, out, name);
}

}  // namespace crm::contact::internal
