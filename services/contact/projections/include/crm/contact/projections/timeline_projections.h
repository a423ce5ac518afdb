// The customer timeline: one ordered view of everything that happened with
// a contact or an account (ListTimelineEntries), folded from the service's
// own log by TimelineProjection ("timeline").
//
//   ASSIGN_OR_RETURN(auto view, engine.View(kTimelineProjection));
//   TimelineQuery query{.tenant = t, .type = RecordType::kContact, .id = id};
//   ASSIGN_OR_RETURN(std::vector<StoredTimelineEntry> page,
//                    ScanTimeline(*view, query));
//
// What lands on a record's timeline: its own events (created, updated with
// the changed field names, deleted, restored, merged, unmerged, erased,
// consents), relationships (on both the contact's and the account's
// timeline), and the events of activities linked to it (logged, updated,
// completed, reopened, deleted; on the timeline of the activity's contact
// and of its account at the time of the event).
//
// Keys (every key starts with the tenant):
//   "<tenant>/t/<c|a>/<record id>/<suffix>" -> a stored entry, where the
//       suffix orders a record's entries newest first: 16 hex digits of the
//       inverted occurred_at (nanoseconds, offset to unsigned), 16 hex
//       digits of the inverted global position, "/", the source service.
//   "<tenant>/x/<activity id>" -> the activity's latest links and sealed
//       content (a v1::ActivityLogged), to place and summarize its later
//       events.
//   "<tenant>/m/<c|a>/<survivor id>/<merged id>" -> "" while the merged
//       record is merged into the survivor (its timeline shows in the
//       survivor's), and "<tenant>/i/<c|a>/<merged id>" -> the survivor id.
//   "<tenant>/e/<contact id>" -> "" once the person was erased.
//
// Personal data: none in clear. An entry keeps a non-personal summary
// ("Call logged", "Contact updated: emails, phones") and, for activities,
// the event's sealed content (a copy of the event's own SealedData, sealed
// under the person's key), which ReadSummary opens at read time: once the
// person is erased it no longer opens and the summary is empty.
//
// Other services' events (quotes, deals, tickets) join the timeline without
// changing this projection: a projection of the same shape (say
// "timeline_sales"), run by a ProjectionEngine whose source is that
// service's topic (libs/projection event_feed.h, libs/bus), maps each of
// its events to the contact or account it concerns and writes entries with
// TimelineEntryKey (source service "sales") and EncodeTimelineEntry.
// ScanTimeline reads any of these views; ListTimelineEntries merges the
// views of the services the request asks for by key suffix, so the order
// (time descending, then position) and the page tokens stay the same.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crm/contact/domain/ids.h"
#include "crm/contact/domain/sealer.h"
#include "crm/contact/v1/contact_service.pb.h"
#include "crm/projection/projection.h"

namespace crm::contact::projections {

inline constexpr char kTimelineProjection[] = "timeline";

// Adds this area's projections to the service's list
// (ContactServiceProjections). `sealer` is not owned.
void AddTimelineProjections(
    std::vector<std::unique_ptr<projection::Projection>>& list,
    PersonalDataSealer* sealer);

// timeline: the entries of the contact service's own events. `sealer` (not
// owned, outlives the projection) is only used by upcasters of old events.
// Thread-compatible (the engine calls Apply from one thread).
class TimelineProjection final : public projection::Projection {
 public:
  explicit TimelineProjection(PersonalDataSealer* sealer) : sealer_(sealer) {}
  std::string name() const override { return kTimelineProjection; }
  uint32_t version() const override { return 1; }
  absl::Status Apply(const projection::Envelope& event,
                     projection::ProjectionWriter& writer) override;

 private:
  PersonalDataSealer* sealer_;
};

// An entry as a timeline projection stores it.
struct StoredTimelineEntry {
  // Every field but the summary's personal part: summary holds the
  // non-personal prefix ("Task completed").
  v1::TimelineEntry entry;
  // The sealed content whose subject completes the summary; empty if none.
  v1::SealedData sealed;
  // The contact whose data the entry concerns ("" for none): its erasure
  // empties the summary.
  std::string person;
  // The entry's key suffix (ordering and page tokens).
  std::string suffix;
};

// The key suffix of an entry (see the file comment).
std::string TimelineSuffix(absl::Time occurred_at, uint64_t position,
                           std::string_view source_service);
// The key of an entry of the record (`type` kContact or kAccount).
std::string TimelineEntryKey(std::string_view tenant, RecordType type,
                             std::string_view record_id,
                             std::string_view suffix);
std::string EncodeTimelineEntry(const StoredTimelineEntry& entry);
// DATA_LOSS when `value` is not an encoded entry.
absl::StatusOr<StoredTimelineEntry> DecodeTimelineEntry(std::string_view value);

struct TimelineQuery {
  std::string tenant;
  RecordType type = RecordType::kContact;  // kContact or kAccount.
  std::string id;
  std::optional<absl::Time> since;  // Only entries at or after it.
  std::string start_after;          // A suffix; "" for the newest.
  size_t max_count = 50;            // REQUIRES: > 0.
};

// Up to max_count entries of one record, newest first, after start_after.
// Errors: the view's; DATA_LOSS for an undecodable entry.
absl::StatusOr<std::vector<StoredTimelineEntry>> ScanTimeline(
    const projection::ProjectionView& view, const TimelineQuery& query);

// The ids of the records merged into `id` (transitively) and not unmerged,
// at most `max_count`.
absl::StatusOr<std::vector<std::string>> MergedRecords(
    const projection::ProjectionView& view, std::string_view tenant,
    RecordType type, std::string_view id, size_t max_count);

// The survivor `id` is merged into, or nullopt.
absl::StatusOr<std::optional<std::string>> SurvivorOf(
    const projection::ProjectionView& view, std::string_view tenant,
    RecordType type, std::string_view id);

// Whether the contact was erased.
absl::StatusOr<bool> IsErasedPerson(const projection::ProjectionView& view,
                                    std::string_view tenant,
                                    std::string_view contact_id);

// The summary people read: the stored prefix, completed with the subject of
// the sealed content when there is one; "" when the content no longer opens
// (the person was erased). Errors: the sealer's other than an erased key.
absl::StatusOr<std::string> ReadSummary(const StoredTimelineEntry& entry,
                                        PersonalDataSealer& sealer);

}  // namespace crm::contact::projections
