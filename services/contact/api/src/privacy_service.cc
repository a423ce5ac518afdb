// Personal data: consent, export, erasure: the ContactService RPCs of this
// area (contact_service.h).
//
// Erasure (crypto-shredding, DESIGN.md §3, docs/privacy.md): EraseContact
// appends ContactErased; the store's commit hook (KeyErasureCommitHook)
// deletes the keys it lists in the same batch. The handler then waits until
// every projection has applied the erasure (so those indexing plaintext
// have deleted their entries), deletes the keys again (idempotent: covers a
// store opened without the hook) and purges the store
// (EventStore::PurgeDeletedData) before it replies, so that no live file
// keeps the deleted key or index bytes. A crash between the append and the
// purge is covered by a mark written before the append (column family
// contact_erasures, the contact id as key) and cleared after the purge:
// ResumePendingErasures, run before the next start serves, purges for the
// marks it finds.
#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "crm/base/status_macros.h"
#include "crm/contact/api/contact_service.h"
#include "crm/contact/api/grpc_status.h"
#include "crm/contact/api/store_key_provider.h"
#include "crm/contact/domain/activity.h"
#include "crm/contact/domain/ids.h"
#include "crm/contact/projections/contact_projections.h"
#include "crm/contact/projections/privacy_projections.h"
#include "crm/contact/v1/contact_events.pb.h"
#include "crm/server/logging.h"
#include "fmt/format.h"
#include "rocksdb/db.h"
#include "rocksdb/iterator.h"
#include "rocksdb/write_batch.h"
#include "service_support.h"

