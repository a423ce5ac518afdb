#include "crm/contact/projections/privacy_projections.h"

#include <optional>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "crm/base/status_macros.h"
#include "crm/contact/domain/contact.h"
#include "crm/contact/domain/event_codec.h"
#include "crm/contact/domain/ids.h"
#include "crm/contact/domain/proto_time.h"
#include "fmt/format.h"

namespace crm::contact::projections {
namespace {

std::string ConsentPrefix(std::string_view tenant, std::string_view id) {
  return fmt::format("{}/{}/", tenant, id);
}

std::string ConsentKey(std::string_view tenant, std::string_view id,
                       std::string_view purpose, v1::ConsentChannel channel) {
  return fmt::format("{}{}/{:02d}", ConsentPrefix(tenant, id), purpose,
                     static_cast<int>(channel));
}

// The domain's view of one stored consent, and back.
ConsentState ToConsentState(const v1::Consent& consent) {
  ConsentState state;
  state.granted = consent.granted();
  state.legal_basis = consent.legal_basis();
  state.source = consent.source();
  if (consent.has_give_time())
    state.give_time = FromTimestamp(consent.give_time());
  if (consent.has_withdraw_time()) {
    state.withdraw_time = FromTimestamp(consent.withdraw_time());
  }
  if (consent.has_expire_time()) {
    state.expire_time = FromTimestamp(consent.expire_time());
  }
  return state;
}

v1::Consent ToConsent(std::string_view id, std::string_view purpose,
                      v1::ConsentChannel channel, const ConsentState& state) {
  v1::Consent consent;
  consent.set_name(ConsentName(id, purpose, channel));
  consent.set_purpose(std::string(purpose));
  consent.set_channel(channel);
  consent.set_granted(state.granted);
  consent.set_legal_basis(state.legal_basis);
  consent.set_source(state.source);
  if (state.give_time)
    *consent.mutable_give_time() = ToTimestamp(*state.give_time);
  if (state.withdraw_time) {
    *consent.mutable_withdraw_time() = ToTimestamp(*state.withdraw_time);
  }
  if (state.expire_time) {
    *consent.mutable_expire_time() = ToTimestamp(*state.expire_time);
  }
  return consent;
}

// Folds a consent event into the stored consent of its (purpose, channel).
template <typename ConsentEvent>
absl::Status FoldConsent(const projection::Envelope& envelope,
                         const ConsentEvent& event, const ContactEvent& decoded,
                         projection::ProjectionWriter& writer) {
  const std::string key = ConsentKey(envelope.tenant(), event.contact_id(),
                                     event.purpose(), event.channel());
  ContactState state;
  ASSIGN_OR_RETURN(std::optional<std::string> value, writer.Get(key));
  if (value.has_value()) {
    v1::Consent stored;
    if (!stored.ParseFromString(*value)) {
      return absl::DataLossError(fmt::format(
          "contact_consents: the entry {} does not decode; rebuild the "
          "projection (bump its version)",
          key));
    }
    state.consents[{event.purpose(), event.channel()}] = ToConsentState(stored);
  }
  state = crm::contact::Apply(std::move(state), decoded, EventMetaOf(envelope));
  writer.Put(key,
             ToConsent(event.contact_id(), event.purpose(), event.channel(),
                       state.consents[{event.purpose(), event.channel()}])
                 .SerializeAsString());
  return absl::OkStatus();
}

}  // namespace

void AddPrivacyProjections(
    std::vector<std::unique_ptr<projection::Projection>>& list,
    PersonalDataSealer* sealer) {
  list.push_back(std::make_unique<ContactConsentsProjection>(sealer));
  list.push_back(std::make_unique<ContactActivitiesProjection>());
}

absl::Status ContactConsentsProjection::Apply(
    const projection::Envelope& event, projection::ProjectionWriter& writer) {
  if (event.type() != v1::ConsentGiven::descriptor()->full_name() &&
      event.type() != v1::ConsentWithdrawn::descriptor()->full_name()) {
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(ContactEvent decoded,
                   ReadContactEvent(event, UpcastContext{sealer_}));
  if (const auto* given = std::get_if<v1::ConsentGiven>(&decoded)) {
    return FoldConsent(event, *given, decoded, writer);
  }
  if (const auto* withdrawn = std::get_if<v1::ConsentWithdrawn>(&decoded)) {
    return FoldConsent(event, *withdrawn, decoded, writer);
  }
  return absl::OkStatus();
}

absl::Status ContactActivitiesProjection::Apply(
    const projection::Envelope& event, projection::ProjectionWriter& writer) {
  if (event.type() != v1::ActivityLogged::descriptor()->full_name()) {
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(ActivityEvent decoded,
                   ReadActivityEvent(event, UpcastContext{nullptr}));
  const auto* logged = std::get_if<v1::ActivityLogged>(&decoded);
  if (logged == nullptr || logged->contact_id().empty()) {
    return absl::OkStatus();
  }
  writer.Put(fmt::format("{}/{}/{}", event.tenant(), logged->contact_id(),
                         logged->activity_id()),
             "");
  return absl::OkStatus();
}

std::string ConsentName(std::string_view contact_id, std::string_view purpose,
                        v1::ConsentChannel channel) {
  std::string channel_name = v1::ConsentChannel_Name(channel);
  constexpr std::string_view kPrefix = "CONSENT_CHANNEL_";
  if (channel_name.starts_with(kPrefix)) {
    channel_name.erase(0, kPrefix.size());
  }
  for (char& c : channel_name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return fmt::format("contacts/{}/consents/{}.{}", contact_id, purpose,
                     channel_name);
}

v1::ConsentChannel ConsentChannelNamed(std::string_view name) {
  for (int value = v1::ConsentChannel_MIN; value <= v1::ConsentChannel_MAX;
       ++value) {
    if (!v1::ConsentChannel_IsValid(value)) continue;
    const auto channel = static_cast<v1::ConsentChannel>(value);
    if (channel == v1::CONSENT_CHANNEL_UNSPECIFIED) continue;
    const std::string full = ConsentName("", "", channel);
    if (std::string_view(full).substr(full.rfind('.') + 1) == name) {
      return channel;
    }
  }
  return v1::CONSENT_CHANNEL_UNSPECIFIED;
}

v1::Consent ConsentOf(v1::Consent stored, absl::Time now) {
  if (stored.granted() && stored.has_expire_time() &&
      FromTimestamp(stored.expire_time()) <= now) {
    stored.set_granted(false);
  }
  return stored;
}

absl::StatusOr<ConsentPage> ListStoredConsents(
    const projection::ProjectionView& view, std::string_view tenant,
    std::string_view contact_id, std::string_view purpose,
    std::string_view start_after, size_t page_size) {
  const std::string prefix =
      purpose.empty()
          ? ConsentPrefix(tenant, contact_id)
          : fmt::format("{}{}/", ConsentPrefix(tenant, contact_id), purpose);
  if (!start_after.empty() && !start_after.starts_with(prefix)) {
    return absl::InvalidArgumentError(
        "page token: it belongs to another list; pass the next_page_token of "
        "the previous page unchanged, or none for the first page");
  }
  ASSIGN_OR_RETURN(auto entries, view.Scan(prefix, start_after, page_size + 1));
  ConsentPage page;
  for (const auto& [key, value] : entries) {
    if (page.consents.size() == page_size) break;
    v1::Consent consent;
    if (!consent.ParseFromString(value)) {
      return absl::DataLossError(fmt::format(
          "contact_consents: the entry {} does not decode; rebuild the "
          "projection (bump its version)",
          key));
    }
    page.consents.push_back(std::move(consent));
    if (entries.size() > page_size) page.resume_after = key;
  }
  return page;
}

absl::StatusOr<std::optional<v1::Consent>> GetStoredConsent(
    const projection::ProjectionView& view, std::string_view tenant,
    std::string_view contact_id, std::string_view purpose,
    v1::ConsentChannel channel) {
  const std::string key = ConsentKey(tenant, contact_id, purpose, channel);
  ASSIGN_OR_RETURN(std::optional<std::string> value, view.Get(key));
  if (!value.has_value()) return std::nullopt;
  v1::Consent consent;
  if (!consent.ParseFromString(*value)) {
    return absl::DataLossError(fmt::format(
        "contact_consents: the entry {} does not decode; rebuild the "
        "projection (bump its version)",
        key));
  }
  return consent;
}

absl::StatusOr<std::vector<std::string>> ListContactActivityIds(
    const projection::ProjectionView& view, std::string_view tenant,
    std::string_view contact_id, std::string_view start_after,
    size_t max_count) {
  const std::string prefix = fmt::format("{}/{}/", tenant, contact_id);
  const std::string after =
      start_after.empty() ? "" : fmt::format("{}{}", prefix, start_after);
  ASSIGN_OR_RETURN(auto entries, view.Scan(prefix, after, max_count));
  std::vector<std::string> ids;
  ids.reserve(entries.size());
  for (const auto& [key, value] : entries) {
    ids.push_back(key.substr(prefix.size()));
  }
  return ids;
}

}  // namespace crm::contact::projections
