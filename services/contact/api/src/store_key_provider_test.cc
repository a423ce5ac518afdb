// StoreKeyProvider and StagedKeyProvider over a real store in a temporary
// directory.
#include "crm/contact/api/store_key_provider.h"

#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "crm/contact/domain/sealer.h"
#include "crm/testing/status_matchers.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::contact::api {
namespace {

using ::crm::testing::IsOkAndHolds;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Durability = eventstore::EventStore::Durability;
using KeyMap = std::map<std::string, DataKey, std::less<>>;

class StoreKeyProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           fmt::format("store_key_provider_{}_{}", getpid(),
                       absl::ToUnixNanos(absl::Now()));
    Open();
  }

  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Open() {
    eventstore::EventStore::Options options;
    options.path = (dir_ / "store").string();
    options.extra_column_families = {kKeyColumnFamily};
    ASSERT_OK_AND_ASSIGN(store_, eventstore::EventStore::Open(options));
  }

  static DataKey Filled(uint8_t byte) {
    DataKey key;
    key.fill(byte);
    return key;
  }

  std::filesystem::path dir_;
  std::unique_ptr<eventstore::EventStore> store_;
};

TEST_F(StoreKeyProviderTest, CreateKeysStoresEveryNewKeyAtOnce) {
  StoreKeyProvider keys(store_.get());
  const KeyMap made = {{"k1", Filled(1)}, {"k2", Filled(2)}};
  ASSERT_OK_AND_ASSIGN(StoreKeyProvider::KeyResults results,
                       keys.CreateKeys(made, Durability::kSynced));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_THAT(results.at("k1"), IsOkAndHolds(Filled(1)));
  EXPECT_THAT(results.at("k2"), IsOkAndHolds(Filled(2)));
  EXPECT_THAT(keys.Get("k1"), IsOkAndHolds(Filled(1)));
  EXPECT_THAT(keys.Get("k2"), IsOkAndHolds(Filled(2)));
  EXPECT_THAT(keys.GetOrCreate("k2"), IsOkAndHolds(Filled(2)));

  // Unsynced keys are stored too: a reopened store reads them.
  ASSERT_OK(
      keys.CreateKeys({{"k3", Filled(3)}}, Durability::kUnsynced).status());
  ASSERT_OK(keys.CreateKeys({{"k4", Filled(4)}}, Durability::kSynced).status());
  store_.reset();
  Open();
  StoreKeyProvider reopened(store_.get());
  EXPECT_THAT(reopened.Get("k1"), IsOkAndHolds(Filled(1)));
  EXPECT_THAT(reopened.Get("k3"), IsOkAndHolds(Filled(3)));
  EXPECT_THAT(reopened.Get("k4"), IsOkAndHolds(Filled(4)));
}

TEST_F(StoreKeyProviderTest, CreateKeysNeverReplacesAnExistingKey) {
  StoreKeyProvider keys(store_.get());
  ASSERT_OK_AND_ASSIGN(const DataKey existing, keys.GetOrCreate("old"));
  DataKey other = existing;
  other[0] ^= 0xff;
  ASSERT_OK_AND_ASSIGN(StoreKeyProvider::KeyResults results,
                       keys.CreateKeys({{"old", other}, {"new", Filled(7)}},
                                       Durability::kSynced));
  EXPECT_THAT(results.at("old"), IsOkAndHolds(existing));
  EXPECT_THAT(results.at("new"), IsOkAndHolds(Filled(7)));
  EXPECT_THAT(keys.Get("old"), IsOkAndHolds(existing));
  EXPECT_THAT(keys.Get("new"), IsOkAndHolds(Filled(7)));
}

