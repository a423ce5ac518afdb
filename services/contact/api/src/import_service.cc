// Bulk import: ImportContacts (contact_service.h), a bidirectional stream.
//
// The reactor reads the header, then rows into a batch; a full batch (or the
// client's half-close) is written by an ImportBatchWriter (import_support.h)
// before the next row is read, so memory holds one batch and the results not
// sent yet, and gRPC's flow control holds the client back meanwhile. One
// operation at a time: a read, or the batch, or a progress write.
//
// A batch's work (decide, write, wait, progress) blocks on the store's fsync
// and on the read models, so it runs as a body posted to the service's
// HandlerPool (ServiceDeps::handlers; inline when there is none), never on
// gRPC's few callback threads; the body starts the stream's next operation
// (a read, a progress write, or Finish) when it is done, so one batch per
// stream is in flight. A pool that refuses the body ends the stream with
// RESOURCE_EXHAUSTED (HandlerPool::BusyStatus); a body whose stream was
// cancelled while it waited for a thread ends it CANCELLED without running.
// Reading the header and collecting rows stay on gRPC's threads: they do not
// block.
#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "crm/contact/api/contact_service.h"
#include "crm/contact/api/grpc_status.h"
#include "crm/contact/projections/contact_projections.h"
#include "crm/server/handler_pool.h"
#include "crm/server/logging.h"
#include "import_support.h"
#include "service_support.h"

