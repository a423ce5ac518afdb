#include "crm/contact/projections/quality_projections.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "crm/base/status_macros.h"
#include "crm/contact/domain/completeness.h"
#include "crm/contact/domain/event_codec.h"
#include "crm/contact/domain/ids.h"
#include "crm/contact/domain/normalize.h"
#include "crm/contact/projections/account_projections.h"
#include "crm/contact/projections/contact_record.h"
#include "fmt/format.h"

namespace crm::contact::projections {
namespace {

// Index entries one Scan reads.
constexpr size_t kChunk = 256;

// The key spaces (see the header); `space` is one of "cr", "ck", "cx", "ci",
// "ar", "ak", "ax", "ai".
std::string Key(std::string_view tenant, std::string_view space,
                std::string_view rest) {
  return fmt::format("{}/{}/{}", tenant, space, rest);
}

std::string_view Space(QualityRecord kind, char what) {
  static constexpr std::string_view kContact[] = {"ck", "cx", "ci"};
  static constexpr std::string_view kAccount[] = {"ak", "ax", "ai"};
  const size_t i = what == 'k' ? 0 : what == 'x' ? 1 : 2;
  return kind == QualityRecord::kContact ? kContact[i] : kAccount[i];
}

std::string IndexEntryKey(std::string_view tenant, QualityRecord kind,
                          std::string_view blocking_key, std::string_view id) {
  return Key(tenant, Space(kind, 'x'),
             fmt::format("{}{}{}", blocking_key, '\0', id));
}

std::vector<std::string> Split(std::string_view text, char separator) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(separator, start);
    out.emplace_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

std::string Join(const std::vector<std::string>& parts, char separator) {
  std::string out;
  for (const std::string& part : parts) {
    if (!out.empty()) out.push_back(separator);
    out += part;
  }
  return out;
}

std::string SortedWords(std::string_view name_key) {
  std::vector<std::string> words = Split(name_key, ' ');
  words.erase(std::remove(words.begin(), words.end(), std::string()),
              words.end());
  std::sort(words.begin(), words.end());
  return Join(words, ' ');
}

std::vector<std::string> Unique(std::vector<std::string> keys) {
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

// Replaces the record's index entries by those of `keys`.
absl::Status ReplaceBlockingKeys(const projection::Envelope& event,
                                 projection::ProjectionWriter& writer,
                                 QualityRecord kind, std::string_view tenant,
                                 std::string_view id,
                                 const std::vector<std::string>& keys) {
  const std::string keys_key = Key(tenant, Space(kind, 'k'), id);
  ASSIGN_OR_RETURN(std::optional<std::string> old,
                   OwnRecordBefore(event, writer, keys_key));
  const std::vector<std::string> old_keys =
      old.has_value() ? Split(*old, '\0') : std::vector<std::string>();
  for (const std::string& key : old_keys) {
    if (!std::binary_search(keys.begin(), keys.end(), key)) {
      writer.Delete(IndexEntryKey(tenant, kind, key, id));
    }
  }
  for (const std::string& key : keys) {
    writer.Put(IndexEntryKey(tenant, kind, key, id), "");
  }
  if (keys.empty()) {
    writer.Delete(keys_key);
  } else {
    writer.Put(keys_key, Join(keys, '\0'));
  }
  return absl::OkStatus();
}

// Incomplete-record facts: "<missing paths, comma-separated>\n<owner>".
std::string EncodeFacts(const std::vector<std::string>& missing,
                        std::string_view owner) {
  return fmt::format("{}\n{}", Join(missing, ','), owner);
}

absl::Status PutFacts(projection::ProjectionWriter& writer, QualityRecord kind,
                      std::string_view tenant, std::string_view id,
                      const absl::StatusOr<std::vector<std::string>>& missing,
                      std::string_view owner) {
  RETURN_IF_ERROR(missing.status());
  writer.Put(Key(tenant, Space(kind, 'i'), id), EncodeFacts(*missing, owner));
  return absl::OkStatus();
}

bool IsActive(const ContactState& state) {
  return state.exists() && !state.deleted && !state.erased &&
         state.merged_into.empty();
}

bool IsActive(const AccountState& state) {
  return state.exists() && !state.deleted && state.merged_into.empty();
}

absl::Status ApplyContact(const projection::Envelope& event,
                          std::string_view id,
                          projection::ProjectionWriter& writer,
                          PersonalDataSealer& sealer) {
  const std::string& tenant = event.tenant();
  ASSIGN_OR_RETURN(ContactEvent decoded,
                   ReadContactEvent(event, UpcastContext{&sealer}));
  const std::string record_key = Key(tenant, "cr", id);
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   OwnRecordBefore(event, writer, record_key));
  ContactState state;
  if (value.has_value()) {
    ASSIGN_OR_RETURN(StoredContact stored, DecodeStoredContact(*value));
    state = ToState(stored, tenant);
  }
  state = crm::contact::Apply(std::move(state), decoded, EventMetaOf(event));
  if (state.id.empty()) state.id = std::string(id);
  writer.Put(record_key, EncodeStoredContact(FromState(state)));

  std::optional<v1::ContactPersonalData> personal;
  if (IsActive(state)) {
    v1::ContactPersonalData opened;
    const absl::Status status =
        OpenMessage(sealer, state.sealed_personal, &opened);
    if (!status.ok() && !IsKeyErased(status)) return status;
    if (status.ok()) personal = std::move(opened);
  }
  std::vector<std::string> keys;
  if (personal.has_value()) {
    keys = ContactBlockingKeys(
        ContactMatchProfileOf(id, *personal, state.account_id, ""));
  }
  RETURN_IF_ERROR(ReplaceBlockingKeys(event, writer, QualityRecord::kContact,
                                      tenant, id, keys));
  if (!personal.has_value()) {
    writer.Delete(Key(tenant, "ci", id));
    return absl::OkStatus();
  }
  ContactFields fields;
  fields.owner = state.owner;
  fields.tags = state.tags;
  fields.account_id = state.account_id;
  fields.personal = *std::move(personal);
  return PutFacts(writer, QualityRecord::kContact, tenant, id,
                  MissingContactFields(fields, ContactFieldPaths()),
                  state.owner);
}

absl::Status ApplyAccount(const projection::Envelope& event,
                          std::string_view id,
                          projection::ProjectionWriter& writer,
                          PersonalDataSealer& sealer) {
  const std::string& tenant = event.tenant();
  ASSIGN_OR_RETURN(AccountEvent decoded,
                   ReadAccountEvent(event, UpcastContext{&sealer}));
  const std::string record_key = Key(tenant, "ar", id);
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   OwnRecordBefore(event, writer, record_key));
  AccountState state;
  if (value.has_value()) {
    v1::Account stored;
    if (!stored.ParseFromString(*value)) {
      return absl::DataLossError(
          "an account of the data_quality projection does not decode; "
          "rebuild it (bump its version)");
    }
    state = AccountStateOf(stored, tenant);
  }
  state = crm::contact::Apply(std::move(state), decoded, EventMetaOf(event));
  if (state.id.empty()) state.id = std::string(id);
  writer.Put(record_key, AccountResource(state).SerializeAsString());