namespace crm::contact::api {
namespace {

using projections::kContactActivitiesProjection;
using projections::kContactConsentsProjection;
using projections::kContactListProjection;
using projections::kContactsByIdProjection;

// The contact as contacts_by_id shows it once it reached `position`;
// NOT_FOUND when it does not exist in the caller's tenant.
absl::StatusOr<v1::Contact> ReadContact(const ServiceDeps& deps,
                                        const grpc::CallbackServerContext& call,
                                        std::string_view tenant,
                                        std::string_view id,
                                        uint64_t position) {
  RETURN_IF_ERROR(WaitFor(deps, call, kContactsByIdProjection, position));
  return CurrentContact(deps, tenant, id);
}

// The consent of (purpose, channel) once the consents read model reached
// `position`.
absl::StatusOr<v1::Consent> ReadConsent(
    const ServiceDeps& deps, const grpc::CallbackServerContext& call,
    const CommandContext& context, std::string_view id,
    std::string_view purpose, v1::ConsentChannel channel, uint64_t position) {
  RETURN_IF_ERROR(WaitFor(deps, call, kContactConsentsProjection, position));
  ASSIGN_OR_RETURN(auto view, deps.engine.View(kContactConsentsProjection));
  ASSIGN_OR_RETURN(std::optional<v1::Consent> consent,
                   projections::GetStoredConsent(*view, context.tenant, id,
                                                 purpose, channel));
  if (!consent.has_value()) {
    return absl::NotFoundError(
        fmt::format("{} does not exist; nothing was given or withdrawn for it",
                    projections::ConsentName(id, purpose, channel)));
  }
  return projections::ConsentOf(*std::move(consent), context.now);
}

struct ConsentRef {
  std::string contact_id;
  std::string purpose;
  v1::ConsentChannel channel = v1::CONSENT_CHANNEL_UNSPECIFIED;
};

// "contacts/<id>/consents/<purpose>.<channel>"; INVALID_ARGUMENT naming
// "name" otherwise.
absl::StatusOr<ConsentRef> ParseConsentName(std::string_view name) {
  constexpr std::string_view kMiddle = "/consents/";
  const size_t middle = name.find(kMiddle);
  const size_t dot = name.rfind('.');
  if (middle == std::string_view::npos || dot == std::string_view::npos ||
      dot < middle + kMiddle.size()) {
    return InvalidField(
        "name",
        "must be contacts/{contact}/consents/{purpose}.{channel}"
        " such as contacts/42/consents/newsletter.email");
  }
  ConsentRef ref;
  ASSIGN_OR_RETURN(ref.contact_id,
                   IdOf(RecordType::kContact, name.substr(0, middle), "name"));
  ref.purpose = std::string(
      name.substr(middle + kMiddle.size(), dot - middle - kMiddle.size()));
  ref.channel = projections::ConsentChannelNamed(name.substr(dot + 1));
  if (ref.channel == v1::CONSENT_CHANNEL_UNSPECIFIED) {
    return InvalidField(
        "name", "the channel must be one of email, sms, phone, post or any");
  }
  return ref;
}

// The key ids the contact's ContactErased lists (its last event once
// erased); empty when it is not erased.
absl::StatusOr<std::vector<std::string>> ShreddedKeyIds(
    eventstore::EventStore& store, std::string_view id) {
  absl::StatusOr<eventstore::StreamSlice> last =
      store.ReadStream(ContactStream(id), eventstore::Direction::kBackward,
                       eventstore::EventStore::kEndOfStream, 1);
  if (absl::IsNotFound(last.status())) return std::vector<std::string>();
  RETURN_IF_ERROR(last.status());
  std::vector<std::string> key_ids;
  for (const eventstore::Envelope& envelope : last->events) {
    if (envelope.type() != v1::ContactErased::descriptor()->full_name()) {
      continue;
    }
    v1::ContactErased erased;
    if (!erased.ParseFromString(envelope.payload())) {
      return absl::DataLossError(fmt::format(
          "the ContactErased of contacts/{} does not parse; the log is "
          "damaged",
          id));
    }
    key_ids.assign(erased.shredded_key_ids().begin(),
                   erased.shredded_key_ids().end());
  }
  return key_ids;
}

// Waits until every projection of the service has applied `position`.
// Erasures whose purge has not finished: the contact id as key, no value.
// Written (synced) before ContactErased is appended, deleted once the store
// is purged; what a crash in between leaves, ResumePendingErasures finds.
constexpr char kErasureColumnFamily[] = "contact_erasures";
// Most marks one ResumePendingErasures call clears (one purge covers them
// all; more are left for the next call).
constexpr size_t kMaxPendingErasures = 10'000;

absl::Status MarkPurgePending(eventstore::EventStore& store,
                              std::string_view id) {
  ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * family,
                   store.CreateColumnFamily(kErasureColumnFamily));
  rocksdb::WriteBatch batch;
  batch.Put(family, rocksdb::Slice(id.data(), id.size()), rocksdb::Slice());
  return store.Write(batch);
}

absl::Status ClearPurgePending(eventstore::EventStore& store,
                               const std::vector<std::string>& ids) {
  if (ids.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * family,
                   store.CreateColumnFamily(kErasureColumnFamily));
  rocksdb::WriteBatch batch;
  for (const std::string& id : ids) batch.Delete(family, id);
  return store.Write(batch);
}

// The contact ids marked pending, at most kMaxPendingErasures.
absl::StatusOr<std::vector<std::string>> PendingErasures(
    eventstore::EventStore& store) {
  ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * family,
                   store.CreateColumnFamily(kErasureColumnFamily));
  std::unique_ptr<rocksdb::Iterator> it(
      store.db().NewIterator(rocksdb::ReadOptions(), family));
  std::vector<std::string> ids;
  for (it->SeekToFirst(); it->Valid() && ids.size() < kMaxPendingErasures;
       it->Next()) {
    ids.push_back(it->key().ToString());
  }
  if (!it->status().ok()) {
    return absl::UnavailableError(fmt::format(
        "reading the pending erasures ({}) failed: {}; check the data "
        "directory's disk",
        kErasureColumnFamily, it->status().ToString()));
  }
  return ids;
}

// Whether nothing was appended for sure when Execute failed with `status`:
// the mark of a refused erasure is cleared at once, the mark of one that
// may have committed stays for ResumePendingErasures.
bool NothingAppended(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kAlreadyExists:
      return true;
    default:
      return false;
  }
}

absl::Status WaitForEveryProjection(const ServiceDeps& deps,
                                    const grpc::CallbackServerContext& call,
                                    uint64_t position) {
  for (const projection::ProjectionStatus& status : deps.engine.Status()) {
    RETURN_IF_ERROR(WaitFor(deps, call, status.name, position));
  }
  return absl::OkStatus();
}

