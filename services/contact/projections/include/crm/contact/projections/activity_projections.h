// Activities: the read model of this area of the contact service, folded
// from the service's own log.
//
//   ASSIGN_OR_RETURN(auto view, engine.View(kActivitiesProjection));
//   ASSIGN_OR_RETURN(std::optional<StoredActivity> stored,
//                    GetStoredActivity(*view, tenant, id));
//   ASSIGN_OR_RETURN(v1::Activity activity, ToResource(*stored, sealer));
//
// The projection folds ActivityEvents through the domain's Apply and keeps
// the content (subject, body, location, participants) sealed as the events
// carry it; readers open it at read time, so once the person is erased (the
// key deleted) nothing in this projection reads as their data.
//
// Activities are not rewritten by merges: the projection follows
// ContactMerged / ContactUnmerged and AccountMerged / AccountUnmerged in a
// redirect map, and a list of a record also lists the activities of the
// records merged into it (transitively).
//
// Keys (every key starts with the tenant):
//   "<tenant>/i/<id>" -> StoredActivity (the encoding below).
//   "<tenant>/p/<c|a>/<contact or account id>/<sort key>" -> StoredActivity,
//       one entry per record the activity is about; the sort key is
//       "<start time>/<id>", the start time as 16 hex digits that sort newest
//       first (the API's order: start time descending, then id).
//   "<tenant>/k/<id>" -> the activity's current "p/" keys, '\n'-separated.
//   "<tenant>/m/<c|a>/<survivor id>" -> the ids merged into it (directly),
//       '\n'-separated, while their merge is not undone.
// StoredActivity value (projection state, rebuildable): varint length of
// the serialized clear Activity, the Activity, then the serialized
// SealedData of the content.
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
#include "crm/contact/domain/activity.h"
#include "crm/contact/domain/sealer.h"
#include "crm/contact/v1/contact_service.pb.h"
#include "crm/projection/projection.h"

namespace crm::contact::projections {

inline constexpr char kActivitiesProjection[] = "activities";

// Adds this area's projections to the service's list
// (ContactServiceProjections). `sealer` is not owned.
void AddActivityProjections(
    std::vector<std::unique_ptr<projection::Projection>>& list,
    PersonalDataSealer* sealer);

// activities: every activity by id and by the records it is about, and the
// merge redirects. `sealer` (not owned, outlives the projection) is only
// used by upcasters of old contact events. Thread-compatible.
class ActivitiesProjection final : public projection::Projection {
 public:
  explicit ActivitiesProjection(PersonalDataSealer* sealer) : sealer_(sealer) {}
  std::string name() const override { return kActivitiesProjection; }
  uint32_t version() const override { return 1; }
  absl::Status Apply(const projection::Envelope& event,
                     projection::ProjectionWriter& writer) override;

 private:
  PersonalDataSealer* sealer_;
};

// The stored form of an activity: the clear resource fields (no content),
// and the content still sealed.
struct StoredActivity {
  v1::Activity clear;
  v1::SealedData sealed_content;
};

std::string EncodeStoredActivity(const StoredActivity& activity);
// DATA_LOSS when `value` is not an encoded StoredActivity.
absl::StatusOr<StoredActivity> DecodeStoredActivity(std::string_view value);

StoredActivity StoredActivityOf(const ActivityState& state);
ActivityState ActivityStateOf(const StoredActivity& stored,
                              std::string_view tenant);

// The API resource, content opened. Content sealed under a deleted key
// (IsKeyErased: the person was erased) is left out: the activity is
// returned without subject, body, location and participants, not an
// error. Errors: those of OpenMessage other than an erased key.
absl::StatusOr<v1::Activity> ToResource(const StoredActivity& stored,
                                        PersonalDataSealer& sealer);

// The activity `id` of `tenant`, or nullopt. Errors: the view's; DATA_LOSS.
absl::StatusOr<std::optional<StoredActivity>> GetStoredActivity(
    const projection::ProjectionView& view, std::string_view tenant,
    std::string_view id);

// What ListActivities asks of the index; empty fields do not filter.
struct ActivityListQuery {
  std::string tenant;
  bool account = false;   // The parent is an account (else a contact).
  std::string parent_id;  // Its id.
  // Contacts whose activities are listed too (an account's people, for
  // include_related), with the records merged into them.
  std::vector<std::string> related_contact_ids;
  std::vector<v1::ActivityKind> kinds;   // Any one of them.
  bool open_tasks_only = false;          // Tasks not done.
  std::optional<absl::Time> due_before;  // Only with a due time before it.
  bool show_deleted = false;
  size_t page_size = 50;  // REQUIRES: > 0.
  // The sort key a previous page ended at (ActivityListPage::resume_after).
  std::string start_after;
  // Most index entries one call examines. REQUIRES: > 0.
  size_t max_scan = 10'000;
  // Most records (the parent, the related contacts and those merged into
  // them) a list covers; records beyond it are not listed.
  size_t max_records = 64;
};

struct ActivityListPage {
  std::vector<StoredActivity> activities;  // Newest first, then by id.
  // Where the next page starts (a sort key); empty at the end. Can be set
  // with fewer than page_size activities, when max_scan stopped the call.
  std::string resume_after;
};

// One page of the activities of a contact or account, of the related
// contacts, and of the records merged into them (each activity once). Errors:
// INVALID_ARGUMENT when start_after is not a sort key; the view's; DATA_LOSS.
absl::StatusOr<ActivityListPage> ListStoredActivities(
    const projection::ProjectionView& view, const ActivityListQuery& query);

}  // namespace crm::contact::projections
