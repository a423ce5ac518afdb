// Timeline and history: ListTimelineEntries and ListHistory
// (contact_service.h). The as_of reads of GetContact and GetAccount share
// history_support.h.
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "crm/base/status_macros.h"
#include "crm/contact/api/contact_service.h"
#include "crm/contact/projections/timeline_projections.h"
#include "fmt/format.h"
#include "history_support.h"
#include "service_support.h"

namespace crm::contact::api {
namespace {

constexpr size_t kDefaultHistoryPage = 50;
constexpr size_t kMaxHistoryPage = 500;
constexpr size_t kDefaultTimelinePage = 50;
constexpr size_t kMaxTimelinePage = 500;
// Most records merged into one whose timelines a page reads.
constexpr size_t kMaxMergedRecords = 63;

// One page of the history of the record `id` of `tenant` (a contact, an
// account or an activity: each state is shown by its HistoryViewOf): the
// entries of versions from `from_version` on, at most `page_size`. Sets
// next_version to the version the next page starts at, or 0 on the last
// page. NOT_FOUND when the stream is empty or another tenant's.
template <typename Aggregate>
absl::Status HistoryPage(const ServiceDeps& deps, std::string_view tenant,
                         std::string_view id, uint64_t from_version,
                         size_t page_size, v1::ListHistoryResponse& response,
                         uint64_t& next_version) {
  typename Aggregate::State state;
  ASSIGN_OR_RETURN(HistoryView before, HistoryViewOf(state, deps.sealer));
  bool found = false;
  next_version = 0;
  RETURN_IF_ERROR(ForEachEvent(
      deps.store, Aggregate::Stream(id),
      [&](const eventstore::Envelope& envelope) -> absl::StatusOr<bool> {
        if (envelope.tenant() != tenant) return false;
        found = true;
        const uint64_t version = envelope.stream_version();
        if (version >= from_version &&
            static_cast<size_t>(response.entries_size()) == page_size) {
          next_version = version;
          return false;
        }
        ASSIGN_OR_RETURN(typename Aggregate::Event event,
                         Aggregate::Read(envelope, deps.sealer));
        state = Apply(std::move(state), event, EventMetaOf(envelope));
        if (version < from_version) return true;
        ASSIGN_OR_RETURN(HistoryView after, HistoryViewOf(state, deps.sealer));
        v1::HistoryEntry& entry = *response.add_entries();
        entry.set_version(static_cast<int64_t>(version));
        *entry.mutable_occur_time() = envelope.occurred_at();
        entry.set_actor(envelope.actor());
        entry.set_event_type(envelope.type());
        entry.set_event_id(envelope.event_id());
        entry.set_correlation_id(envelope.correlation_id());
        for (v1::FieldChange& change : DiffViews(before, after)) {
          *entry.add_changes() = std::move(change);
        }
        before = std::move(after);
        return true;
      }));
  if (!found) {
    return absl::NotFoundError(
        fmt::format("{}/{} does not exist", Aggregate::kCollection, id));
  }
  return absl::OkStatus();
}

struct TimelineParent {
  RecordType type;
  std::string id;
};

absl::StatusOr<TimelineParent> ParentOf(const std::string& parent) {
  if (parent.rfind("accounts/", 0) == 0) {
    ASSIGN_OR_RETURN(std::string id,
                     IdOf(RecordType::kAccount, parent, "parent"));
    return TimelineParent{RecordType::kAccount, std::move(id)};
  }
  if (parent.rfind("contacts/", 0) == 0) {
    ASSIGN_OR_RETURN(std::string id,
                     IdOf(RecordType::kContact, parent, "parent"));
    return TimelineParent{RecordType::kContact, std::move(id)};
  }
  return InvalidField("parent",
                      "names no contact or account; pass \"contacts/<id>\" "
                      "or \"accounts/<id>\"");
}

// The timeline projections to read for the request's source services. Only
// the contact service's own events have one yet; the others' will be added
// here (timeline_projections.h says how).
absl::StatusOr<std::vector<std::string>> TimelineViews(
    const google::protobuf::RepeatedPtrField<std::string>& services) {
  static const auto* known =
      new std::map<std::string, std::string, std::less<>>{
          {"contact", projections::kTimelineProjection},
          {"sales", ""},
          {"ticket", ""},
          {"marketing", ""}};
  std::vector<std::string> views;
  for (const auto& [service, view] : *known) {
    if (!services.empty() && std::find(services.begin(), services.end(),
                                       service) == services.end()) {
      continue;
    }
    if (!view.empty()) views.push_back(view);
  }
  for (int i = 0; i < services.size(); ++i) {
    if (known->count(services[i]) == 0) {
      return InvalidField(
          fmt::format("source_services[{}]", i),
          "is not a service of the suite; pass \"contact\", \"sales\", "
          "\"ticket\" or \"marketing\"");
    }
  }
  return views;
}

// Whose timeline the parent's is: its survivor's while it is merged (a
// bounded number of hops). NOT_FOUND when the record has no entry in the
// caller's tenant (every record's first event puts one there).
absl::StatusOr<std::string> TimelineOwner(
    const projection::ProjectionView& view, std::string_view tenant,
    const TimelineParent& parent) {
  std::string id = parent.id;
  for (int hop = 0; hop < 8; ++hop) {
    ASSIGN_OR_RETURN(std::optional<std::string> survivor,
                     projections::SurvivorOf(view, tenant, parent.type, id));
    if (!survivor.has_value()) break;
    id = *std::move(survivor);
  }
  projections::TimelineQuery query;
  query.tenant = std::string(tenant);
  query.type = parent.type;
  query.id = id;
  query.max_count = 1;
  ASSIGN_OR_RETURN(std::vector<projections::StoredTimelineEntry> any,
                   projections::ScanTimeline(view, query));
  if (any.empty()) {
    return absl::NotFoundError(fmt::format(
        "{}/{} does not exist",
        parent.type == RecordType::kAccount ? "accounts" : "contacts",
        parent.id));
  }
  return id;
}

}  // namespace

grpc::ServerUnaryReactor* ContactServiceImpl::ListTimelineEntries(
    grpc::CallbackServerContext* call,
    const v1::ListTimelineEntriesRequest* request,
    v1::ListTimelineEntriesResponse* response) {
  return Serve(deps_, call, "", [=, this]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context, CallerOf(*call, deps_));
    ASSIGN_OR_RETURN(size_t page_size,
                     PageSizeOf(request->page().page_size(),
                                kDefaultTimelinePage, kMaxTimelinePage));
    ASSIGN_OR_RETURN(TimelineParent parent, ParentOf(request->parent()));
    ASSIGN_OR_RETURN(std::vector<std::string> views,
                     TimelineViews(request->source_services()));
    ASSIGN_OR_RETURN(std::string start_after,
                     DecodePageToken(*request, request->page().page_token()));
    RETURN_IF_ERROR(WaitFor(deps_, *call, projections::kTimelineProjection,
                            request->min_position()));
    ASSIGN_OR_RETURN(auto view,
                     deps_.engine.View(projections::kTimelineProjection));
    ASSIGN_OR_RETURN(std::string id,
                     TimelineOwner(*view, context.tenant, parent));

    projections::TimelineQuery query;
    query.tenant = context.tenant;
    query.type = parent.type;
    query.max_count = page_size + 1;
    query.start_after = start_after;
    if (request->has_since()) query.since = FromTimestamp(request->since());
    ASSIGN_OR_RETURN(
        std::vector<std::string> records,
        projections::MergedRecords(*view, context.tenant, parent.type, id,
                                   kMaxMergedRecords));
    records.insert(records.begin(), id);

    // Every view's and record's newest page_size + 1 entries after the
    // token, merged by suffix (time descending, position): the first
    // page_size of them are the page.
    std::vector<projections::StoredTimelineEntry> entries;
    for (const std::string& name : views) {
      ASSIGN_OR_RETURN(auto source, deps_.engine.View(name));
      for (const std::string& record : records) {
        query.id = record;
        ASSIGN_OR_RETURN(std::vector<projections::StoredTimelineEntry> found,
                         projections::ScanTimeline(*source, query));
        for (auto& entry : found) entries.push_back(std::move(entry));
      }
    }
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.suffix < b.suffix; });
    entries.erase(std::unique(entries.begin(), entries.end(),
                              [](const auto& a, const auto& b) {
                                return a.suffix == b.suffix;
                              }),
                  entries.end());
    if (entries.size() > page_size) {
      entries.resize(page_size);
      response->mutable_page()->set_next_page_token(
          EncodePageToken(*request, entries.back().suffix));
    }

    std::map<std::string, bool, std::less<>> erased;
    for (const projections::StoredTimelineEntry& stored : entries) {
      v1::TimelineEntry& entry = *response->add_entries();
      entry = stored.entry;
      bool person_erased = false;
      if (!stored.person.empty()) {
        auto found = erased.find(stored.person);
        if (found == erased.end()) {
          ASSIGN_OR_RETURN(bool is_erased,
                           projections::IsErasedPerson(*view, context.tenant,
                                                       stored.person));
          found = erased.emplace(stored.person, is_erased).first;
        }
        person_erased = found->second;
      }
      if (person_erased) {
        entry.clear_summary();
      } else {
        ASSIGN_OR_RETURN(*entry.mutable_summary(),
                         projections::ReadSummary(stored, deps_.sealer));
      }
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::ListHistory(
    grpc::CallbackServerContext* call, const v1::ListHistoryRequest* request,
    v1::ListHistoryResponse* response) {
  return Serve(deps_, call, "", [=, this]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context, CallerOf(*call, deps_));
    ASSIGN_OR_RETURN(size_t page_size,
                     PageSizeOf(request->page().page_size(),
                                kDefaultHistoryPage, kMaxHistoryPage));
    ASSIGN_OR_RETURN(std::string token,
                     DecodePageToken(*request, request->page().page_token()));
    uint64_t from_version = 1;
    if (!token.empty() && !absl::SimpleAtoi(token, &from_version)) {
      return InvalidField("page.page_token",
                          "is not a token of this history; pass the "
                          "next_page_token of the previous page unchanged");
    }
    const std::string& name = request->name();
    uint64_t next_version = 0;
    if (name.rfind("contacts/", 0) == 0) {
      ASSIGN_OR_RETURN(std::string id,
                       IdOf(RecordType::kContact, name, "name"));
      RETURN_IF_ERROR(HistoryPage<ContactAggregate>(deps_, context.tenant, id,
                                                    from_version, page_size,
                                                    *response, next_version));
    } else if (name.rfind("accounts/", 0) == 0) {
      ASSIGN_OR_RETURN(std::string id,
                       IdOf(RecordType::kAccount, name, "name"));
      RETURN_IF_ERROR(HistoryPage<AccountAggregate>(deps_, context.tenant, id,
                                                    from_version, page_size,
                                                    *response, next_version));
    } else if (name.rfind("activities/", 0) == 0) {
      ASSIGN_OR_RETURN(std::string id,
                       IdOf(RecordType::kActivity, name, "name"));
      RETURN_IF_ERROR(HistoryPage<ActivityAggregate>(deps_, context.tenant, id,
                                                     from_version, page_size,
                                                     *response, next_version));
    } else {
      return InvalidField("name",
                          "names no record; pass \"contacts/<id>\", "
                          "\"accounts/<id>\" or \"activities/<id>\"");
    }
    if (next_version != 0) {
      response->mutable_page()->set_next_page_token(
          EncodePageToken(*request, std::to_string(next_version)));
    }
    return absl::OkStatus();
  });
}

}  // namespace crm::contact::api
