#include "bench_report.h"

#include <cstdio>
#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::bench {
namespace {

using ::testing::HasSubstr;

BenchResult AppendResult() {
  BenchResult result;
  result.bench = "eventstore.append";
  result.config = {{"writers", 16}, {"events_per_append", 1}};
  result.value = 15000;
  result.unit = "events/s";
  result.ceiling = 12000;
  result.latency.emplace();
  result.latency->Record(absl::Nanoseconds(100));  // Exact: 0.1 us.
  result.peak_rss_mb = 64.25;
  return result;
}

TEST(BenchReporterTest, JsonHasEveryFieldInOrder) {
  EXPECT_EQ(BenchReporter::ToJson(AppendResult()).dump(),
            R"({"bench":"eventstore.append","config":{"writers":16,)"
            R"("events_per_append":1},"value":15000.0,"unit":"events/s",)"
            R"("ceiling":12000.0,"ratio":1.25,"p50_us":0.1,)"
            R"("p99_us":0.1,"p999_us":0.1,"peak_rss_mb":64.3})");
}

TEST(BenchReporterTest, JsonOmitsFieldsThatDoNotApply) {
  BenchResult result;
  result.bench = "eventstore.recovery";
  result.config = {{"events", 10}};
  result.value = 0.5;
  result.unit = "s";
  EXPECT_EQ(BenchReporter::ToJson(result).dump(),
            R"({"bench":"eventstore.recovery","config":{"events":10},)"
            R"("value":0.5,"unit":"s"})");
}

TEST(BenchReporterTest, PrintWritesOneLinePerResultWithJson) {
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  BenchReporter reporter(/*json=*/true, out);
  reporter.Print(AppendResult());
  reporter.Print(AppendResult());
  std::rewind(out);
  std::string text(4096, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), out));
  std::fclose(out);
  const std::string line = BenchReporter::ToJson(AppendResult()).dump();
  EXPECT_EQ(text, line + "\n" + line + "\n");
}

TEST(BenchReporterTest, TableHasHeaderAndRow) {
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  BenchReporter reporter(/*json=*/false, out);
  reporter.Print(AppendResult());
  std::rewind(out);
  std::string text(4096, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), out));
  std::fclose(out);
  EXPECT_THAT(text, HasSubstr("ratio"));
  EXPECT_THAT(text, HasSubstr("eventstore.append"));
  EXPECT_THAT(text, HasSubstr("1.250"));
  EXPECT_THAT(text, HasSubstr("writers=16 events_per_append=1"));
}

TEST(PeakRssTest, ReadsAPlausiblePeak) {
  ResetPeakRss();
  const std::optional<double> peak = PeakRssMb();
  ASSERT_TRUE(peak.has_value());
  EXPECT_GT(*peak, 0.5);
  EXPECT_LT(*peak, 4096);
}

}  // namespace
}  // namespace crm::bench