// An activity's resource, its content opened (empty once the person it is
// sealed under was erased).
absl::StatusOr<v1::Activity> ToActivity(const ActivityState& state,
                                        PersonalDataSealer& sealer) {
  v1::Activity activity;
  activity.set_name(ResourceName(RecordType::kActivity, state.id));
  activity.set_kind(state.kind);
  if (!state.contact_id.empty()) {
    activity.set_contact(ResourceName(RecordType::kContact, state.contact_id));
  }
  if (!state.account_id.empty()) {
    activity.set_account(ResourceName(RecordType::kAccount, state.account_id));
  }
  activity.set_owner(state.owner);
  v1::ActivityContent content;
  const absl::Status opened =
      OpenMessage(sealer, state.sealed_content, &content);
  if (!opened.ok() && !IsKeyErased(opened)) return opened;
  activity.set_subject(content.subject());
  activity.set_body(content.body());
  activity.set_location(content.location());
  *activity.mutable_participants() = content.participants();
  activity.set_direction(state.direction);
  if (state.start_time) {
    *activity.mutable_start_time() = ToTimestamp(*state.start_time);
  }
  if (state.end_time)
    *activity.mutable_end_time() = ToTimestamp(*state.end_time);
  if (state.due_time)
    *activity.mutable_due_time() = ToTimestamp(*state.due_time);
  activity.set_done(state.done);
  if (state.complete_time) {
    *activity.mutable_complete_time() = ToTimestamp(*state.complete_time);
  }
  *activity.mutable_create_time() = ToTimestamp(state.create_time);
  *activity.mutable_update_time() = ToTimestamp(state.update_time);
  activity.set_deleted(state.deleted);
  activity.set_etag(std::to_string(state.version));
  return activity;
}

