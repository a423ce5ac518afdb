// Concurrency tests of EventStore: racing appends to one stream, many writers
// on many streams with multi-stream appends mixed in, and racing retries of
// one request_id. Each test checks the end state of the store against every
// acknowledged append.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <latch>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "crm/eventstore/event_store.h"
#include "crm/eventstore/expected_version.h"
#include "crm/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store_test_util.h"

namespace crm::eventstore {
namespace {

using ::crm::testing::IsOk;
using test_util::ReadWholeLog;
using test_util::ReadWholeStream;

constexpr char kEventType[] = "crm.test.v1.ConcurrencyTested";

Envelope MakeEvent(std::string payload) {
  Envelope event;
  event.set_type(kEventType);
  event.set_payload(std::move(payload));
  return event;
}

// Payload of event `index` of an append of `count` events (all its streams
// together, in request order): "<append id>|<index>|<count>".
std::string PayloadOf(absl::string_view append_id, size_t index, size_t count) {
  return absl::StrCat(append_id, "|", index, "|", count);
}

struct PayloadParts {
  std::string append_id;
  size_t index = 0;
  size_t count = 0;
};

std::optional<PayloadParts> ParsePayload(absl::string_view payload) {
  std::vector<absl::string_view> parts = absl::StrSplit(payload, '|');
  PayloadParts result;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[1], &result.index) ||
      !absl::SimpleAtoi(parts[2], &result.count) ||
      result.index >= result.count) {
    return std::nullopt;
  }
  result.append_id = std::string(parts[0]);
  return result;
}

std::string Describe(const AppendResult& result) {
  std::string text = absl::StrCat("positions ", result.first_position, "..",
                                  result.last_position, " streams");
  for (const StreamAppendResult& stream : result.streams) {
    absl::StrAppend(&text, " ", stream.stream, "@", stream.first_version, "..",
                    stream.last_version);
  }
  return text;
}

// The stream's current version, 0 when it has no events; read with
// GetStreamInfo or with a one-event backward ReadStream.
absl::StatusOr<uint64_t> CurrentVersion(const EventStore& store,
                                        const std::string& stream,
                                        bool read_backward) {
  if (read_backward) {
    absl::StatusOr<StreamSlice> slice = store.ReadStream(
        stream, Direction::kBackward, EventStore::kEndOfStream, 1);
    if (absl::IsNotFound(slice.status())) return 0;
    if (!slice.ok()) return slice.status();
    return slice->last_version;
  }
  absl::StatusOr<StreamInfo> info = store.GetStreamInfo(stream);
  if (absl::IsNotFound(info.status())) return 0;
  if (!info.ok()) return info.status();
  return info->last_version;
}

class EventStoreConcurrencyTest : public test_util::StoreTest {
 protected:
  EventStoreConcurrencyTest() : StoreTest("eventstore_concurrency") {}
};

// One append that won its race: what it expected and what it got.
struct WonAppend {
  uint64_t expected_version = 0;
  std::vector<std::string> payloads;
  AppendResult result;
};

