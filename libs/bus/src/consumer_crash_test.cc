// Exactly-once effect under SIGKILL: a child process consumes the topic the
// test publishes to, and is killed at random moments in the middle of its
// work, ten times, while the test keeps appending. Then a last child drains
// the topic, and the handler's state must equal the state of applying the
// whole log once (the handler refuses any repeated or reordered event, so
// one applied twice would have been dead-lettered and its stream parked).
// The child is its own binary (consumer_crash_child.cc), started with fork +
// exec.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>
#include <random>
#include <string>

#include "consumer_test_util.h"
#include "gtest/gtest.h"

#ifndef CRM_CONSUMER_CRASH_CHILD
#error "CRM_CONSUMER_CRASH_CHILD must name the child binary (CMake sets it)"
#endif

namespace crm::bus {
namespace {

using ::crm::testing::IsOk;

constexpr int kRounds = 10;

class ConsumerCrashTest : public test_util::BusTest {
 protected:
  ConsumerCrashTest() : BusTest(test_util::Transport::kKafka) {}

  void SetUp() override {
    BusTest::SetUp();
    // The child opens the consuming store; the test reads it between runs.
    consumer_store_.reset();
  }

  struct Child {
    pid_t pid = -1;
    int out = -1;  // Read end of its stdout.
  };

  Child Spawn(bool drain) {
    std::string binary = CRM_CONSUMER_CRASH_CHILD;
    std::string path = (dir_.path() / "contact").string();
    std::string bootstrap = cluster_->bootstrap();
    std::string mode = "drain";
    char* argv[] = {binary.data(), path.data(), bootstrap.data(),
                    drain ? mode.data() : nullptr, nullptr};
    int pipe_fds[2];
    EXPECT_EQ(pipe(pipe_fds), 0);
    const pid_t pid = fork();
    if (pid == 0) {
      dup2(pipe_fds[1], STDOUT_FILENO);
      close(pipe_fds[0]);
      close(pipe_fds[1]);
      execv(binary.c_str(), argv);
      _exit(127);
    }
    close(pipe_fds[1]);
    return Child{pid, pipe_fds[0]};
  }

  // Reads the child's stdout until it has printed `line` or `timeout`
  // passed.
  static bool WaitForLine(const Child& child, const std::string& line,
                          absl::Duration timeout) {
    std::string seen;
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      pollfd fd{child.out, POLLIN, 0};
      const int ready = poll(&fd, 1, 100);
      if (ready <= 0) continue;
      char buffer[256];
      const ssize_t n = read(child.out, buffer, sizeof(buffer));
      if (n <= 0) return false;  // The child exited.
      seen.append(buffer, static_cast<size_t>(n));
      if (seen.find(line + "\n") != std::string::npos) return true;
    }
    return false;
  }

  static int Reap(Child& child) {
    int status = 0;
    EXPECT_EQ(waitpid(child.pid, &status, 0), child.pid);
    close(child.out);
    return status;
  }

  // The number of events the consumer's store has applied so far.
  uint64_t AppliedSoFar() {
    consumer_store_ = test_util::OpenTestStore(dir_.path() / "contact");
    if (consumer_store_ == nullptr) return 0;
    auto family = consumer_store_->ColumnFamily("contact_quotes");
    const uint64_t total =
        family.ok()
            ? test_util::ReadHandlerState(*consumer_store_, **family).total
            : 0;
    consumer_store_.reset();
    return total;
  }
};

TEST_F(ConsumerCrashTest, KilledConsumerAppliesEveryEventExactlyOnce) {
  std::mt19937 random(::testing::UnitTest::GetInstance()->random_seed());
  std::uniform_int_distribution<int> kill_after_ms(0, 120);
  int killed_mid_work = 0;
  uint64_t appended = 0;
  for (int round = 0; round < kRounds; ++round) {
    test_util::AppendRounds(*publisher_store_, 50, 40);
    appended += 2000;
    ASSERT_THAT(publisher_->Flush(absl::Seconds(30)), IsOk());
    Child child = Spawn(/*drain=*/false);
    ASSERT_TRUE(WaitForLine(child, "assigned", absl::Seconds(60)))
        << "round " << round << ": the child never got its partitions";
    absl::SleepFor(absl::Milliseconds(kill_after_ms(random)));
    kill(child.pid, SIGKILL);
    const int status = Reap(child);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "round " << round << ": the child ended by itself (status " << status
        << ")";
    const uint64_t applied = AppliedSoFar();
    if (applied < appended) ++killed_mid_work;
  }
  Child last = Spawn(/*drain=*/true);
  EXPECT_TRUE(WaitForLine(last, "drained", absl::Seconds(120)));
  const int status = Reap(last);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "the draining child failed (status " << status << ")";

  consumer_store_ = test_util::OpenTestStore(dir_.path() / "contact");
  ASSERT_NE(consumer_store_, nullptr);
  ASSERT_OK_AND_ASSIGN(family_,
                       consumer_store_->ColumnFamily("contact_quotes"));
  test_util::ExpectSameState(
      test_util::ReadHandlerState(*consumer_store_, *family_),
      test_util::ExpectedState(Log()));
  // The kills must have hit the consumer while it worked, not only after.
  EXPECT_GE(killed_mid_work, kRounds / 2);
  std::cout << "killed in the middle of work in " << killed_mid_work << " of "
            << kRounds << " rounds\n";
}

}  // namespace
}  // namespace crm::bus
