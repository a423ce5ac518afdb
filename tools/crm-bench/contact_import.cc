#include "contact_import.h"

#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "contact_people.h"
#include "fmt/format.h"
#include "run_control.h"

namespace crm::bench {
namespace {

namespace v1 = contact::v1;

// Writes the header and the rows one at a time (gRPC allows one write
// outstanding), reads every response, and records the last summary.
class ImportReactor final
    : public grpc::ClientBidiReactor<v1::ImportContactsRequest,
                                     v1::ImportContactsResponse> {
 public:
  ImportReactor(const std::string& import_id, uint64_t rows) : rows_(rows) {
    v1::ImportHeader& header = *request_.mutable_header();
    header.set_import_id(import_id);
    header.set_dedupe_rule(v1::IMPORT_DEDUPE_RULE_UNSPECIFIED);
  }

  void Start() {
    StartRead(&response_);
    StartWrite(&request_);
    StartCall();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return;  // The stream broke: OnDone gets the status.
    if (next_row_ == rows_ || StopRequested()) {
      StartWritesDone();
      return;
    }
    const uint64_t index = next_row_++;
    const SyntheticPerson person = PersonAt(index, "imported");
    v1::ImportRow& row = *request_.mutable_row();
    row.Clear();
    row.set_row_key(fmt::format("line-{}", index + 2));  // After a header.
    v1::Contact& contact = *row.mutable_contact();
    contact.set_given_name(person.given_name);
    contact.set_family_name(person.family_name);
    contact.add_emails()->set_address(person.email);
    contact.set_owner(person.owner);
    contact.set_job_title("Buyer");
    StartWrite(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // The server finished its stream.
    {
      absl::MutexLock lock(&mutex_);
      last_progress_ = response_.progress();
      saw_done_ = saw_done_ || response_.done();
    }
    StartRead(&response_);
  }

  void OnDone(const grpc::Status& status) override {
    absl::MutexLock lock(&mutex_);
    status_ = status;
    finished_ = true;
  }

  // Waits for OnDone (at most until `deadline`, then a little longer for
  // the cancellation the context's own deadline causes).
  absl::StatusOr<v1::ImportProgress> Wait(absl::Time deadline) {
    absl::MutexLock lock(&mutex_);
    auto finished = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      return finished_;
    };
    if (!mutex_.AwaitWithDeadline(absl::Condition(&finished),
                                  deadline + absl::Seconds(30))) {
      return absl::DeadlineExceededError(
          "the import call did not end after its deadline; the server does "
          "not answer: look at its log");
    }
    if (!status_.ok()) {
      return absl::Status(
          static_cast<absl::StatusCode>(status_.error_code()),
          fmt::format("ImportContacts failed: {}", status_.error_message()));
    }
    if (!saw_done_) {
      return absl::InternalError(
          "ImportContacts ended OK without a final summary (done = true)");
    }
    return last_progress_;
  }

 private:
  const uint64_t rows_;
  uint64_t next_row_ = 0;  // Only touched by OnWriteDone, one at a time.
  v1::ImportContactsRequest request_;
  v1::ImportContactsResponse response_;

  absl::Mutex mutex_;
  v1::ImportProgress last_progress_ ABSL_GUARDED_BY(mutex_);
  bool saw_done_ ABSL_GUARDED_BY(mutex_) = false;
  bool finished_ ABSL_GUARDED_BY(mutex_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace

absl::StatusOr<ImportRun> RunImport(
    v1::ContactService::Stub& stub,
    std::unique_ptr<grpc::ClientContext> context, const std::string& import_id,
    uint64_t rows, absl::Duration timeout) {
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + timeout;
  context->set_deadline(absl::ToChronoTime(deadline));
  // On the heap: if the call outlives the wait (a server ignoring its
  // deadline), both are leaked rather than freed under a running call.
  auto reactor = std::make_unique<ImportReactor>(import_id, rows);
  stub.async()->ImportContacts(context.get(), reactor.get());
  reactor->Start();
  absl::StatusOr<v1::ImportProgress> progress = reactor->Wait(deadline);
  if (absl::IsDeadlineExceeded(progress.status())) {
    reactor.release();  // NOLINT(bugprone-unused-return-value): leaked.
    context.release();  // NOLINT(bugprone-unused-return-value): leaked.
  }
  if (!progress.ok()) return progress.status();
  ImportRun run;
  run.rows = rows;
  run.progress = *std::move(progress);
  run.elapsed = absl::Now() - start;
  if (run.progress.rows_created() != static_cast<int64_t>(rows)) {
    return absl::InternalError(fmt::format(
        "the import's summary counts {} rows received, {} created, {} "
        "updated, {} skipped, {} failed, not {} created; see the server's "
        "log",
        run.progress.rows_received(), run.progress.rows_created(),
        run.progress.rows_updated(), run.progress.rows_skipped(),
        run.progress.rows_failed(), rows));
  }
  return run;
}

}  // namespace crm::bench