TEST_F(EventStoreConcurrencyTest, AppendsToOneStreamFromManyThreadsLeaveNoGap) {
  // Synced: the racing appends meet in the same commit groups, which is
  // where a version check done outside the commit would let two through.
  ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/true));
  constexpr int kThreads = 8;
  constexpr int kAppendsPerThread = 6;
  constexpr int kMaxAttempts = 10'000;
  const std::string stream = "order-1";

  std::vector<std::vector<WonAppend>> won(kThreads);
  std::vector<int> aborted(kThreads, 0);
  std::latch start(kThreads);
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        for (int a = 0; a < kAppendsPerThread; ++a) {
          absl::StatusOr<uint64_t> version =
              CurrentVersion(*store_, stream, /*read_backward=*/t % 2 == 1);
          if (!version.ok()) {
            ADD_FAILURE() << "thread " << t << ": " << version.status();
            return;
          }
          const std::string append_id = absl::StrCat("t", t, "-a", a);
          const size_t count = 1 + (t + a) % 3;
          WonAppend attempt;
          attempt.expected_version = *version;
          for (size_t i = 0; i < count; ++i) {
            attempt.payloads.push_back(PayloadOf(append_id, i, count));
          }
          for (int tries = 0;; ++tries) {
            if (tries == kMaxAttempts) {
              ADD_FAILURE() << "thread " << t << " never won an append";
              return;
            }
            std::vector<Envelope> events;
            for (const std::string& payload : attempt.payloads) {
              events.push_back(MakeEvent(payload));
            }
            absl::StatusOr<AppendResult> result = store_->Append(
                stream, ExpectedVersion::Exact(attempt.expected_version),
                std::move(events));
            if (result.ok()) {
              attempt.result = *std::move(result);
              won[t].push_back(std::move(attempt));
              break;
            }
            if (!absl::IsAborted(result.status())) {
              ADD_FAILURE() << "thread " << t << ": " << result.status();
              return;
            }
            ++aborted[t];
            std::optional<uint64_t> actual = ActualVersion(result.status());
            if (!actual.has_value() || *actual <= attempt.expected_version) {
              ADD_FAILURE()
                  << "ABORTED for expected version " << attempt.expected_version
                  << " must carry a larger actual version: " << result.status();
              return;
            }
            attempt.expected_version = *actual;
          }
        }
      });
    }
  }
  if (HasFailure()) return;

  std::vector<WonAppend> all;
  int total_aborted = 0;
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(won[t].size(), kAppendsPerThread) << "thread " << t;
    total_aborted += aborted[t];
    for (WonAppend& append : won[t]) all.push_back(std::move(append));
  }
  std::sort(all.begin(), all.end(), [](const WonAppend& a, const WonAppend& b) {
    return a.expected_version < b.expected_version;
  });

  // Exactly one append won at each version it started from, and together
  // they cover 1..N with no gap and no overlap.
  uint64_t version = 0;
  std::vector<std::string> payloads_in_version_order;
  for (const WonAppend& append : all) {
    SCOPED_TRACE(Describe(append.result));
    const uint64_t count = append.payloads.size();
    EXPECT_EQ(append.expected_version, version);
    ASSERT_EQ(append.result.streams.size(), 1u);
    EXPECT_EQ(append.result.streams[0].stream, stream);
    EXPECT_EQ(append.result.streams[0].first_version, version + 1);
    EXPECT_EQ(append.result.streams[0].last_version, version + count);
    EXPECT_EQ(append.result.last_position - append.result.first_position + 1,
              count);
    EXPECT_FALSE(append.result.deduplicated);
    version += count;
    for (const std::string& payload : append.payloads) {
      payloads_in_version_order.push_back(payload);
    }
  }

  ASSERT_OK_AND_ASSIGN(StreamInfo info, store_->GetStreamInfo(stream));
  EXPECT_EQ(info.last_version, version);
  EXPECT_EQ(store_->LastPosition(), version);

  // Every won append's events are in the stream exactly once, at the
  // versions and positions its result named; nothing else is.
  ASSERT_OK_AND_ASSIGN(std::vector<Envelope> events,
                       ReadWholeStream(*store_, stream));
  ASSERT_EQ(events.size(), version);
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].stream_version(), i + 1);
    EXPECT_EQ(events[i].payload(), payloads_in_version_order[i])
        << "at version " << i + 1;
  }
  if (HasFailure()) return;  // The results did not chain; nothing to index.
  for (const WonAppend& append : all) {
    for (size_t i = 0; i < append.payloads.size(); ++i) {
      const Envelope& event =
          events[append.result.streams[0].first_version - 1 + i];
      EXPECT_EQ(event.global_position(), append.result.first_position + i);
    }
  }

  // Each ABORTED told a thread that another thread's append had won at the
  // version it held; the versions a thread holds only grow, so it cannot
  // lose more often than the others won.
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_LE(aborted[t], static_cast<int>(all.size()) - kAppendsPerThread)
        << "thread " << t;
  }
  const EventStoreStats stats = store_->stats();
  RecordProperty("aborted", total_aborted);
  RecordProperty("commit_groups", static_cast<int>(stats.commit_groups));
  EXPECT_EQ(stats.conflicts, static_cast<uint64_t>(total_aborted));
  EXPECT_EQ(stats.appends, all.size());
  EXPECT_EQ(stats.events, version);
  EXPECT_EQ(stats.deduplicated, 0u);
}

