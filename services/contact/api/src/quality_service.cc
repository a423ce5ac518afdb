// Data quality: duplicates, merges, incomplete records: the ContactService
// RPCs of this area (contact_service.h).
#include <algorithm>
#include <bit>
#include <cstdint>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "crm/base/status_macros.h"
#include "crm/contact/api/contact_service.h"
#include "crm/contact/domain/completeness.h"
#include "crm/contact/domain/normalize.h"
#include "crm/contact/projections/account_projections.h"
#include "crm/contact/projections/contact_projections.h"
#include "crm/contact/projections/quality_projections.h"
#include "fmt/format.h"
#include "quality_support.h"
#include "service_support.h"

namespace crm::contact::api {
namespace {

using projections::kDataQualityProjection;
using projections::QualityRecord;

// FindDuplicate*: pages of at most 200 candidates.
constexpr size_t kMaxDuplicatePage = 200;
// Tenant-wide search: records paired per blocking key, and index entries one
// call reads at most.
constexpr size_t kPairsPerKey = 20;
constexpr size_t kMaxIndexEntries = 5000;

// ---- Duplicates -----------------------------------------------------------

// The requests of this area carry no min_position: a read waits until
// data_quality shows every write acknowledged before it (read your writes).
absl::StatusOr<std::shared_ptr<const projection::ProjectionView>> QualityView(
    const ServiceDeps& deps, const grpc::CallbackServerContext& call) {
  RETURN_IF_ERROR(
      WaitFor(deps, call, kDataQualityProjection, deps.store.LastPosition()));
  return deps.engine.View(kDataQualityProjection);
}

absl::StatusOr<double> MinScoreOf(double requested) {
  if (requested < 0 || requested > 1) {
    return InvalidField("min_score", "must be between 0 and 1 (0: 0.5)");
  }
  return requested == 0 ? 0.5 : requested;
}

// A candidate's place in the order "score descending, then names", as a page
// token key: the score's bits (hex) and the record name.
std::string RankKey(const v1::DuplicateCandidate& c) {
  return fmt::format("{:016x}|{}|{}", std::bit_cast<uint64_t>(c.score()),
                     c.record(), c.other_record());
}

bool RanksBefore(const v1::DuplicateCandidate& a,
                 const v1::DuplicateCandidate& b) {
  if (a.score() != b.score()) return a.score() > b.score();
  if (a.record() != b.record()) return a.record() < b.record();
  return a.other_record() < b.other_record();
}

// The candidate a rank key stands for (score, names), for comparisons.
absl::StatusOr<v1::DuplicateCandidate> FromRankKey(std::string_view key) {
  v1::DuplicateCandidate c;
  const size_t bar = key.find('|');
  const size_t bar2 =
      bar == std::string_view::npos ? bar : key.find('|', bar + 1);
  uint64_t bits = 0;
  if (bar2 == std::string_view::npos ||
      !absl::SimpleHexAtoi(absl::string_view(key.data(), bar), &bits)) {
    return InvalidField("page.page_token",
                        "is not a token of this list; pass the "
                        "next_page_token of the previous page unchanged");
  }
  c.set_score(std::bit_cast<double>(bits));
  c.set_record(std::string(key.substr(bar + 1, bar2 - bar - 1)));
  c.set_other_record(std::string(key.substr(bar2 + 1)));
  return c;
}

// Pages a complete, bounded candidate list (subject given) in rank order.
template <typename Response, typename Request>
absl::Status PageCandidates(std::vector<v1::DuplicateCandidate> candidates,
                            const Request& request, size_t page_size,
                            const std::string& start_after,
                            Response& response) {
  std::sort(candidates.begin(), candidates.end(), RanksBefore);
  auto from = candidates.begin();
  if (!start_after.empty()) {
    ASSIGN_OR_RETURN(v1::DuplicateCandidate last, FromRankKey(start_after));
    from = std::upper_bound(candidates.begin(), candidates.end(), last,
                            RanksBefore);
  }
  for (; from != candidates.end() &&
         static_cast<size_t>(response.candidates_size()) < page_size;
       ++from) {
    *response.add_candidates() = *from;
  }
  if (from != candidates.end()) {
    response.mutable_page()->set_next_page_token(
        EncodePageToken(request, RankKey(*std::prev(from))));
  }
  return absl::OkStatus();
}

std::vector<v1::DuplicateCandidate> ToCandidates(
    RecordType type, const std::vector<LikelyDuplicate>& found,
    std::string_view subject_name) {
  std::vector<v1::DuplicateCandidate> out;
  out.reserve(found.size());
  for (const LikelyDuplicate& d : found) {
    v1::DuplicateCandidate& c = out.emplace_back();
    c.set_record(ResourceName(type, d.id));
    c.set_other_record(std::string(subject_name));
    ToCandidate(d.score, c);
  }
  return out;
}

// Scores a pair of stored records by id; nullopt when either is no longer
// ACTIVE. Caches the profiles it read.
using PairScorer = std::function<absl::StatusOr<std::optional<DuplicateScore>>(
    const std::string&, const std::string&)>;

// The tenant-wide search: walks the blocking index group by group (a group:
// the records sharing one key) and pairs the records of each group. A pair
// is reported at the first key (in key order) its two records share, so a
// pair sharing several keys is reported once. Page token key:
// "<group key>\x02<pairs of that group already returned>".
absl::Status WalkPairs(const projection::ProjectionView& view,
                       QualityRecord kind, RecordType type,
                       std::string_view tenant, double min_score,
                       size_t page_size, const std::string& start_after,
                       const PairScorer& score,
                       std::vector<v1::DuplicateCandidate>& page,
                       std::string& resume_after) {
  std::string group_key;
  size_t skip = 0;
  if (!start_after.empty()) {
    const size_t sep = start_after.rfind('\x02');
    if (sep == std::string::npos ||
        !absl::SimpleAtoi(absl::string_view(start_after.data() + sep + 1,
                                            start_after.size() - sep - 1),
                          &skip)) {
      return InvalidField("page.page_token",
                          "is not a token of this list; pass the "
                          "next_page_token of the previous page unchanged");
    }
    group_key = start_after.substr(0, sep);
  }
  std::map<std::string, std::vector<std::string>, std::less<>> keys_of;
  auto keys = [&](const std::string& id)
      -> absl::StatusOr<const std::vector<std::string>*> {
    auto found = keys_of.find(id);
    if (found == keys_of.end()) {
      ASSIGN_OR_RETURN(std::vector<std::string> k,
                       projections::BlockingKeysOf(view, kind, tenant, id));
      found = keys_of.emplace(id, std::move(k)).first;
    }
    return &found->second;
  };
  // The group's pairs first reported at its key, in rank order.
  auto pairs_of = [&](const projections::BlockingGroup& group)
      -> absl::StatusOr<std::vector<v1::DuplicateCandidate>> {
    std::vector<v1::DuplicateCandidate> out;
    for (size_t i = 0; i < group.ids.size(); ++i) {
      for (size_t j = i + 1; j < group.ids.size(); ++j) {
        const std::string& a = std::min(group.ids[i], group.ids[j]);
        const std::string& b = std::max(group.ids[i], group.ids[j]);
        ASSIGN_OR_RETURN(const std::vector<std::string>* ka, keys(a));
        ASSIGN_OR_RETURN(const std::vector<std::string>* kb, keys(b));
        // Both lists are sorted: the first key they share.
        std::vector<std::string> shared;
        std::set_intersection(ka->begin(), ka->end(), kb->begin(), kb->end(),
                              std::back_inserter(shared));
        if (!shared.empty() && shared.front() != group.key) continue;
        ASSIGN_OR_RETURN(std::optional<DuplicateScore> s, score(a, b));
        if (!s.has_value() || s->score <= 0 || s->score < min_score) continue;
        v1::DuplicateCandidate& c = out.emplace_back();
        c.set_record(ResourceName(type, a));
        c.set_other_record(ResourceName(type, b));
        ToCandidate(*s, c);
      }
    }
    std::sort(out.begin(), out.end(), RanksBefore);
    return out;
  };
  // Takes the group's pairs from `from`; false when the page filled first.
  auto take = [&](const projections::BlockingGroup& group,
                  size_t from) -> absl::StatusOr<bool> {
    ASSIGN_OR_RETURN(std::vector<v1::DuplicateCandidate> pairs,
                     pairs_of(group));
    size_t next = from;
    for (; next < pairs.size() && page.size() < page_size; ++next) {
      page.push_back(std::move(pairs[next]));
    }
    resume_after = fmt::format("{}{}{}", group.key, '\x02', next);
    return next >= pairs.size();
  };

  if (!group_key.empty()) {
    projections::BlockingGroup group;
    group.key = group_key;
    ASSIGN_OR_RETURN(group.ids,
                     projections::CandidateIds(view, kind, tenant, {group_key},
                                               kPairsPerKey, kPairsPerKey));
    std::sort(group.ids.begin(), group.ids.end());
    ASSIGN_OR_RETURN(bool done, take(group, skip));
    if (!done) return absl::OkStatus();
  }
  size_t entries_budget = kMaxIndexEntries;
  std::string after = group_key;
  while (page.size() < page_size) {
    ASSIGN_OR_RETURN(
        projections::BlockingGroups scanned,
        projections::ScanBlockingGroups(view, kind, tenant, after, kPairsPerKey,
                                        /*max_groups=*/16, entries_budget));
    for (const projections::BlockingGroup& group : scanned.groups) {
      ASSIGN_OR_RETURN(bool done, take(group, 0));
      if (!done || page.size() >= page_size) return absl::OkStatus();
    }
    if (scanned.next_key.empty()) {
      resume_after.clear();  // The end of the index.
      return absl::OkStatus();
    }
    // Budget: the walk moves on by at least one group per scan.
    resume_after = fmt::format("{}{}{}", scanned.next_key, '\x02',
                               std::numeric_limits<uint32_t>::max());
    after = scanned.next_key;
    if (scanned.entries_read >= entries_budget) return absl::OkStatus();
    entries_budget -= scanned.entries_read;
  }
  return absl::OkStatus();
}

// Answers the tenant-wide search: WalkPairs over the profiles `load` reads
// (nullopt: the record is not ACTIVE), each read once per call, scored by
// `score_pair`.
template <typename Profile, typename Request, typename Response>
absl::Status AnswerPairs(
    const projection::ProjectionView& view, QualityRecord kind,
    std::string_view tenant, double min_score, size_t page_size,
    const std::string& start_after,
    const std::function<
        absl::StatusOr<std::optional<Profile>>(const std::string&)>& load,
    DuplicateScore (*score_pair)(const Profile&, const Profile&),
    const Request& request, Response& response) {
  std::map<std::string, std::optional<Profile>, std::less<>> profiles;
  auto profile = [&](const std::string& id)
      -> absl::StatusOr<const std::optional<Profile>*> {
    auto found = profiles.find(id);
    if (found == profiles.end()) {
      ASSIGN_OR_RETURN(std::optional<Profile> p, load(id));
      found = profiles.emplace(id, std::move(p)).first;
    }
    return &found->second;
  };
  PairScorer scorer = [&](const std::string& a, const std::string& b)
      -> absl::StatusOr<std::optional<DuplicateScore>> {
    ASSIGN_OR_RETURN(const std::optional<Profile>* pa, profile(a));
    ASSIGN_OR_RETURN(const std::optional<Profile>* pb, profile(b));
    if (!pa->has_value() || !pb->has_value()) return std::nullopt;
    return score_pair(**pa, **pb);
  };
  std::vector<v1::DuplicateCandidate> page;
  std::string resume_after;
  const RecordType type = kind == QualityRecord::kContact
                              ? RecordType::kContact
                              : RecordType::kAccount;
  RETURN_IF_ERROR(WalkPairs(view, kind, type, tenant, min_score, page_size,
                            start_after, scorer, page, resume_after));
  for (v1::DuplicateCandidate& c : page) {
    *response.add_candidates() = std::move(c);
  }
  if (!resume_after.empty()) {
    response.mutable_page()->set_next_page_token(
        EncodePageToken(request, resume_after));
  }
  return absl::OkStatus();
}

// The writable fields of a draft contact the matcher reads.
absl::StatusOr<ContactFields> DraftFieldsOf(const v1::Contact& draft) {
  ContactFields fields;
  if (!draft.account().empty()) {
    ASSIGN_OR_RETURN(fields.account_id, IdOf(RecordType::kAccount,
                                             draft.account(), "draft.account"));
  }
  v1::ContactPersonalData& p = fields.personal;
  p.set_given_name(draft.given_name());
  p.set_family_name(draft.family_name());
  *p.mutable_emails() = draft.emails();
  *p.mutable_phones() = draft.phones();
  return fields;
}

v1::AccountProfile DraftProfileOf(const v1::Account& draft) {
  v1::AccountProfile p;
  p.set_display_name(draft.display_name());
  p.set_website(draft.website());
  p.set_domain(draft.domain());
  *p.mutable_phones() = draft.phones();
  return p;
}

// ---- Merges ---------------------------------------------------------------

absl::Status CheckEtag(std::string_view etag, std::string_view field,
                       std::string_view what, const std::string& tenant,
                       const std::string& state_tenant, uint64_t version) {
  if (etag.empty() || version == 0 || state_tenant != tenant) {
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> expected = ParseEtag(etag);
  if (!expected.ok()) {
    return InvalidField(field,
                        "is not an etag of this service; pass the etag of a "
                        "record you read, unchanged");
  }
  if (*expected != version) {
    return absl::FailedPreconditionError(fmt::format(
        "{} changed since you read it (your etag {}, now {}); read it again "
        "and decide the merge again",
        what, *expected, version));
  }
  return absl::OkStatus();
}

std::map<std::string, v1::MergeFieldSource, std::less<>> ChoicesOf(
    const google::protobuf::Map<std::string, v1::MergeFieldSource>& choices) {
  return {choices.begin(), choices.end()};
}

// Appends the two streams of a merge or unmerge atomically, each at the
// version it was decided on (moved: ABORTED); with a request id, a retry
// gets the first result. The survivor's stream is the first.
template <typename Aggregate, typename Pair>
absl::StatusOr<Written> AppendPair(const ServiceDeps& deps,
                                   const grpc::CallbackServerContext& call,
                                   const CommandContext& context,
                                   const std::string& request_key,
                                   const typename Aggregate::State& survivor,
                                   const typename Aggregate::State& merged,
                                   const Pair& events) {
  auto append = [&](const typename Aggregate::State& state,
                    const auto& decided) {
    eventstore::StreamAppend out;
    out.stream = Aggregate::Stream(state.id);
    out.expected_version = eventstore::ExpectedVersion::Exact(state.version);
    std::vector<EncodedEvent> encoded;
    for (const auto& event : decided) encoded.push_back(EncodeEvent(event));
    out.events = ToEnvelopes(call, context, std::move(encoded));
    return out;
  };
  std::vector<eventstore::StreamAppend> appends;
  appends.push_back(append(survivor, events.survivor_events));
  appends.push_back(append(merged, events.merged_events));
  absl::StatusOr<eventstore::AppendResult> appended = AppendOrExplain(
      deps.store, std::move(appends), request_key,
      fmt::format("{}/{} or {}/{}", Aggregate::kCollection, survivor.id,
                  Aggregate::kCollection, merged.id));
  if (absl::IsAlreadyExists(appended.status()) && !request_key.empty()) {
    ASSIGN_OR_RETURN(std::optional<Written> earlier,
                     EarlierWrite(deps.store, request_key));
    if (earlier.has_value()) return *earlier;
  }
  RETURN_IF_ERROR(appended.status());
  return Written{survivor.id, appended->last_position,
                 appended->streams.at(0).last_version};
}

// A merge changes two records and what refers to them (relationships,
// activities, lists, accounts): its reply waits until every read model of
// the service shows it.
absl::Status WaitForEveryReadModel(const ServiceDeps& deps,
                                   const grpc::CallbackServerContext& call,
                                   uint64_t position) {
  for (const projection::ProjectionStatus& status : deps.engine.Status()) {
    RETURN_IF_ERROR(WaitFor(deps, call, status.name, position));
  }
  return absl::OkStatus();
}

// A contact as contacts_by_id shows it once every read model reached
// `position`.
absl::StatusOr<v1::Contact> ReadContactAt(
    const ServiceDeps& deps, const grpc::CallbackServerContext& call,
    std::string_view tenant, std::string_view id, uint64_t position) {
  RETURN_IF_ERROR(WaitForEveryReadModel(deps, call, position));
  return CurrentContact(deps, tenant, id);
}

// An account as accounts_by_id (what GetAccount reads) shows it once every
// read model reached `position`.
absl::StatusOr<v1::Account> ReadAccountAt(
    const ServiceDeps& deps, const grpc::CallbackServerContext& call,
    std::string_view tenant, std::string_view id, uint64_t position) {
  RETURN_IF_ERROR(WaitForEveryReadModel(deps, call, position));
  ASSIGN_OR_RETURN(auto view,
                   deps.engine.View(projections::kAccountsByIdProjection));
  ASSIGN_OR_RETURN(std::optional<v1::Account> account,
                   projections::GetAccountRecord(*view, tenant, id));
  if (!account.has_value()) {
    return absl::NotFoundError(fmt::format("accounts/{} does not exist", id));
  }
  return *std::move(account);
}

// The two ids of a merge request; the survivor's first.
absl::StatusOr<std::pair<std::string, std::string>> PairOf(
    RecordType type, const std::string& survivor, const std::string& merged) {
  ASSIGN_OR_RETURN(std::string survivor_id, IdOf(type, survivor, "survivor"));
  ASSIGN_OR_RETURN(std::string merged_id, IdOf(type, merged, "merged"));
  return std::make_pair(std::move(survivor_id), std::move(merged_id));
}

// The merge or unmerge of two records of Aggregate: an earlier result for
// the request id, else load both, check the etags, decide, append both.
template <typename Aggregate, typename DecideFn>
absl::StatusOr<Written> ExecutePair(
    const ServiceDeps& deps, const grpc::CallbackServerContext& call,
    const CommandContext& context, const std::string& survivor_id,
    const std::string& merged_id, std::string_view survivor_etag,
    std::string_view merged_etag, std::string_view request_id,
    const DecideFn& decide) {
  ASSIGN_OR_RETURN(std::string request_key, RequestKey(context, request_id));
  ASSIGN_OR_RETURN(std::optional<Written> earlier,
                   EarlierWrite(deps.store, request_key));
  if (earlier.has_value()) return *earlier;
  ASSIGN_OR_RETURN(typename Aggregate::State survivor,
                   Load<Aggregate>(deps, survivor_id));
  ASSIGN_OR_RETURN(typename Aggregate::State merged,
                   Load<Aggregate>(deps, merged_id));
  if (survivor.id.empty()) survivor.id = survivor_id;
  if (merged.id.empty()) merged.id = merged_id;
  const std::string collection(Aggregate::kCollection);
  RETURN_IF_ERROR(CheckEtag(survivor_etag, "survivor_etag",
                            fmt::format("{}/{}", collection, survivor_id),
                            context.tenant, survivor.tenant, survivor.version));
  RETURN_IF_ERROR(CheckEtag(merged_etag, "merged_etag",
                            fmt::format("{}/{}", collection, merged_id),
                            context.tenant, merged.tenant, merged.version));
  ASSIGN_OR_RETURN(auto events, decide(survivor, merged));
  return AppendPair<Aggregate>(deps, call, context, request_key, survivor,
                               merged, events);
}

// MergeX and UnmergeX of either aggregate: the caller, both ids, the pair
// executed with `decide(context, survivor_id, merged_id, survivor_state,
// merged_state)` (the domain's DecideMerge or DecideUnmerge), then the
// survivor (and, for an unmerge, the restored record when `restored` is not
// null) read back with `read` once every read model shows the write.
template <typename Aggregate, typename Resource, typename DecideFn>
absl::Status ChangePair(const ServiceDeps& deps,
                        grpc::CallbackServerContext& call, RecordType type,
                        const std::string& survivor_name,
                        const std::string& merged_name,
                        std::string_view survivor_etag,
                        std::string_view merged_etag,
                        std::string_view request_id, const DecideFn& decide,
                        ReadBackFn<Resource> read, Resource& survivor,
                        Resource* restored, common::v1::WriteResult& result) {
  ASSIGN_OR_RETURN(CommandContext context, CallerOf(call, deps));
  ASSIGN_OR_RETURN(auto ids, PairOf(type, survivor_name, merged_name));
  ASSIGN_OR_RETURN(Written written,
                   ExecutePair<Aggregate>(
                       deps, call, context, ids.first, ids.second,
                       survivor_etag, merged_etag, request_id,
                       [&](const typename Aggregate::State& s,
                           const typename Aggregate::State& m) {
                         return decide(context, ids.first, ids.second, s, m);
                       }));
  ASSIGN_OR_RETURN(
      survivor, read(deps, call, context.tenant, written.id, written.position));
  if (restored != nullptr) {
    ASSIGN_OR_RETURN(*restored, read(deps, call, context.tenant, ids.second,
                                     written.position));
  }
  SetResult(written, result);
  return absl::OkStatus();
}

}  // namespace

grpc::ServerUnaryReactor* ContactServiceImpl::FindDuplicateContacts(
    grpc::CallbackServerContext* call,
    const v1::FindDuplicateContactsRequest* request,
    v1::FindDuplicateContactsResponse* response) {
  return Serve(deps_, call, "", [=, this]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context, CallerOf(*call, deps_));
    ASSIGN_OR_RETURN(double min_score, MinScoreOf(request->min_score()));
    ASSIGN_OR_RETURN(size_t page_size, PageSizeOf(request->page().page_size(),
                                                  50, kMaxDuplicatePage));
    ASSIGN_OR_RETURN(std::string start_after,
                     DecodePageToken(*request, request->page().page_token()));
    DuplicateSearch search;
    search.min_score = min_score;
    search.max_results = std::numeric_limits<size_t>::max();
    ASSIGN_OR_RETURN(auto view, QualityView(deps_, *call));
    switch (request->subject_case()) {
      case v1::FindDuplicateContactsRequest::kName: {
        ASSIGN_OR_RETURN(std::string id,
                         IdOf(RecordType::kContact, request->name(), "name"));
        ASSIGN_OR_RETURN(
            std::optional<projections::StoredContact> stored,
            projections::GetQualityContact(*view, context.tenant, id));
        if (!stored.has_value()) {
          return absl::NotFoundError(
              fmt::format("contacts/{} does not exist", id));
        }
        ASSIGN_OR_RETURN(
            std::optional<ContactMatchProfile> profile,
            StoredContactProfile(*view, deps_.sealer, context.tenant, id));
        if (!profile.has_value()) {
          return absl::FailedPreconditionError(fmt::format(
              "contacts/{} is {}: only active contacts are matched; undelete "
              "it, or search from its survivor",
              id, v1::RecordState_Name(stored->clear.state())));
        }
        search.exclude_id = id;
        ASSIGN_OR_RETURN(
            std::vector<LikelyDuplicate> found,
            LikelyDuplicateContacts(deps_, context.tenant, *profile, search));
        return PageCandidates(
            ToCandidates(RecordType::kContact, found, request->name()),
            *request, page_size, start_after, *response);
      }
      case v1::FindDuplicateContactsRequest::kDraft: {
        ASSIGN_OR_RETURN(ContactFields fields, DraftFieldsOf(request->draft()));
        ASSIGN_OR_RETURN(
            std::vector<LikelyDuplicate> found,
            LikelyDuplicateContacts(deps_, context.tenant, fields, "", search));
        return PageCandidates(ToCandidates(RecordType::kContact, found, ""),
                              *request, page_size, start_after, *response);
      }
      case v1::FindDuplicateContactsRequest::SUBJECT_NOT_SET:
        break;
    }
    return AnswerPairs<ContactMatchProfile>(
        *view, QualityRecord::kContact, context.tenant, min_score, page_size,
        start_after,
        [&](const std::string& id) {
          return StoredContactProfile(*view, deps_.sealer, context.tenant, id);
        },
        &ScoreContactPair, *request, *response);
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::FindDuplicateAccounts(
    grpc::CallbackServerContext* call,
    const v1::FindDuplicateAccountsRequest* request,
    v1::FindDuplicateAccountsResponse* response) {
  return Serve(deps_, call, "", [=, this]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context, CallerOf(*call, deps_));
    ASSIGN_OR_RETURN(double min_score, MinScoreOf(request->min_score()));
    ASSIGN_OR_RETURN(size_t page_size, PageSizeOf(request->page().page_size(),
                                                  50, kMaxDuplicatePage));
    ASSIGN_OR_RETURN(std::string start_after,
                     DecodePageToken(*request, request->page().page_token()));
    DuplicateSearch search;
    search.min_score = min_score;
    search.max_results = std::numeric_limits<size_t>::max();
    ASSIGN_OR_RETURN(auto view, QualityView(deps_, *call));
    if (request->subject_case() !=
        v1::FindDuplicateAccountsRequest::SUBJECT_NOT_SET) {
      v1::AccountProfile subject;
      std::string subject_name;
      if (request->has_draft()) {
        subject = DraftProfileOf(request->draft());
      } else {
        ASSIGN_OR_RETURN(std::string id,
                         IdOf(RecordType::kAccount, request->name(), "name"));
        ASSIGN_OR_RETURN(
            std::optional<AccountState> stored,
            projections::GetQualityAccount(*view, context.tenant, id));
        if (!stored.has_value()) {
          return absl::NotFoundError(
              fmt::format("accounts/{} does not exist", id));
        }
        if (stored->deleted || !stored->merged_into.empty()) {
          return absl::FailedPreconditionError(fmt::format(
              "accounts/{} is {}: only active accounts are matched; undelete "
              "it, or search from its survivor",
              id, stored->deleted ? "deleted" : "merged"));
        }
        subject = stored->profile;
        subject_name = request->name();
        search.exclude_id = id;
      }
      ASSIGN_OR_RETURN(
          std::vector<LikelyDuplicate> found,
          LikelyDuplicateAccounts(deps_, context.tenant, subject, search));
      return PageCandidates(
          ToCandidates(RecordType::kAccount, found, subject_name), *request,
          page_size, start_after, *response);
    }
    return AnswerPairs<AccountMatchProfile>(
        *view, QualityRecord::kAccount, context.tenant, min_score, page_size,
        start_after,
        [&](const std::string& id)
            -> absl::StatusOr<std::optional<AccountMatchProfile>> {
          ASSIGN_OR_RETURN(
              std::optional<AccountState> state,
              projections::GetQualityAccount(*view, context.tenant, id));
          if (!state.has_value() || state->deleted ||
              !state->merged_into.empty()) {
            return std::nullopt;
          }
          return AccountMatchProfileOf(id, state->profile);
        },
        &ScoreAccountPair, *request, *response);
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::MergeContacts(
    grpc::CallbackServerContext* call, const v1::MergeContactsRequest* request,
    v1::MergeContactsResponse* response) {
  return Serve(deps_, call, "", [=, this]() -> absl::Status {
    return ChangePair<ContactAggregate>(
        deps_, *call, RecordType::kContact, request->survivor(),
        request->merged(), request->survivor_etag(), request->merged_etag(),
        request->context().request_id(),
        [&](const CommandContext& context, const std::string& survivor_id,
            const std::string& merged_id, const ContactState& survivor,
            const ContactState& merged) {
          return DecideMerge(
              survivor, merged,
              crm::contact::MergeContacts{survivor_id, merged_id,
                                          ChoicesOf(request->field_choices())},
              context, deps_.sealer);
        },
        &ReadContactAt, *response->mutable_survivor(),
        static_cast<v1::Contact*>(nullptr), *response->mutable_result());
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::UnmergeContacts(
    grpc::CallbackServerContext* call,
    const v1::UnmergeContactsRequest* request,
    v1::UnmergeContactsResponse* response) {
  return Serve(deps_, call, "", [=, this]() -> absl::Status {
    return ChangePair<ContactAggregate>(
        deps_, *call, RecordType::kContact, request->survivor(),
        request->merged(), "", "", request->context().request_id(),
        [&](const CommandContext& context, const std::string& survivor_id,
            const std::string& merged_id, const ContactState& survivor,
            const ContactState& merged) {
          return DecideUnmerge(
              survivor, merged,
              crm::contact::UnmergeContacts{survivor_id, merged_id}, context,
              deps_.sealer);
        },
        &ReadContactAt, *response->mutable_survivor(),
        response->mutable_restored(), *response->mutable_result());
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::MergeAccounts(
    grpc::CallbackServerContext* call, const v1::MergeAccountsRequest* request,
    v1::MergeAccountsResponse* response) {
  return Serve(deps_, call, "", [=, this]() -> absl::Status {
    return ChangePair<AccountAggregate>(
        deps_, *call, RecordType::kAccount, request->survivor(),
        request->merged(), request->survivor_etag(), request->merged_etag(),
        request->context().request_id(),
        [&](const CommandContext& context, const std::string& survivor_id,
            const std::string& merged_id, const AccountState& survivor,
            const AccountState& merged) {
          return DecideMerge(
              survivor, merged,
              crm::contact::MergeAccounts{survivor_id, merged_id,
                                          ChoicesOf(request->field_choices())},
              context);
        },
        &ReadAccountAt, *response->mutable_survivor(),
        static_cast<v1::Account*>(nullptr), *response->mutable_result());
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::UnmergeAccounts(
    grpc::CallbackServerContext* call,
    const v1::UnmergeAccountsRequest* request,
    v1::UnmergeAccountsResponse* response) {
  return Serve(deps_, call, "", [=, this]() -> absl::Status {
    return ChangePair<AccountAggregate>(
        deps_, *call, RecordType::kAccount, request->survivor(),
        request->merged(), "", "", request->context().request_id(),
        [&](const CommandContext& context, const std::string& survivor_id,
            const std::string& merged_id, const AccountState& survivor,
            const AccountState& merged) {
          return DecideUnmerge(
              survivor, merged,
              crm::contact::UnmergeAccounts{survivor_id, merged_id}, context);
        },
        &ReadAccountAt, *response->mutable_survivor(),
        response->mutable_restored(), *response->mutable_result());
  });
}

grpc::ServerUnaryReactor* ContactServiceImpl::ListIncompleteRecords(
    grpc::CallbackServerContext* call,
    const v1::ListIncompleteRecordsRequest* request,
    v1::ListIncompleteRecordsResponse* response) {
  return Serve(deps_, call, "", [=, this]() -> absl::Status {
    ASSIGN_OR_RETURN(CommandContext context, CallerOf(*call, deps_));
    projections::IncompleteQuery query;
    query.tenant = context.tenant;
    const bool contacts = request->kind() == v1::RECORD_KIND_CONTACT;
    if (!contacts && request->kind() != v1::RECORD_KIND_ACCOUNT) {
      return InvalidField("kind",
                          "must be RECORD_KIND_CONTACT or RECORD_KIND_ACCOUNT");
    }
    query.kind = contacts ? QualityRecord::kContact : QualityRecord::kAccount;
    query.required.assign(request->required_fields().begin(),
                          request->required_fields().end());
    if (query.required.empty()) {
      query.required = contacts ? deps_.options.required_contact_fields
                                : deps_.options.required_account_fields;
    }
    RETURN_IF_ERROR(contacts ? ValidateRequiredContactFields(query.required)
                             : ValidateRequiredAccountFields(query.required));
    query.owner = request->owner();
    ASSIGN_OR_RETURN(query.page_size, PageSizeOf(request->page().page_size()));
    ASSIGN_OR_RETURN(query.start_after,
                     DecodePageToken(*request, request->page().page_token()));
    ASSIGN_OR_RETURN(auto view, QualityView(deps_, *call));
    ASSIGN_OR_RETURN(projections::IncompletePage page,
                     projections::ListIncomplete(*view, query));
    const RecordType type =
        contacts ? RecordType::kContact : RecordType::kAccount;
    for (projections::IncompleteEntry& entry : page.records) {
      v1::IncompleteRecord* record = response->add_records();
      record->set_record(ResourceName(type, entry.id));
      for (std::string& field : entry.missing) {
        record->add_missing_fields(std::move(field));
      }
    }
    if (!page.resume_after.empty()) {
      response->mutable_page()->set_next_page_token(
          EncodePageToken(*request, page.resume_after));
    }
    return absl::OkStatus();
  });
}

}  // namespace crm::contact::api