TEST_F(StoreKeyProviderTest, CreateKeysRefusesAnErasedKeyIdAsGetOrCreateDoes) {
  StoreKeyProvider keys(store_.get());
  ASSERT_OK(keys.GetOrCreate("gone").status());
  ASSERT_OK(keys.Delete("gone"));
  EXPECT_TRUE(IsKeyErased(keys.GetOrCreate("gone").status()));
  ASSERT_OK_AND_ASSIGN(
      StoreKeyProvider::KeyResults results,
      keys.CreateKeys({{"gone", Filled(1)}, {"fresh", Filled(2)}},
                      Durability::kSynced));
  EXPECT_TRUE(IsKeyErased(results.at("gone").status()))
      << results.at("gone").status();
  EXPECT_TRUE(IsKeyErased(keys.Get("gone").status()));
  EXPECT_THAT(keys.Get("fresh"), IsOkAndHolds(Filled(2)));
}

TEST_F(StoreKeyProviderTest, ConcurrentCreatorsAgreeOnOneKeyPerId) {
  // Separate providers over one store share the id locks: every writer
  // gets back the key that is stored, whoever stored it.
  constexpr int kWriters = 4;
  constexpr int kIds = 200;
  std::vector<StoreKeyProvider::KeyResults> results(kWriters);
  std::vector<absl::Status> statuses(kWriters);
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      StoreKeyProvider keys(store_.get());
      KeyMap made;
      for (int i = 0; i < kIds; ++i) {
        made.emplace(fmt::format("id{}", i), Filled(static_cast<uint8_t>(w)));
      }
      absl::StatusOr<StoreKeyProvider::KeyResults> got =
          keys.CreateKeys(made, Durability::kUnsynced);
      statuses[w] = got.status();
      if (got.ok()) results[w] = *std::move(got);
    });
  }
  for (std::thread& writer : writers) writer.join();
  StoreKeyProvider keys(store_.get());
  for (int w = 0; w < kWriters; ++w) {
    ASSERT_OK(statuses[w]);
    ASSERT_EQ(results[w].size(), static_cast<size_t>(kIds));
    for (const auto& [id, key] : results[w]) {
      ASSERT_OK_AND_ASSIGN(const DataKey stored, keys.Get(id));
      EXPECT_THAT(key, IsOkAndHolds(stored)) << id;
    }
  }
}

TEST_F(StoreKeyProviderTest, StagedKeysAreStoredOnCommitAndConflictsNamed) {
  StagedKeyProvider staged(store_.get());
  StoreKeyProvider stored(store_.get());
  ASSERT_OK_AND_ASSIGN(const DataKey existing, stored.GetOrCreate("known"));
  // A stored key is used, not staged again.
  EXPECT_THAT(staged.GetOrCreate("known"), IsOkAndHolds(existing));
  ASSERT_OK_AND_ASSIGN(const DataKey a, staged.GetOrCreate("a"));
  ASSERT_OK_AND_ASSIGN(const DataKey b, staged.GetOrCreate("b"));
  EXPECT_THAT(staged.GetOrCreate("a"), IsOkAndHolds(a));
  EXPECT_THAT(staged.Get("b"), IsOkAndHolds(b));
  // Not stored before Commit.
  EXPECT_EQ(stored.Get("a").status().code(), absl::StatusCode::kNotFound);
  // Another writer makes b's key first: b is a conflict, a is stored.
  ASSERT_OK_AND_ASSIGN(const DataKey b_elsewhere, stored.GetOrCreate("b"));
  EXPECT_THAT(staged.Commit(Durability::kSynced),
              IsOkAndHolds(ElementsAre("b")));
  EXPECT_THAT(stored.Get("a"), IsOkAndHolds(a));
  EXPECT_THAT(stored.Get("b"), IsOkAndHolds(b_elsewhere));
  EXPECT_THAT(staged.Get("b"), IsOkAndHolds(b_elsewhere));
  // Nothing left to store.
  EXPECT_THAT(staged.Commit(Durability::kSynced), IsOkAndHolds(IsEmpty()));
  EXPECT_EQ(staged.Delete("a").code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace crm::contact::api