// One acknowledged append of the many-streams test, in request order.
struct AckedAppend {
  std::vector<std::string> request_streams;
  std::vector<std::string> streams;  // Stream of each event.
  std::vector<std::string> payloads;
  AppendResult result;
};

// A reader that follows the log while it is written and checks that it never
// meets a gap: every page continues exactly where the previous one ended, and
// a page that reaches the end of the log ends with the last event of an
// append (appends become visible whole).
void TailLog(const EventStore& store, const std::atomic<bool>& writers_done,
             uint64_t* events_seen) {
  uint64_t from = 1;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    // Read the flag before the position so that the last pass sees all.
    const bool done = writers_done.load();
    const uint64_t last = store.LastPosition();
    absl::StatusOr<AllSlice> slice = store.ReadAll(from, 37);
    if (!slice.ok()) {
      ADD_FAILURE() << "tailing ReadAll(" << from << "): " << slice.status();
      return;
    }
    for (size_t i = 0; i < slice->events.size(); ++i) {
      if (slice->events[i].global_position() != from + i) {
        ADD_FAILURE() << "tailing reader asked for position " << from + i
                      << " and got " << slice->events[i].global_position();
        return;
      }
    }
    if (slice->next_position != from + slice->events.size()) {
      ADD_FAILURE() << "ReadAll(" << from << ") returned "
                    << slice->events.size() << " events and next_position "
                    << slice->next_position;
      return;
    }
    if (slice->end_of_log && !slice->events.empty()) {
      std::optional<PayloadParts> parts =
          ParsePayload(slice->events.back().payload());
      if (!parts.has_value() || parts->index + 1 != parts->count) {
        ADD_FAILURE() << "the log ended at position "
                      << slice->events.back().global_position()
                      << " in the middle of an append: payload "
                      << slice->events.back().payload();
        return;
      }
    }
    from = slice->next_position;
    if (done && from > last) {
      *events_seen = from - 1;
      return;
    }
    if (slice->events.empty()) std::this_thread::yield();
  }
  ADD_FAILURE() << "the tailing reader did not reach the end of the log";
}

