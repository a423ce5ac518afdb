// OwnRecordBefore: the read a projection skips at a stream's first event.
#include "crm/contact/projections/contact_record.h"

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "crm/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::contact::projections {
namespace {

using ::crm::testing::IsOkAndHolds;

// A writer over a map that counts its reads.
class MapWriter final : public projection::ProjectionWriter {
 public:
  absl::StatusOr<std::optional<std::string>> Get(
      std::string_view key) const override {
    ++reads;
    auto it = values.find(std::string(key));
    if (it == values.end()) return std::nullopt;
    return it->second;
  }
  void Put(std::string_view key, std::string_view value) override {
    values[std::string(key)] = std::string(value);
  }
  void Delete(std::string_view key) override { values.erase(std::string(key)); }

  std::map<std::string, std::string> values;
  mutable int reads = 0;
};

projection::Envelope EventAt(uint64_t stream_version) {
  projection::Envelope event;
  event.set_stream("contact-c1");
  event.set_stream_version(stream_version);
  return event;
}

TEST(OwnRecordBeforeTest, TheFirstEventOfAStreamReadsNothing) {
  MapWriter writer;
  EXPECT_THAT(OwnRecordBefore(EventAt(1), writer, "t/r/c1"),
              IsOkAndHolds(std::nullopt));
  EXPECT_EQ(writer.reads, 0);
}

TEST(OwnRecordBeforeTest, LaterEventsReadTheRecord) {
  MapWriter writer;
  writer.Put("t/r/c1", "stored");
  EXPECT_THAT(OwnRecordBefore(EventAt(2), writer, "t/r/c1"),
              IsOkAndHolds(std::optional<std::string>("stored")));
  EXPECT_THAT(OwnRecordBefore(EventAt(7), writer, "t/r/other"),
              IsOkAndHolds(std::nullopt));
  EXPECT_EQ(writer.reads, 2);
}

}  // namespace
}  // namespace crm::contact::projections
