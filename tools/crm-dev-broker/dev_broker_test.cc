// Starts crm-dev-broker as a child process, talks Kafka to it with
// librdkafka, and stops it with SIGTERM.
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace {

constexpr char kTopic[] = "crm.contact.events.v1";

class DevBrokerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stdout_fd_ >= 0) close(stdout_fd_);
  }

  // Starts the broker with its stdout on a pipe.
  void StartBroker(const std::string& bootstrap_file) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      execl(CRM_DEV_BROKER_PATH, CRM_DEV_BROKER_PATH, "--partitions", "2",
            "--bootstrap-file", bootstrap_file.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    stdout_fd_ = fds[0];
  }

  // The first line the broker prints, or "" when none comes in `timeout`.
  std::string ReadLine(absl::Duration timeout) {
    std::string line;
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      pollfd fd{stdout_fd_, POLLIN, 0};
      const int ready = poll(
          &fd, 1,
          static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now())) +
              1);
      if (ready <= 0) continue;
      char c;
      if (read(stdout_fd_, &c, 1) != 1) break;
      if (c == '\n') return line;
      line.push_back(c);
    }
    return "";
  }

  // Sends SIGTERM and returns the exit status, or -1 when the broker does
  // not exit within `timeout`.
  int Stop(absl::Duration timeout) {
    kill(pid_, SIGTERM);
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return -1;
  }

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
};

rd_kafka_t* NewClient(rd_kafka_type_t type, const std::string& bootstrap) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  EXPECT_EQ(rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(),
                              errstr, sizeof(errstr)),
            RD_KAFKA_CONF_OK);
  if (type == RD_KAFKA_CONSUMER) {
    rd_kafka_conf_set(conf, "group.id", "dev-broker-test", errstr,
                      sizeof(errstr));
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr,
                      sizeof(errstr));
  } else {
    rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr,
                      sizeof(errstr));
  }
  rd_kafka_t* client = rd_kafka_new(type, conf, errstr, sizeof(errstr));
  EXPECT_NE(client, nullptr) << errstr;
  return client;
}

TEST_F(DevBrokerTest, ServesTopicsAndExitsZeroOnSigterm) {
  const std::string file =
      (std::filesystem::path(::testing::TempDir()) /
       ("dev_broker_" + std::to_string(getpid()) + ".bootstrap"))
          .string();
  std::filesystem::remove(file);
  ASSERT_NO_FATAL_FAILURE(StartBroker(file));
  const std::string bootstrap = ReadLine(absl::Seconds(10));
  ASSERT_FALSE(bootstrap.empty()) << "no bootstrap line within 10 s";
  EXPECT_NE(bootstrap.find("127.0.0.1:"), std::string::npos) << bootstrap;
  {
    std::ifstream in(file);
    std::string from_file;
    std::getline(in, from_file);
    EXPECT_EQ(from_file, bootstrap);
  }

  rd_kafka_t* producer = NewClient(RD_KAFKA_PRODUCER, bootstrap);
  ASSERT_NE(producer, nullptr);
  const std::string value = "hello";
  // rd_kafka_produce, not rd_kafka_producev: the RD_KAFKA_V_* macros are GNU
  // statement expressions, refused by clang with -Wpedantic -Werror.
  rd_kafka_topic_t* topic = rd_kafka_topic_new(producer, kTopic, nullptr);
  ASSERT_NE(topic, nullptr);
  ASSERT_EQ(rd_kafka_produce(topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                             const_cast<char*>(value.data()), value.size(), "k",
                             1, nullptr),
            0);
  rd_kafka_topic_destroy(topic);
  EXPECT_EQ(rd_kafka_flush(producer, 10'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(producer);

  rd_kafka_t* consumer = NewClient(RD_KAFKA_CONSUMER, bootstrap);
  ASSERT_NE(consumer, nullptr);
  rd_kafka_topic_partition_list_t* partitions =
      rd_kafka_topic_partition_list_new(2);
  for (int32_t p = 0; p < 2; ++p) {
    rd_kafka_topic_partition_list_add(partitions, kTopic, p)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
  }
  ASSERT_EQ(rd_kafka_assign(consumer, partitions), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(partitions);
  std::string received;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (received.empty() && absl::Now() < deadline) {
    rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer, 100);
    if (message == nullptr) continue;
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      received.assign(static_cast<const char*>(message->payload), message->len);
    }
    rd_kafka_message_destroy(message);
  }
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  EXPECT_EQ(received, value);

  EXPECT_EQ(Stop(absl::Seconds(10)), 0);
  std::filesystem::remove(file);
}

}  // namespace