TEST_F(EventStoreConcurrencyTest,
       AppendsToManyStreamsFillTheLogWithoutGapInVersionOrder) {
  // Unsynced: this test is about positions and order, not durability, and
  // without an fsync per group the writers interleave many more appends in
  // the same time, which is what gaps and reordering need to show.
  ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/false));
  constexpr int kWriters = 6;
  constexpr int kAppendsPerWriter = 45;

  std::vector<std::vector<AckedAppend>> acked(kWriters);
  std::atomic<bool> writers_done{false};
  uint64_t tailed_events = 0;
  std::latch start(kWriters + 1);
  {
    std::jthread tail([&] {
      start.arrive_and_wait();
      TailLog(*store_, writers_done, &tailed_events);
    });
    {
      std::vector<std::jthread> writers;
      for (int w = 0; w < kWriters; ++w) {
        writers.emplace_back([&, w] {
          // This writer alone writes its own streams, so it knows their
          // versions; every writer also appends to the shared streams.
          std::map<std::string, uint64_t> own_versions;
          auto own = [&](int i) {
            std::string name = absl::StrCat("account-", w, "-", i % 3);
            own_versions.try_emplace(name, 0);
            return name;
          };
          start.arrive_and_wait();
          for (int a = 0; a < kAppendsPerWriter; ++a) {
            std::vector<StreamAppend> request;
            const std::string shared = absl::StrCat("shared-", a % 2);
            switch (a % 3) {
              case 0:
                request.push_back({own(a), ExpectedVersion::Any(), {}});
                break;
              case 1:
                request.push_back({own(a), ExpectedVersion::Any(), {}});
                request.push_back({shared, ExpectedVersion::Any(), {}});
                break;
              default:
                request.push_back({shared, ExpectedVersion::Any(), {}});
                request.push_back({own(a), ExpectedVersion::Any(), {}});
                request.push_back({own(a + 1), ExpectedVersion::Any(), {}});
                break;
            }
            size_t total = 0;
            std::vector<size_t> counts;
            for (size_t s = 0; s < request.size(); ++s) {
              counts.push_back(1 + (w + a + s) % 3);
              total += counts.back();
            }
            const std::string append_id = absl::StrCat("w", w, "-a", a);
            AckedAppend ack;
            size_t index = 0;
            for (size_t s = 0; s < request.size(); ++s) {
              StreamAppend& part = request[s];
              ack.request_streams.push_back(part.stream);
              if (auto it = own_versions.find(part.stream);
                  it != own_versions.end()) {
                part.expected_version = ExpectedVersion::Exact(it->second);
              }
              for (size_t i = 0; i < counts[s]; ++i) {
                ack.payloads.push_back(PayloadOf(append_id, index++, total));
                ack.streams.push_back(part.stream);
                part.events.push_back(MakeEvent(ack.payloads.back()));
              }
            }
            absl::StatusOr<AppendResult> result =
                request.size() == 1
                    ? store_->Append(request[0].stream,
                                     request[0].expected_version,
                                     std::move(request[0].events))
                    : store_->AppendMulti(std::move(request));
            if (!result.ok()) {
              ADD_FAILURE() << "writer " << w << " append " << a << ": "
                            << result.status();
              return;
            }
            for (const StreamAppendResult& stream : result->streams) {
              if (auto it = own_versions.find(stream.stream);
                  it != own_versions.end()) {
                it->second = stream.last_version;
              }
            }
            ack.result = *std::move(result);
            acked[w].push_back(std::move(ack));
          }
        });
      }
    }
    writers_done.store(true);
  }
  if (HasFailure()) return;

  ASSERT_OK_AND_ASSIGN(std::vector<Envelope> log, ReadWholeLog(*store_, 97));
  const uint64_t last_position = store_->LastPosition();
  ASSERT_EQ(log.size(), last_position);
  EXPECT_EQ(tailed_events, last_position);
  for (size_t i = 0; i < log.size(); ++i) {
    ASSERT_EQ(log[i].global_position(), i + 1) << "gap or disorder in the log";
  }

  // Every acknowledged event is in the log exactly once, where its append's
  // result put it; the events of all appends add up to the whole log.
  size_t acked_events = 0;
  std::map<std::string, int> payload_seen;
  for (const Envelope& event : log) ++payload_seen[event.payload()];
  for (int w = 0; w < kWriters; ++w) {
    ASSERT_EQ(acked[w].size(), kAppendsPerWriter);
    for (const AckedAppend& ack : acked[w]) {
      SCOPED_TRACE(Describe(ack.result));
      const AppendResult& result = ack.result;
      ASSERT_GE(result.first_position, 1u);
      ASSERT_EQ(result.last_position - result.first_position + 1,
                ack.payloads.size());
      ASSERT_LE(result.last_position, last_position);
      ASSERT_EQ(result.streams.size(), ack.request_streams.size());
      for (size_t s = 0; s < result.streams.size(); ++s) {
        EXPECT_EQ(result.streams[s].stream, ack.request_streams[s])
            << "results must come in the order of the request";
      }
      acked_events += ack.payloads.size();
      // Versions within the append, per stream, in request order.
      std::map<std::string, uint64_t> next_version;
      for (const StreamAppendResult& stream : result.streams) {
        next_version[stream.stream] = stream.first_version;
      }
      for (size_t k = 0; k < ack.payloads.size(); ++k) {
        EXPECT_EQ(payload_seen[ack.payloads[k]], 1) << ack.payloads[k];
        const Envelope& event = log[result.first_position - 1 + k];
        EXPECT_EQ(event.payload(), ack.payloads[k]);
        EXPECT_EQ(event.stream(), ack.streams[k]);
        EXPECT_EQ(event.stream_version(), next_version[ack.streams[k]]++);
      }
      for (const StreamAppendResult& stream : result.streams) {
        EXPECT_EQ(next_version[stream.stream], stream.last_version + 1)
            << stream.stream;
      }
    }
  }
  EXPECT_EQ(acked_events, log.size());

  // Each stream's events appear in the log in version order 1, 2, 3 ...
  // and its index agrees.
  std::map<std::string, uint64_t> stream_versions;
  for (const Envelope& event : log) {
    EXPECT_EQ(event.stream_version(), ++stream_versions[event.stream()])
        << event.stream() << " at position " << event.global_position();
  }
  for (const auto& [stream, version] : stream_versions) {
    ASSERT_OK_AND_ASSIGN(StreamInfo info, store_->GetStreamInfo(stream));
    EXPECT_EQ(info.last_version, version) << stream;
    ASSERT_OK_AND_ASSIGN(std::vector<Envelope> events,
                         ReadWholeStream(*store_, stream));
    ASSERT_EQ(events.size(), version) << stream;
    for (size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(events[i].stream_version(), i + 1) << stream;
    }
  }
}

