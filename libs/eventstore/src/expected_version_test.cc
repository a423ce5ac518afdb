#include "crm/eventstore/expected_version.h"

#include "crm/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace crm::eventstore {
namespace {

using ::crm::testing::IsOkAndHolds;
using ::crm::testing::StatusIs;
using Kind = ExpectedVersion::Kind;

TEST(ExpectedVersionTest, EachKindAcceptsExactlyItsVersions) {
  struct Case {
    ExpectedVersion expected;
    uint64_t current;
    bool satisfied;
  };
  const Case cases[] = {
      {ExpectedVersion::Any(), 0, true},
      {ExpectedVersion::Any(), 7, true},
      {ExpectedVersion::NoStream(), 0, true},
      {ExpectedVersion::NoStream(), 1, false},
      {ExpectedVersion::StreamExists(), 0, false},
      {ExpectedVersion::StreamExists(), 3, true},
      {ExpectedVersion::Exact(3), 3, true},
      {ExpectedVersion::Exact(3), 2, false},
      {ExpectedVersion::Exact(3), 4, false},
      {ExpectedVersion::Exact(0), 0, true},
      {ExpectedVersion::Exact(0), 1, false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.expected.IsSatisfiedBy(c.current), c.satisfied)
        << c.expected.ToString() << " at " << c.current;
  }
}

TEST(ExpectedVersionTest, ExactZeroIsNoStream) {
  EXPECT_EQ(ExpectedVersion::Exact(0), ExpectedVersion::NoStream());
  EXPECT_EQ(ExpectedVersion::Exact(0).kind(), Kind::kNoStream);
}

TEST(ExpectedVersionTest, DecodesWireValues) {
  EXPECT_THAT(ExpectedVersion::FromWire(-1),
              IsOkAndHolds(ExpectedVersion::Any()));
  EXPECT_THAT(ExpectedVersion::FromWire(-2),
              IsOkAndHolds(ExpectedVersion::NoStream()));
  EXPECT_THAT(ExpectedVersion::FromWire(-4),
              IsOkAndHolds(ExpectedVersion::StreamExists()));
  EXPECT_THAT(ExpectedVersion::FromWire(0),
              IsOkAndHolds(ExpectedVersion::NoStream()));
  EXPECT_THAT(ExpectedVersion::FromWire(12),
              IsOkAndHolds(ExpectedVersion::Exact(12)));
}

TEST(ExpectedVersionTest, RejectsUnknownWireValues) {
  for (int64_t wire : {int64_t{-3}, int64_t{-5}, int64_t{-100}, INT64_MIN}) {
    EXPECT_THAT(ExpectedVersion::FromWire(wire),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         ::testing::HasSubstr("not a known value")))
        << wire;
  }
}

TEST(ExpectedVersionTest, DescribesItself) {
  EXPECT_EQ(ExpectedVersion::Any().ToString(), "any");
  EXPECT_EQ(ExpectedVersion::NoStream().ToString(), "no stream");
  EXPECT_EQ(ExpectedVersion::StreamExists().ToString(), "stream exists");
  EXPECT_EQ(ExpectedVersion::Exact(9).ToString(), "version 9");
}

}  // namespace
}  // namespace crm::eventstore
