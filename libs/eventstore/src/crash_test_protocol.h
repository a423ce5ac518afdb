// The protocol shared by the event store's kill -9 crash test
// (event_store_crash_test.cc, the parent) and its child process
// (event_store_crash_child.cc): the requests the child's writers make, and
// the line on which the child reports each acknowledged append. Test-only.
//
// Each event's payload is "<request_id>|<index>|<count>": its index among the
// `count` events of its append (all streams together, in request order). The
// child reports an acknowledged append as one line:
//
//   A <request_id> <first_position> <last_position> <stream count>
//     (<stream> <x = exact | a = any> <first_version> <last_version>)...
//
// and an error as "E <message>" before it exits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "crm/eventstore/event_store.h"
#include "crm/eventstore/expected_version.h"

namespace crm::eventstore::crash_test {

inline constexpr char kEventType[] = "crm.test.v1.CrashTested";

// The payload of event `index` of the `count` events of an append.
inline std::string PayloadOf(absl::string_view request_id, size_t index,
                             size_t count) {
  return absl::StrCat(request_id, "|", index, "|", count);
}

// One stream of an append: where its events landed and how it was expected.
struct StreamRange {
  std::string stream;
  // Expected Exact(first_version - 1), which is NoStream when the stream was
  // empty; otherwise Any. (The writers use no other kind.)
  bool exact = false;
  uint64_t first_version = 0;
  uint64_t last_version = 0;
};

// An acknowledged append, as the child reported it.
struct AckedAppend {
  std::string request_id;
  uint64_t first_position = 0;
  uint64_t last_position = 0;
  std::vector<StreamRange> streams;

  size_t EventCount() const {
    size_t count = 0;
    for (const StreamRange& range : streams) {
      count += range.last_version - range.first_version + 1;
    }
    return count;
  }
};

// What a writer asks for on one stream.
struct StreamPlan {
  std::string stream;
  ExpectedVersion expected_version;
  size_t count;
};

// The request for `plans`, with the payloads described above; the parent
// rebuilds the same request from an AckedAppend to retry it.
inline std::vector<StreamAppend> BuildRequest(
    absl::string_view request_id, const std::vector<StreamPlan>& plans) {
  size_t total = 0;
  for (const StreamPlan& plan : plans) total += plan.count;
  std::vector<StreamAppend> request;
  size_t index = 0;
  for (const StreamPlan& plan : plans) {
    StreamAppend part{plan.stream, plan.expected_version, {}};
    for (size_t i = 0; i < plan.count; ++i) {
      Envelope event;
      event.set_type(kEventType);
      event.set_payload(PayloadOf(request_id, index++, total));
      part.events.push_back(std::move(event));
    }
    request.push_back(std::move(part));
  }
  return request;
}

// The plans that rebuild the request of `ack`.
inline std::vector<StreamPlan> PlansOf(const AckedAppend& ack) {
  std::vector<StreamPlan> plans;
  for (const StreamRange& range : ack.streams) {
    plans.push_back({range.stream,
                     range.exact
                         ? ExpectedVersion::Exact(range.first_version - 1)
                         : ExpectedVersion::Any(),
                     range.last_version - range.first_version + 1});
  }
  return plans;
}

// The AckedAppend of a committed request.
inline AckedAppend AckOf(absl::string_view request_id,
                         const std::vector<StreamPlan>& plans,
                         const AppendResult& result) {
  AckedAppend ack;
  ack.request_id = std::string(request_id);
  ack.first_position = result.first_position;
  ack.last_position = result.last_position;
  for (size_t s = 0; s < result.streams.size(); ++s) {
    ack.streams.push_back(
        {result.streams[s].stream,
         s < plans.size() &&
             plans[s].expected_version.kind() != ExpectedVersion::Kind::kAny,
         result.streams[s].first_version, result.streams[s].last_version});
  }
  return ack;
}

// The report line of `ack`, newline included.
inline std::string FormatAck(const AckedAppend& ack) {
  std::string line =
      absl::StrCat("A ", ack.request_id, " ", ack.first_position, " ",
                   ack.last_position, " ", ack.streams.size());
  for (const StreamRange& range : ack.streams) {
    absl::StrAppend(&line, " ", range.stream, range.exact ? " x " : " a ",
                    range.first_version, " ", range.last_version);
  }
  line += "\n";
  return line;
}

// The AckedAppend of a report line without its newline; nullopt when the
// line is malformed.
inline std::optional<AckedAppend> ParseAck(absl::string_view line) {
  std::vector<absl::string_view> fields =
      absl::StrSplit(line, ' ', absl::SkipEmpty());
  AckedAppend ack;
  size_t stream_count = 0;
  if (fields.size() < 5 || fields[0] != "A" ||
      !absl::SimpleAtoi(fields[2], &ack.first_position) ||
      !absl::SimpleAtoi(fields[3], &ack.last_position) ||
      !absl::SimpleAtoi(fields[4], &stream_count) ||
      fields.size() != 5 + 4 * stream_count) {
    return std::nullopt;
  }
  ack.request_id = std::string(fields[1]);
  for (size_t s = 0; s < stream_count; ++s) {
    StreamRange range;
    range.stream = std::string(fields[5 + 4 * s]);
    range.exact = fields[6 + 4 * s] == "x";
    if (!absl::SimpleAtoi(fields[7 + 4 * s], &range.first_version) ||
        !absl::SimpleAtoi(fields[8 + 4 * s], &range.last_version) ||
        range.first_version == 0 || range.last_version < range.first_version) {
      return std::nullopt;
    }
    ack.streams.push_back(std::move(range));
  }
  return ack;
}

}  // namespace crm::eventstore::crash_test