  const bool active = IsActive(state);
  RETURN_IF_ERROR(ReplaceBlockingKeys(
      event, writer, QualityRecord::kAccount, tenant, id,
      active ? AccountBlockingKeys(AccountMatchProfileOf(id, state.profile))
             : std::vector<std::string>()));
  if (!active) {
    writer.Delete(Key(tenant, "ai", id));
    return absl::OkStatus();
  }
  return PutFacts(
      writer, QualityRecord::kAccount, tenant, id,
      MissingAccountFields(CurrentAccountFields(state), AccountFieldPaths()),
      state.owner);
}

}  // namespace

void AddQualityProjections(
    std::vector<std::unique_ptr<projection::Projection>>& list,
    PersonalDataSealer* sealer) {
  list.push_back(std::make_unique<DataQualityProjection>(sealer));
}

absl::Status DataQualityProjection::Apply(
    const projection::Envelope& event, projection::ProjectionWriter& writer) {
  absl::StatusOr<RecordRef> ref = ParseStreamName(event.stream());
  if (!ref.ok()) return absl::OkStatus();
  switch (ref->type) {
    case RecordType::kContact:
      return ApplyContact(event, ref->id, writer, *sealer_);
    case RecordType::kAccount:
      return ApplyAccount(event, ref->id, writer, *sealer_);
    case RecordType::kActivity:
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

std::vector<std::string> ContactBlockingKeys(
    const ContactMatchProfile& profile) {
  std::vector<std::string> keys;
  for (const std::string& email : profile.emails) keys.push_back("e:" + email);
  for (const std::string& phone : profile.phones) keys.push_back("p:" + phone);
  if (!profile.name_key.empty()) {
    keys.push_back("f:" + SortedWords(profile.name_key));
    if (!profile.account_id.empty()) {
      for (const std::string& word : Split(profile.name_key, ' ')) {
        if (!word.empty()) {
          keys.push_back(fmt::format("n:{}@{}", word, profile.account_id));
        }
      }
    }
  }
  return Unique(std::move(keys));
}

std::vector<std::string> AccountBlockingKeys(
    const AccountMatchProfile& profile) {
  std::vector<std::string> keys;
  if (!profile.domain.empty()) keys.push_back("d:" + profile.domain);
  for (const std::string& phone : profile.phones) keys.push_back("p:" + phone);
  if (!profile.name_key.empty()) {
    keys.push_back("f:" + profile.name_key);
    for (const std::string& word : Split(profile.name_key, ' ')) {
      if (word.size() >= 3) keys.push_back("n:" + word);
    }
  }
  return Unique(std::move(keys));
}

absl::StatusOr<std::vector<std::string>> CandidateIds(
    const projection::ProjectionView& view, QualityRecord kind,
    std::string_view tenant, const std::vector<std::string>& keys,
    size_t per_key, size_t total) {
  std::vector<std::string> ids;
  std::set<std::string, std::less<>> seen;
  for (const std::string& key : keys) {
    if (ids.size() >= total) break;
    const std::string prefix = IndexEntryKey(tenant, kind, key, "");
    ASSIGN_OR_RETURN(auto entries, view.Scan(prefix, "", per_key));
    for (const auto& [entry_key, unused] : entries) {
      std::string id = entry_key.substr(prefix.size());
      if (seen.insert(id).second) ids.push_back(std::move(id));
      if (ids.size() >= total) break;
    }
  }
  return ids;
}

absl::StatusOr<BlockingGroups> ScanBlockingGroups(
    const projection::ProjectionView& view, QualityRecord kind,
    std::string_view tenant, std::string_view after_key, size_t per_key,
    size_t max_groups, size_t max_entries) {
  const std::string prefix = Key(tenant, Space(kind, 'x'), "");
  BlockingGroups out;
  // Past every entry of the group `key` (ids follow a NUL).
  auto past = [&](std::string_view key) {
    return fmt::format("{}{}{}", prefix, key, '\x01');
  };
  std::string after = after_key.empty() ? std::string() : past(after_key);
  BlockingGroup current;
  size_t read = 0;
  auto close_group = [&]() {
    if (current.ids.size() >= 2) out.groups.push_back(current);
    out.next_key = current.key;
    current = BlockingGroup();
  };
  while (true) {
    ASSIGN_OR_RETURN(auto entries, view.Scan(prefix, after, kChunk));
    if (entries.empty()) {
      if (!current.key.empty()) close_group();
      out.next_key.clear();  // The end of the index.
      return out;
    }
    bool rescan = false;
    for (const auto& [entry_key, unused] : entries) {
      ++read;
      out.entries_read = read;
      after = entry_key;
      const std::string_view rest =
          std::string_view(entry_key).substr(prefix.size());
      const size_t nul = rest.find('\0');
      if (nul == std::string_view::npos) continue;
      const std::string_view key = rest.substr(0, nul);
      if (key != current.key) {
        if (!current.key.empty()) {
          close_group();
          if (out.groups.size() >= max_groups || read > max_entries) {
            return out;
          }
        }
        current.key = std::string(key);
      }
      current.ids.emplace_back(rest.substr(nul + 1));
      if (current.ids.size() >= per_key) {
        // The rest of this group is not paired by it: skip to the next.
        after = past(current.key);
        rescan = true;
        break;
      }
    }
    if (!rescan && entries.size() < kChunk) {
      if (!current.key.empty()) close_group();
      out.next_key.clear();
      return out;
    }
  }
}

absl::StatusOr<std::vector<std::string>> BlockingKeysOf(
    const projection::ProjectionView& view, QualityRecord kind,
    std::string_view tenant, std::string_view id) {
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   view.Get(Key(tenant, Space(kind, 'k'), id)));
  if (!value.has_value()) return std::vector<std::string>();
  return Split(*value, '\0');
}

absl::StatusOr<std::optional<StoredContact>> GetQualityContact(
    const projection::ProjectionView& view, std::string_view tenant,
    std::string_view id) {
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   view.Get(Key(tenant, "cr", id)));
  if (!value.has_value()) return std::nullopt;
  ASSIGN_OR_RETURN(StoredContact stored, DecodeStoredContact(*value));
  return stored;
}

