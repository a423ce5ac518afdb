#include "crm/contact/projections/contact_record.h"

#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "crm/contact/domain/ids.h"
#include "crm/contact/domain/proto_time.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace crm::contact::projections {
namespace {

std::string IdOf(RecordType type, std::string_view name) {
  absl::StatusOr<std::string> id = ParseResourceName(type, name);
  return id.ok() ? *std::move(id) : std::string();
}

}  // namespace

std::string EncodeStoredContact(const StoredContact& contact) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    const std::string clear = contact.clear.SerializeAsString();
    coded.WriteVarint32(static_cast<uint32_t>(clear.size()));
    coded.WriteString(clear);
    coded.WriteString(contact.sealed_personal.SerializeAsString());
  }
  return out;
}

absl::StatusOr<StoredContact> DecodeStoredContact(std::string_view value) {
  google::protobuf::io::CodedInputStream coded(
      reinterpret_cast<const uint8_t*>(value.data()),
      static_cast<int>(value.size()));
  uint32_t clear_size = 0;
  std::string clear;
  StoredContact contact;
  if (!coded.ReadVarint32(&clear_size) ||
      !coded.ReadString(&clear, clear_size) ||
      !contact.clear.ParseFromString(clear)) {
    return absl::DataLossError(
        "a stored contact of a contact projection does not decode; rebuild "
        "the projection (bump its version)");
  }
  const int consumed = coded.CurrentPosition();
  if (!contact.sealed_personal.ParseFromArray(
          value.data() + consumed, static_cast<int>(value.size()) - consumed)) {
    return absl::DataLossError(
        "the sealed part of a stored contact does not decode; rebuild the "
        "projection (bump its version)");
  }
  return contact;
}

StoredContact FromState(const ContactState& state) {
  StoredContact out;
  v1::Contact& c = out.clear;
  c.set_name(ResourceName(RecordType::kContact, state.id));
  if (!state.account_id.empty()) {
    c.set_account(ResourceName(RecordType::kAccount, state.account_id));
  }
  c.set_owner(state.owner);
  for (const std::string& tag : state.tags) c.add_tags(tag);
  if (state.erased) {
    c.set_state(v1::RECORD_STATE_ERASED);
  } else if (!state.merged_into.empty()) {
    c.set_state(v1::RECORD_STATE_MERGED);
    c.set_merged_into(ResourceName(RecordType::kContact, state.merged_into));
  } else if (state.deleted) {
    c.set_state(v1::RECORD_STATE_DELETED);
  } else {
    c.set_state(v1::RECORD_STATE_ACTIVE);
  }
  SetTimestamp(state.create_time, c.mutable_create_time());
  SetTimestamp(state.update_time, c.mutable_update_time());
  if (state.delete_time)
    SetTimestamp(*state.delete_time, c.mutable_delete_time());
  if (state.erase_time) SetTimestamp(*state.erase_time, c.mutable_erase_time());
  c.set_etag(std::to_string(state.version));
  c.set_source(state.source);
  out.sealed_personal = state.sealed_personal;
  return out;
}

ContactState ToState(const StoredContact& contact, std::string_view tenant) {
  const v1::Contact& c = contact.clear;
  ContactState state;
  state.id = IdOf(RecordType::kContact, c.name());
  state.tenant = std::string(tenant);
  state.version = std::stoull(c.etag().empty() ? "0" : c.etag());
  state.owner = c.owner();
  state.tags.assign(c.tags().begin(), c.tags().end());
  state.account_id = IdOf(RecordType::kAccount, c.account());
  state.source = c.source();
  state.sealed_personal = contact.sealed_personal;
  state.deleted = c.has_delete_time();
  state.erased = c.state() == v1::RECORD_STATE_ERASED;
  state.merged_into = IdOf(RecordType::kContact, c.merged_into());
  state.create_time = FromTimestamp(c.create_time());
  state.update_time = FromTimestamp(c.update_time());
  if (c.has_delete_time()) state.delete_time = FromTimestamp(c.delete_time());
  if (c.has_erase_time()) state.erase_time = FromTimestamp(c.erase_time());
  return state;
}

absl::StatusOr<v1::Contact> ToResource(const StoredContact& contact,
                                       PersonalDataSealer& sealer) {
  v1::Contact out = contact.clear;
  v1::ContactPersonalData personal;
  const absl::Status opened =
      OpenMessage(sealer, contact.sealed_personal, &personal);
  if (IsKeyErased(opened)) {
    out.set_state(v1::RECORD_STATE_ERASED);
    return out;
  }
  if (!opened.ok()) return opened;
  out.set_given_name(personal.given_name());
  out.set_family_name(personal.family_name());
  *out.mutable_emails() = personal.emails();
  *out.mutable_phones() = personal.phones();
  *out.mutable_addresses() = personal.addresses();
  out.set_job_title(personal.job_title());
  out.set_birth_date(personal.birth_date());
  out.set_notes(personal.notes());
  return out;
}

absl::StatusOr<std::optional<std::string>> OwnRecordBefore(
    const projection::Envelope& event,
    const projection::ProjectionWriter& writer, std::string_view key) {
  if (event.stream_version() == 1) return std::nullopt;
  return writer.Get(key);
}

}  // namespace crm::contact::projections
