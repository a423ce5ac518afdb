#include "crm/server/logging.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "crm/server/log_level.h"
#include "crm/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::server {
namespace {

using ::crm::testing::IsOkAndHolds;
using ::crm::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::SizeIs;

class LoggingTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(LogLevel::kInfo); }
  // Back to stderr: the sink refers to this fixture.
  void TearDown() override { StartLogging("", LogLevel::kInfo); }

  void Start(LogLevel level) {
    StartLogging("contact", level, [this](std::string_view line) {
      absl::MutexLock lock(&mutex_);
      lines_.emplace_back(line);
    });
  }

  // Every line written so far, each parsed as one JSON object.
  std::vector<nlohmann::json> Lines() {
    absl::MutexLock lock(&mutex_);
    std::vector<nlohmann::json> parsed;
    for (const std::string& line : lines_) {
      EXPECT_EQ(line.find('\n'), std::string::npos) << line;
      nlohmann::json object = nlohmann::json::parse(line, nullptr, false);
      EXPECT_TRUE(object.is_object()) << line;
      parsed.push_back(std::move(object));
    }
    return parsed;
  }

  absl::Mutex mutex_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mutex_);
};

TEST_F(LoggingTest, EachLineIsOneJsonObjectWithTheStandardFields) {
  LogInfo("projection caught up",
          {{"projection", "by_email"}, {"position", 42}});
  LogWarn("no fields");
  const std::vector<nlohmann::json> lines = Lines();
  ASSERT_THAT(lines, SizeIs(2));
  EXPECT_EQ(lines[0]["level"], "info");
  EXPECT_EQ(lines[0]["service"], "contact");
  EXPECT_EQ(lines[0]["message"], "projection caught up");
  EXPECT_EQ(lines[0]["projection"], "by_email");
  EXPECT_EQ(lines[0]["position"], 42);
  EXPECT_FALSE(lines[0].contains("correlation_id"));
  // RFC 3339, UTC, microseconds: 2024-05-01T12:00:00.123456Z
  const std::string time = lines[0]["time"];
  EXPECT_EQ(time.size(), 27u) << time;
  EXPECT_EQ(time.back(), 'Z') << time;
  EXPECT_EQ(lines[1]["level"], "warn");
}

TEST_F(LoggingTest, CorrelationIdScopesNestAndEnd) {
  {
    ScopedCorrelationId outer("req-1");
    EXPECT_EQ(CurrentCorrelationId(), "req-1");
    LogInfo("outer");
    {
      ScopedCorrelationId inner("req-2");
      LogInfo("inner");
    }
    LogInfo("outer again");
    LogInfo("explicit", {{"correlation_id", "req-3"}});
  }
  EXPECT_EQ(CurrentCorrelationId(), "");
  LogInfo("none");
  const std::vector<nlohmann::json> lines = Lines();
  ASSERT_THAT(lines, SizeIs(5));
  EXPECT_EQ(lines[0]["correlation_id"], "req-1");
  EXPECT_EQ(lines[1]["correlation_id"], "req-2");
  EXPECT_EQ(lines[2]["correlation_id"], "req-1");
  EXPECT_EQ(lines[3]["correlation_id"], "req-3");
  EXPECT_FALSE(lines[4].contains("correlation_id"));
}

TEST_F(LoggingTest, CorrelationIdIsPerThread) {
  ScopedCorrelationId mine("main-thread");
  std::thread other([] { LogInfo("from another thread"); });
  other.join();
  const std::vector<nlohmann::json> lines = Lines();
  ASSERT_THAT(lines, SizeIs(1));
  EXPECT_FALSE(lines[0].contains("correlation_id"));
}

TEST_F(LoggingTest, LevelFiltersLines) {
  LogDebug("hidden at info");
  LogInfo("shown");
  EXPECT_FALSE(LogEnabled(LogLevel::kDebug));
  SetLogLevel(LogLevel::kError);
  EXPECT_EQ(GetLogLevel(), LogLevel::kError);
  LogWarn("hidden at error");
  LogError("shown at error");
  SetLogLevel(LogLevel::kTrace);
  LogTrace("shown at trace");
  const std::vector<nlohmann::json> lines = Lines();
  ASSERT_THAT(lines, SizeIs(3));
  EXPECT_EQ(lines[0]["message"], "shown");
  EXPECT_EQ(lines[1]["message"], "shown at error");
  EXPECT_EQ(lines[2]["level"], "trace");
}

TEST_F(LoggingTest, FieldsNamedLikeStandardFieldsArePrefixed) {
  LogInfo("real", {{"message", "fake"}, {"level", "fake"}, {"service", "x"}});
  LogInfo("not an object", nlohmann::json::array({1, 2}));
  const std::vector<nlohmann::json> lines = Lines();
  ASSERT_THAT(lines, SizeIs(2));
  EXPECT_EQ(lines[0]["message"], "real");
  EXPECT_EQ(lines[0]["level"], "info");
  EXPECT_EQ(lines[0]["service"], "contact");
  EXPECT_EQ(lines[0]["field.message"], "fake");
  EXPECT_EQ(lines[0]["field.level"], "fake");
  EXPECT_EQ(lines[1]["fields"], nlohmann::json::array({1, 2}));
}

TEST_F(LoggingTest, InvalidUtf8AndControlCharactersStayOneValidLine) {
  LogInfo("bad \xff\xfe bytes\nand a newline", {{"value", "tab\there \xc3"}});
  const std::vector<nlohmann::json> lines = Lines();
  ASSERT_THAT(lines, SizeIs(1));
  EXPECT_THAT(lines[0]["message"].get<std::string>(), HasSubstr("bytes\nand"));
}

TEST_F(LoggingTest, ConcurrentLinesNeverInterleave) {
  constexpr int kThreads = 4;
  constexpr int kLinesEach = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      ScopedCorrelationId id("thread-" + std::to_string(t));
      for (int i = 0; i < kLinesEach; ++i) {
        LogInfo("line", {{"i", i}, {"padding", std::string(100, 'x')}});
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const std::vector<nlohmann::json> lines = Lines();
  ASSERT_THAT(lines, SizeIs(kThreads * kLinesEach));
  for (const nlohmann::json& line : lines) {
    EXPECT_EQ(line["message"], "line");
    EXPECT_THAT(line["correlation_id"].get<std::string>(),
                HasSubstr("thread-"));
  }
}

TEST_F(LoggingTest, LevelNamesRoundTrip) {
  for (LogLevel level : {LogLevel::kTrace, LogLevel::kDebug, LogLevel::kInfo,
                         LogLevel::kWarn, LogLevel::kError}) {
    EXPECT_THAT(ParseLogLevel(LogLevelName(level)), IsOkAndHolds(level));
  }
  EXPECT_THAT(ParseLogLevel("WARNING"), IsOkAndHolds(LogLevel::kWarn));
  EXPECT_THAT(ParseLogLevel("verbose"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("trace, debug, info, warn or error")));
}

}  // namespace
}  // namespace crm::server