absl::StatusOr<std::optional<AccountState>> GetQualityAccount(
    const projection::ProjectionView& view, std::string_view tenant,
    std::string_view id) {
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   view.Get(Key(tenant, "ar", id)));
  if (!value.has_value()) return std::nullopt;
  v1::Account stored;
  if (!stored.ParseFromString(*value)) {
    return absl::DataLossError(
        "an account of the data_quality projection does not decode; rebuild "
        "it (bump its version)");
  }
  return AccountStateOf(stored, tenant);
}

absl::StatusOr<IncompletePage> ListIncomplete(
    const projection::ProjectionView& view, const IncompleteQuery& query) {
  const std::string prefix = Key(query.tenant, Space(query.kind, 'i'), "");
  IncompletePage page;
  std::string after =
      query.start_after.empty() ? std::string() : prefix + query.start_after;
  size_t scanned = 0;
  while (page.records.size() < query.page_size && scanned < query.max_scan) {
    const size_t want = std::min(kChunk, query.max_scan - scanned);
    ASSIGN_OR_RETURN(auto entries, view.Scan(prefix, after, want));
    for (const auto& [key, value] : entries) {
      ++scanned;
      after = key;
      const size_t newline = value.find('\n');
      if (newline == std::string::npos) {
        return absl::DataLossError(
            "an incomplete-record entry of the data_quality projection does "
            "not decode; rebuild it (bump its version)");
      }
      if (!query.owner.empty() &&
          std::string_view(value).substr(newline + 1) != query.owner) {
        continue;
      }
      const std::vector<std::string> empty =
          Split(std::string_view(value).substr(0, newline), ',');
      IncompleteEntry entry;
      for (const std::string& path : query.required) {
        if (std::find(empty.begin(), empty.end(), path) != empty.end()) {
          entry.missing.push_back(path);
        }
      }
      if (entry.missing.empty()) continue;
      entry.id = key.substr(prefix.size());
      page.records.push_back(std::move(entry));
      if (page.records.size() == query.page_size) break;
    }
    if (entries.size() < want && page.records.size() < query.page_size) {
      return page;  // The end of the tenant's records.
    }
  }
  ASSIGN_OR_RETURN(auto next, view.Scan(prefix, after, 1));
  if (!next.empty()) page.resume_after = after.substr(prefix.size());
  return page;
}

}  // namespace crm::contact::projections
