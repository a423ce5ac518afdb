#include "crm/contact/domain/upcaster.h"

#include "crm/base/status_macros.h"
#include "crm/contact/domain/normalize.h"
#include "crm/contact/v1/contact_events.pb.h"
#include "fmt/format.h"
#include "validation.h"

namespace crm::contact {
namespace {

using common::v1::EventEnvelope;

// A chain longer than this is a registration bug (a cycle cannot happen, as
// each step raises the version, but the bound keeps the loop obviously
// finite).
constexpr int kMaxSteps = 64;

uint32_t VersionOf(const EventEnvelope& envelope) {
  return envelope.schema_version() == 0 ? 1 : envelope.schema_version();
}

// "Ada King Lovelace" -> ("Ada King", "Lovelace"); "Plato" -> ("Plato", "").
std::pair<std::string, std::string> SplitFullName(std::string_view full_name) {
  std::string name;
  for (char c : internal::Trim(full_name)) {
    bool space = c == ' ' || c == '\t';
    if (space && (name.empty() || name.back() == ' ')) continue;
    name.push_back(space ? ' ' : c);
  }
  size_t last_space = name.rfind(' ');
  if (last_space == std::string::npos) return {name, ""};
  return {name.substr(0, last_space), name.substr(last_space + 1)};
}

v1::ContactPersonalData UpcastPersonalData(
    const v1::ContactPersonalDataV1& old) {
  v1::ContactPersonalData data;
  auto [given, family] = SplitFullName(old.full_name());
  data.set_given_name(std::move(given));
  data.set_family_name(std::move(family));
  if (!old.email().empty()) {
    v1::EmailAddress* email = data.add_emails();
    email->set_address(internal::Trim(old.email()));
    // Old data may not pass today's rules; it is kept, only not normalized.
    absl::StatusOr<std::string> normalized = NormalizeEmail(old.email());
    if (normalized.ok()) email->set_normalized(*normalized);
  }
  if (!old.phone().empty()) {
    v1::PhoneNumber* phone = data.add_phones();
    phone->set_number(internal::Trim(old.phone()));
    absl::StatusOr<std::string> e164 = NormalizePhoneE164(old.phone(), "");
    if (e164.ok()) phone->set_e164(*e164);
  }
  return data;
}

absl::StatusOr<EventEnvelope> UpcastContactCreatedV1(
    EventEnvelope envelope, const UpcastContext& context) {
  v1::ContactCreatedV1 old;
  if (!old.ParseFromString(envelope.payload())) {
    return absl::DataLossError(
        "the payload does not parse as ContactCreatedV1");
  }
  v1::ContactCreated created;
  created.set_contact_id(old.contact_id());
  created.set_owner(old.owner());
  created.set_source("api");
  const v1::SealedData& sealed = old.sealed_personal();
  if (!sealed.key_id().empty()) {
    if (context.sealer == nullptr) {
      return absl::FailedPreconditionError(
          "upcasting ContactCreated v1 needs a sealer to re-seal the personal "
          "data; pass one in the UpcastContext");
    }
    v1::ContactPersonalDataV1 old_data;
    absl::Status opened = OpenMessage(*context.sealer, sealed, &old_data);
    if (IsKeyErased(opened)) {
      // The person was erased: nothing is readable, and nothing may be
      // sealed under the deleted key. Keep the key id so readers see why.
      created.mutable_sealed_personal()->set_key_id(sealed.key_id());
    } else {
      RETURN_IF_ERROR(opened);
      ASSIGN_OR_RETURN(*created.mutable_sealed_personal(),
                       SealMessage(*context.sealer, sealed.key_id(),
                                   UpcastPersonalData(old_data)));
    }
  }
  envelope.set_payload(created.SerializeAsString());
  envelope.set_schema_version(2);
  return envelope;
}

}  // namespace

absl::Status UpcasterRegistry::Register(std::string type, uint32_t from_version,
                                        UpcastFunction fn) {
  if (type.empty() || from_version == 0) {
    return absl::InvalidArgumentError(
        "an upcaster needs an event type and a schema version from 1");
  }
  std::string name = type;
  auto [it, inserted] = upcasters_.emplace(
      std::make_pair(std::move(type), from_version), std::move(fn));
  if (!inserted) {
    return absl::AlreadyExistsError(
        fmt::format("an upcaster for {} version {} is registered already", name,
                    from_version));
  }
  return absl::OkStatus();
}

absl::StatusOr<EventEnvelope> UpcasterRegistry::Upcast(
    EventEnvelope envelope, const UpcastContext& context) const {
  for (int step = 0; step < kMaxSteps; ++step) {
    uint32_t version = VersionOf(envelope);
    auto it = upcasters_.find(std::make_pair(envelope.type(), version));
    if (it == upcasters_.end()) return envelope;
    std::string type = envelope.type();
    std::string event_id = envelope.event_id();
    absl::StatusOr<EventEnvelope> next =
        it->second(std::move(envelope), context);
    if (!next.ok()) {
      return absl::Status(
          next.status().code(),
          fmt::format("upcasting {} schema version {} (event {}): {}", type,
                      version, event_id, std::string(next.status().message())));
    }
    if (VersionOf(*next) != version + 1) {
      return absl::FailedPreconditionError(fmt::format(
          "the upcaster of {} version {} produced version {} instead of {}",
          type, version, VersionOf(*next), version + 1));
    }
    envelope = *std::move(next);
  }
  return absl::FailedPreconditionError(fmt::format(
      "upcasting {} took more than {} steps", envelope.type(), kMaxSteps));
}

const UpcasterRegistry& ContactUpcasters() {
  static const UpcasterRegistry* const registry = [] {
    auto* built = new UpcasterRegistry();
    // Registering into a fresh registry cannot collide.
    built
        ->Register(v1::ContactCreated::descriptor()->full_name(), 1,
                   UpcastContactCreatedV1)
        .IgnoreError();
    return built;
  }();
  return *registry;
}

}  // namespace crm::contact