namespace crm::contact::api {
namespace {

// Rows written together (one AppendMulti).
constexpr size_t kBatchRows = 500;
// A progress message goes out when this much time passed since the last
// one, or when this many row results wait to be sent.
constexpr absl::Duration kProgressInterval = absl::Milliseconds(500);
constexpr int kMaxUnsentResults = 2000;

class ImportReactor final
    : public grpc::ServerBidiReactor<v1::ImportContactsRequest,
                                     v1::ImportContactsResponse> {
 public:
  ImportReactor(const ServiceDeps& deps, grpc::CallbackServerContext* call)
      : deps_(deps), call_(call) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    server::ScopedCorrelationId correlation(server::CorrelationId(*call_));
    if (!ok) {
      OnHalfClose();
      return;
    }
    if (writer_ == nullptr) {
      OnHeader();
      return;
    }
    if (request_.has_header()) {
      Fail(InvalidField("header",
                        "was sent again; send the header once, first, then "
                        "only rows"));
      return;
    }
    rows_.push_back(std::move(*request_.mutable_row()));
    request_.Clear();
    progress().set_rows_received(progress().rows_received() + 1);
    if (rows_.size() < kBatchRows) {
      StartRead(&request_);
      return;
    }
    RunBody([this] { WriteBatchAndGoOn(); });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {  // The client is gone.
      Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                          "the client stopped reading the import's progress"));
      return;
    }
    response_.clear_row_results();
    StartRead(&request_);
  }

  // Deletes the reactor, or leaves that to the body still running (which
  // may have started the operation whose end led here).
  void OnDone() override { Unref(); }

 private:
  v1::ImportProgress& progress() { return *response_.mutable_progress(); }

  void OnHeader() {
    if (!request_.has_header()) {
      Fail(InvalidField("header",
                        "is missing: the first message of an import must be "
                        "an ImportHeader"));
      return;
    }
    absl::StatusOr<CommandContext> context = CallerOf(*call_, deps_);
    if (!context.ok()) {
      Fail(context.status());
      return;
    }
    writer_ = std::make_unique<ImportBatchWriter>(
        deps_, *call_, *std::move(context), request_.header());
    if (const absl::Status valid = writer_->ValidateHeader(); !valid.ok()) {
      Fail(valid);
      return;
    }
    request_.Clear();
    StartRead(&request_);
  }

  // Runs `body` on the handler pool (inline without one). The body's last
  // act starts the stream's next operation; until it has returned, its
  // reference keeps the reactor alive. A refused body ends the stream.
  template <typename Body>
  void RunBody(Body body) {
    refs_.fetch_add(1, std::memory_order_relaxed);
    auto run = [this, body = std::move(body)]() mutable {
      {
        server::ScopedCorrelationId correlation(server::CorrelationId(*call_));
        // Cancelled while the body waited for a thread: not run.
        if (call_->IsCancelled()) {
          FinishCancelled();
        } else {
          body();
        }
      }
      Unref();
    };
    if (deps_.handlers == nullptr) {
      std::move(run)();
    } else if (!deps_.handlers->Post(std::move(run))) {
      Fail(server::HandlerPool::BusyStatus());
      Unref();
    }
  }

  // Drops one reference; the last one deletes the reactor.
  void Unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // A full batch: written, then progress is sent or the next row read.
  void WriteBatchAndGoOn() {
    if (const absl::Status written = WriteRows(); !written.ok()) {
      Fail(written);
      return;
    }
    if (response_.row_results_size() >= kMaxUnsentResults ||
        absl::Now() - last_sent_ >= kProgressInterval) {
      last_sent_ = absl::Now();
      StartWrite(&response_);  // OnWriteDone reads on.
      return;
    }
    StartRead(&request_);
  }

  // The client half-closed (or cancelled): the last rows and the summary.
  void OnHalfClose() {
    if (call_->IsCancelled()) {
      FinishCancelled();
      return;
    }
    if (writer_ == nullptr) {
      Fail(InvalidField("header",
                        "is missing: the client closed the stream before "
                        "sending an ImportHeader"));
      return;
    }
    RunBody([this] { WriteLastRowsAndFinish(); });
  }

  // The rows of the last (partial) batch, then the summary.
  void WriteLastRowsAndFinish() {
    if (const absl::Status written = WriteRows(); !written.ok()) {
      Fail(written);
      return;
    }
    // Reads right after the import see it (best effort: an import is not
    // undone by a read model that is slow to catch up).
    for (const char* projection : {projections::kContactListProjection,
                                   projections::kContactsByIdProjection}) {
      WaitFor(deps_, *call_, projection, writer_->last_position())
          .IgnoreError();
    }
    response_.set_done(true);
    StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
  }

  // Writes the rows read so far and adds their results to the response.
  absl::Status WriteRows() {
    if (rows_.empty()) return absl::OkStatus();
    ASSIGN_OR_RETURN(std::vector<v1::ImportRowResult> results,
                     writer_->Write(rows_));
    v1::ImportProgress& p = progress();
    for (v1::ImportRowResult& result : results) {
      switch (result.outcome()) {
        case v1::IMPORT_ROW_OUTCOME_CREATED:
          p.set_rows_created(p.rows_created() + 1);
          break;
        case v1::IMPORT_ROW_OUTCOME_UPDATED:
          p.set_rows_updated(p.rows_updated() + 1);
          break;
        case v1::IMPORT_ROW_OUTCOME_SKIPPED_DUPLICATE:
        case v1::IMPORT_ROW_OUTCOME_SKIPPED_ALREADY_IMPORTED:
          p.set_rows_skipped(p.rows_skipped() + 1);
          break;
        default:
          p.set_rows_failed(p.rows_failed() + 1);
      }
      *response_.add_row_results() = std::move(result);
    }
    p.set_last_committed_row_key(rows_.back().row_key());
    rows_.clear();
    return absl::OkStatus();
  }

  // What was not written stays unwritten.
  void FinishCancelled() {
    Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                        "the import was cancelled; resume it with the same "
                        "import_id"));
  }

  void Fail(const absl::Status& status) {
    if (!absl::IsInvalidArgument(status) && !absl::IsUnauthenticated(status)) {
      server::LogWarn("import failed",
                      {{"code", absl::StatusCodeToString(status.code())},
                       {"error", std::string(status.message())}});
    }
    Finish(ToGrpcStatus(status));
  }

  const ServiceDeps& deps_;
  grpc::CallbackServerContext* call_;
  // References: the call's until OnDone, and one per body not returned
  // yet; the last to let go deletes the reactor.
  std::atomic<int> refs_{1};
  // The rest is used by one operation at a time (a callback or a body),
  // each started by the one before it.
  std::unique_ptr<ImportBatchWriter> writer_;  // Once the header is read.
  v1::ImportContactsRequest request_;
  std::vector<v1::ImportRow> rows_;              // Read, not written yet.
  v1::ImportContactsResponse response_;          // Progress and unsent results.
  absl::Time last_sent_ = absl::InfinitePast();  // The first batch reports.
};

}  // namespace

grpc::ServerBidiReactor<v1::ImportContactsRequest, v1::ImportContactsResponse>*
ContactServiceImpl::ImportContacts(grpc::CallbackServerContext* call) {
  return new ImportReactor(deps_, call);
}

}  // namespace crm::contact::api