// ExportPersonalData: writes the contact, then its relationships,
// activities, consents and history, one part per write. Parts are made a
// page (kExportPage) at a time, when the previous page has been written,
// so memory stays bounded however much the person has. A failed write
// (the client cancelled or went away) ends the call. Deletes itself in
// OnDone.
class ExportReactor final
    : public grpc::ServerWriteReactor<v1::PersonalDataExportPart> {
 public:
  ExportReactor(const ServiceDeps& deps, grpc::CallbackServerContext* call,
                const v1::ExportPersonalDataRequest& request)
      : deps_(deps), call_(call) {
    const absl::Status started = Begin(request);
    if (!started.ok()) {
      Finish(ToGrpcStatus(started));
      return;
    }
    WriteNext();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                          "the export stream broke (cancelled by the client, "
                          "or the connection dropped); run the export again"));
      return;
    }
    WriteNext();
  }

  void OnDone() override { delete this; }

 private:
  static constexpr size_t kExportPage = 64;
  enum class Phase { kRelationships, kActivities, kConsents, kHistory, kDone };

  absl::Status Begin(const v1::ExportPersonalDataRequest& request) {
    ASSIGN_OR_RETURN(context_, CallerOf(*call_, deps_));
    ASSIGN_OR_RETURN(id_, IdOf(RecordType::kContact, request.name(), "name"));
    // Everything stored when the export starts: the read models it reads
    // catch up to the log first.
    const uint64_t last = deps_.store.LastPosition();
    RETURN_IF_ERROR(WaitFor(deps_, *call_, kContactActivitiesProjection, last));
    RETURN_IF_ERROR(WaitFor(deps_, *call_, kContactConsentsProjection, last));
    ASSIGN_OR_RETURN(*pending_.emplace_back().mutable_contact(),
                     ReadContact(deps_, *call_, context_.tenant, id_, last));
    ASSIGN_OR_RETURN(ContactState state, Load<ContactAggregate>(deps_, id_));
    for (const auto& [account_id, relationship] : state.relationships) {
      relationships_.push_back(relationship);
    }
    return absl::OkStatus();
  }

  void WriteNext() {
    const absl::Status filled = Fill();
    if (!filled.ok()) {
      Finish(ToGrpcStatus(filled));
      return;
    }
    if (pending_.empty()) {
      Finish(grpc::Status::OK);
      return;
    }
    current_ = std::move(pending_.front());
    pending_.pop_front();
    StartWrite(&current_);
  }

  // Makes the next page of parts when none is pending (none at the end).
  absl::Status Fill() {
    while (pending_.empty() && phase_ != Phase::kDone) {
      switch (phase_) {
        case Phase::kRelationships:
          RETURN_IF_ERROR(FillRelationships());
          break;
        case Phase::kActivities:
          RETURN_IF_ERROR(FillActivities());
          break;
        case Phase::kConsents:
          RETURN_IF_ERROR(FillConsents());
          break;
        case Phase::kHistory:
          RETURN_IF_ERROR(FillHistory());
          break;
        case Phase::kDone:
          break;
      }
    }
    return absl::OkStatus();
  }

  absl::Status FillRelationships() {
    const size_t end = std::min(relationships_.size(), next_ + kExportPage);
    for (; next_ < end; ++next_) {
      const v1::Relationship& from = relationships_[next_];
      v1::ContactRelationship* to =
          pending_.emplace_back().mutable_relationship();
      to->set_name(
          fmt::format("contacts/{}/relationships/{}", id_, from.account_id()));
      to->set_contact(ResourceName(RecordType::kContact, id_));
      to->set_account(ResourceName(RecordType::kAccount, from.account_id()));
      *to->mutable_roles() = from.roles();
    }
    if (next_ == relationships_.size()) {
      relationships_.clear();
      phase_ = Phase::kActivities;
    }
    return absl::OkStatus();
  }

  absl::Status FillActivities() {
    ASSIGN_OR_RETURN(auto view,
                     deps_.engine.View(kContactActivitiesProjection));
    ASSIGN_OR_RETURN(std::vector<std::string> ids,
                     projections::ListContactActivityIds(
                         *view, context_.tenant, id_, after_, kExportPage));
    for (const std::string& activity_id : ids) {
      ASSIGN_OR_RETURN(ActivityState state,
                       Load<ActivityAggregate>(deps_, activity_id));
      if (!state.exists() || state.tenant != context_.tenant) continue;
      ASSIGN_OR_RETURN(*pending_.emplace_back().mutable_activity(),
                       ToActivity(state, deps_.sealer));
    }
    if (ids.size() < kExportPage) {
      after_.clear();
      phase_ = Phase::kConsents;
    } else {
      after_ = ids.back();
    }
    return absl::OkStatus();
  }

  absl::Status FillConsents() {
    ASSIGN_OR_RETURN(auto view, deps_.engine.View(kContactConsentsProjection));
    ASSIGN_OR_RETURN(projections::ConsentPage page,
                     projections::ListStoredConsents(
                         *view, context_.tenant, id_, "", after_, kExportPage));
    for (v1::Consent& consent : page.consents) {
      *pending_.emplace_back().mutable_consent() =
          projections::ConsentOf(std::move(consent), context_.now);
    }
    after_ = page.resume_after;
    if (after_.empty()) phase_ = Phase::kHistory;
    return absl::OkStatus();
  }

  absl::Status FillHistory() {
    absl::StatusOr<eventstore::StreamSlice> slice = deps_.store.ReadStream(
        ContactStream(id_), eventstore::Direction::kForward, next_version_,
        kExportPage);
    if (absl::IsNotFound(slice.status())) {
      phase_ = Phase::kDone;
      return absl::OkStatus();
    }
    RETURN_IF_ERROR(slice.status());
    for (const eventstore::Envelope& event : slice->events) {
      v1::HistoryEntry* entry = pending_.emplace_back().mutable_history_entry();
      entry->set_version(static_cast<int64_t>(event.stream_version()));
      *entry->mutable_occur_time() = event.occurred_at();
      entry->set_actor(event.actor());
      entry->set_event_type(event.type());
      entry->set_event_id(event.event_id());
      entry->set_correlation_id(event.correlation_id());
    }
    next_version_ = slice->next_version;
    if (slice->end_of_stream || slice->events.empty()) phase_ = Phase::kDone;
    return absl::OkStatus();
  }

  const ServiceDeps& deps_;
  grpc::CallbackServerContext* call_;
  CommandContext context_;
  std::string id_;
  Phase phase_ = Phase::kRelationships;
  std::vector<v1::Relationship> relationships_;
  size_t next_ = 0;            // Next relationship to write.
  std::string after_;          // Where the activity or consent page resumes.
  uint64_t next_version_ = 1;  // Next history entry.
  std::deque<v1::PersonalDataExportPart> pending_;
  v1::PersonalDataExportPart current_;  // Being written.
};

}  // namespace