TEST_F(EventStoreConcurrencyTest, SameRequestIdFromManyThreadsAppendsOnce) {
  // Synced: the duplicates must arrive while the first append waits for its
  // fsync, when a request_id check outside the commit would let a second
  // copy through.
  ASSERT_NO_FATAL_FAILURE(OpenStore(/*sync=*/true));
  constexpr int kThreads = 8;
  constexpr int kRounds = 6;
  constexpr size_t kEventsPerAppend = 2;

  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    const std::string stream = absl::StrCat("deal-", round);
    const std::string request_id = absl::StrCat("request-", round);
    // Even rounds race with Any (a racy check appends twice), odd rounds with
    // NoStream (a racy check answers ABORTED to the duplicates).
    const ExpectedVersion expected =
        round % 2 == 0 ? ExpectedVersion::Any() : ExpectedVersion::NoStream();
    std::vector<absl::StatusOr<AppendResult>> results(
        kThreads, absl::UnknownError("not run"));
    std::latch start(kThreads);
    {
      std::vector<std::jthread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
          std::vector<Envelope> events;
          for (size_t i = 0; i < kEventsPerAppend; ++i) {
            events.push_back(
                MakeEvent(PayloadOf(request_id, i, kEventsPerAppend)));
          }
          start.arrive_and_wait();
          // Half the callers use the multi-stream form of the same request.
          if (t % 2 == 0) {
            results[t] =
                store_->Append(stream, expected, std::move(events), request_id);
          } else {
            std::vector<StreamAppend> request;
            request.push_back({stream, expected, std::move(events)});
            results[t] = store_->AppendMulti(std::move(request), request_id);
          }
        });
      }
    }

    int originals = 0;
    std::optional<std::string> first_description;
    for (int t = 0; t < kThreads; ++t) {
      ASSERT_THAT(results[t], IsOk()) << "thread " << t;
      if (!results[t]->deduplicated) ++originals;
      const std::string description = Describe(*results[t]);
      if (!first_description.has_value()) first_description = description;
      EXPECT_EQ(description, *first_description) << "thread " << t;
    }
    EXPECT_EQ(originals, 1) << "exactly one caller must append";

    ASSERT_OK_AND_ASSIGN(std::vector<Envelope> events,
                         ReadWholeStream(*store_, stream));
    EXPECT_EQ(events.size(), kEventsPerAppend);
    EXPECT_EQ(store_->LastPosition(), (round + 1) * kEventsPerAppend);
    ASSERT_OK_AND_ASSIGN(std::optional<AppendResult> stored,
                         store_->LookupRequest(request_id));
    ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(Describe(*stored), *first_description);
  }

  const EventStoreStats stats = store_->stats();
  EXPECT_EQ(stats.appends, kRounds);
  EXPECT_EQ(stats.events, kRounds * kEventsPerAppend);
  EXPECT_EQ(stats.deduplicated, kRounds * (kThreads - 1));
  EXPECT_EQ(stats.conflicts, 0u);
}

}  // namespace
}  // namespace crm::eventstore