grpc::ServerUnaryReactor* ContactServiceImpl::GiveConsent(
    grpc::CallbackServerContext* call, const v1::GiveConsentRequest* request,
    v1::GiveConsentResponse* response) {
  return Serve(deps_, call, "consent.", [=, this]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context, CallerOf(*call, deps_));
    ASSIGN_OR_RETURN(std::string id,
                     IdOf(RecordType::kContact, request->parent(), "parent"));
    const v1::Consent& consent = request->consent();
    crm::contact::GiveConsent command;
    command.contact_id = id;
    command.purpose = consent.purpose();
    command.channel = consent.channel();
    command.legal_basis = consent.legal_basis();
    command.source = consent.source();
    if (consent.has_expire_time()) {
      command.expire_time = FromTimestamp(consent.expire_time());
    }
    ASSIGN_OR_RETURN(
        Written written,
        Execute<ContactAggregate>(deps_, *call, context, id, "", command,
                                  request->context().request_id()));
    ASSIGN_OR_RETURN(*response->mutable_consent(),
                     ReadConsent(deps_, *call, context, id, command.purpose,
                                 command.channel, written.position));
    SetResult(written, *response->mutable_result());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::WithdrawConsent(
    grpc::CallbackServerContext* call,
    const v1::WithdrawConsentRequest* request,
    v1::WithdrawConsentResponse* response) {
  return Serve(deps_, call, "", [=, this]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context, CallerOf(*call, deps_));
    ASSIGN_OR_RETURN(ConsentRef ref, ParseConsentName(request->name()));
    crm::contact::WithdrawConsent command;
    command.contact_id = ref.contact_id;
    command.purpose = ref.purpose;
    command.channel = ref.channel;
    command.source = request->source();
    ASSIGN_OR_RETURN(
        Written written,
        Execute<ContactAggregate>(deps_, *call, context, ref.contact_id, "",
                                  command, request->context().request_id()));
    ASSIGN_OR_RETURN(*response->mutable_consent(),
                     ReadConsent(deps_, *call, context, ref.contact_id,
                                 ref.purpose, ref.channel, written.position));
    SetResult(written, *response->mutable_result());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::ListConsents(
    grpc::CallbackServerContext* call, const v1::ListConsentsRequest* request,
    v1::ListConsentsResponse* response) {
  return Serve(deps_, call, "", [=, this]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context, CallerOf(*call, deps_));
    ASSIGN_OR_RETURN(std::string id,
                     IdOf(RecordType::kContact, request->parent(), "parent"));
    ASSIGN_OR_RETURN(size_t page_size, PageSizeOf(request->page().page_size()));
    ASSIGN_OR_RETURN(std::string start_after,
                     DecodePageToken(*request, request->page().page_token()));
    // The contact must exist in the caller's tenant (NOT_FOUND otherwise).
    RETURN_IF_ERROR(
        ReadContact(deps_, *call, context.tenant, id, request->min_position())
            .status());
    RETURN_IF_ERROR(WaitFor(deps_, *call, kContactConsentsProjection,
                            request->min_position()));
    ASSIGN_OR_RETURN(auto view, deps_.engine.View(kContactConsentsProjection));
    absl::StatusOr<projections::ConsentPage> page =
        projections::ListStoredConsents(*view, context.tenant, id,
                                        request->purpose(), start_after,
                                        page_size);
    if (absl::IsInvalidArgument(page.status())) {
      return InvalidField("page.page_token",
                          std::string(page.status().message()));
    }
    RETURN_IF_ERROR(page.status());
    for (v1::Consent& consent : page->consents) {
      *response->add_consents() =
          projections::ConsentOf(std::move(consent), context.now);
    }
    if (!page->resume_after.empty()) {
      response->mutable_page()->set_next_page_token(
          EncodePageToken(*request, page->resume_after));
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::EraseContact(
    grpc::CallbackServerContext* call, const v1::EraseContactRequest* request,
    v1::EraseContactResponse* response) {
  return Serve(deps_, call, "", [=, this]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context, CallerOf(*call, deps_));
    ASSIGN_OR_RETURN(std::string id,
                     IdOf(RecordType::kContact, request->name(), "name"));
    crm::contact::EraseContact command;
    command.contact_id = id;
    command.reason = request->reason();
    // Before the append: a crash after it leaves the mark for the purge.
    RETURN_IF_ERROR(MarkPurgePending(deps_.store, id));
    absl::StatusOr<Written> executed =
        Execute<ContactAggregate>(deps_, *call, context, id, "", command,
                                  request->context().request_id());
    if (!executed.ok()) {
      if (NothingAppended(executed.status())) {
        ClearPurgePending(deps_.store, {id}).IgnoreError();
      }
      return executed.status();
    }
    Written written = *std::move(executed);
    // Every read model drops what it indexed in plaintext before the purge.
    RETURN_IF_ERROR(
        WaitForEveryProjection(deps_, *call, deps_.store.LastPosition()));
    ASSIGN_OR_RETURN(std::vector<std::string> key_ids,
                     ShreddedKeyIds(deps_.store, id));
    StoreKeyProvider keys(&deps_.store);
    for (const std::string& key_id : key_ids) {
      RETURN_IF_ERROR(keys.Delete(key_id));
    }
    const absl::Time purge_start = absl::Now();
    RETURN_IF_ERROR(deps_.store.PurgeDeletedData());
    RETURN_IF_ERROR(ClearPurgePending(deps_.store, {id}));
    server::LogInfo("contact erased",
                    {{"contact", id},
                     {"keys", std::to_string(key_ids.size())},
                     {"purge_ms", std::to_string(absl::ToInt64Milliseconds(
                                      absl::Now() - purge_start))}});
    ASSIGN_OR_RETURN(
        *response->mutable_contact(),
        ReadContact(deps_, *call, context.tenant, id, written.position));
    SetResult(written, *response->mutable_result());
    return absl::OkStatus();
  });
}

absl::Status ContactServiceImpl::ResumePendingErasures(absl::Duration timeout) {
  ASSIGN_OR_RETURN(std::vector<std::string> ids, PendingErasures(deps_.store));
  if (ids.empty()) return absl::OkStatus();
  // Every read model drops what it indexed in plaintext before the purge.
  const uint64_t end = deps_.store.LastPosition();
  const absl::Time deadline = absl::Now() + timeout;
  for (const projection::ProjectionStatus& status : deps_.engine.Status()) {
    const absl::Status caught_up = deps_.engine.WaitForPosition(
        status.name, end,
        std::max(deadline - absl::Now(), absl::ZeroDuration()));
    if (!caught_up.ok()) {
      return absl::UnavailableError(fmt::format(
          "{} erasures wait for their purge, and projection {} has not "
          "reached position {}: {}; retry once the projections are live",
          ids.size(), status.name, end, std::string(caught_up.message())));
    }
  }
  StoreKeyProvider keys(&deps_.store);
  for (const std::string& id : ids) {
    ASSIGN_OR_RETURN(std::vector<std::string> key_ids,
                     ShreddedKeyIds(deps_.store, id));
    for (const std::string& key_id : key_ids) {
      RETURN_IF_ERROR(keys.Delete(key_id));
    }
  }
  const absl::Time purge_start = absl::Now();
  RETURN_IF_ERROR(deps_.store.PurgeDeletedData());
  RETURN_IF_ERROR(ClearPurgePending(deps_.store, ids));
  server::LogInfo(
      "interrupted erasures purged",
      {{"contacts", std::to_string(ids.size())},
       {"purge_ms",
        std::to_string(absl::ToInt64Milliseconds(absl::Now() - purge_start))}});
  return absl::OkStatus();
}

grpc::ServerWriteReactor<v1::PersonalDataExportPart>*
ContactServiceImpl::ExportPersonalData(
    grpc::CallbackServerContext* call,
    const v1::ExportPersonalDataRequest* request) {
  server::ScopedCorrelationId correlation(server::CorrelationId(*call));
  return new ExportReactor(deps_, call, *request);
}

}  // namespace crm::contact::api
