#include "crm/suite/sample_data_task.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "crm/contact/api/contact_service.h"
#include "crm/server/logging.h"
#include "crm/suite/sample_data.h"
#include "fmt/format.h"
#include "grpcpp/grpcpp.h"

namespace crm::suite {

SampleDataTask::SampleDataTask(contact::server::ContactServer& contact,
                               std::string marker_path)
    : contact_(contact), marker_path_(std::move(marker_path)) {}

SampleDataTask::~SampleDataTask() { Stop(); }

void SampleDataTask::Start() {
  std::error_code error;
  if (std::filesystem::exists(marker_path_, error)) {
    absl::MutexLock lock(&mutex_);
    finished_ = true;
    return;
  }
  thread_ = std::thread([this] { Run(); });
}

absl::Status SampleDataTask::Status() const {
  absl::MutexLock lock(&mutex_);
  if (finished_) return absl::OkStatus();
  return absl::UnavailableError(
      "writing the sample data (first start; --sample-data=false skips it)");
}

void SampleDataTask::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    cancelled_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool SampleDataTask::WaitForProjections() {
  absl::MutexLock lock(&mutex_);
  while (!cancelled_) {
    // Ready() takes no lock of ours and does not block.
    if (contact_.Ready().ok()) return true;
    mutex_.AwaitWithTimeout(absl::Condition(&cancelled_),
                            absl::Milliseconds(100));
  }
  return false;
}

void SampleDataTask::Run() {
  if (!WaitForProjections()) return;
  contact::api::ContactServiceImpl service(contact_.store(), contact_.engine(),
                                           contact_.sealer(), {});
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  absl::Status status;
  SampleDataSummary summary;
  if (server == nullptr) {
    status = absl::InternalError(
        "the in-process server for the sample data did not start; see the "
        "gRPC log lines above");
  } else {
    auto stub = contact::v1::ContactService::NewStub(
        server->InProcessChannel(grpc::ChannelArguments()));
    absl::StatusOr<SampleDataSummary> written = WriteSampleData(*stub, [this] {
      absl::MutexLock lock(&mutex_);
      return cancelled_;
    });
    if (written.ok()) {
      summary = *std::move(written);
    } else {
      status = written.status();
    }
    server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  }
  if (status.ok()) {
    std::ofstream marker(marker_path_, std::ios::trunc);
    marker << fmt::format(
        "sample data written: {} accounts, {} contacts, {} relationships, {} "
        "activities in tenant {}\n",
        summary.accounts, summary.contacts, summary.relationships,
        summary.activities, kSampleTenant);
    if (!marker.flush()) {
      server::LogWarn("sample data written, marker not",
                      {{"path", marker_path_},
                       {"error",
                        "could not write the marker file: the next start "
                        "writes the sample data again (creating nothing "
                        "twice); check the data directory's permissions"}});
    }
    std::string skipped;
    for (const std::string& area : summary.skipped_areas) {
      skipped += skipped.empty() ? area : ", " + area;
    }
    server::LogInfo(
        fmt::format("sample data written in tenant \"{}\": {} accounts, {} "
                    "contacts, {} relationships, {} activities",
                    kSampleTenant, summary.accounts, summary.contacts,
                    summary.relationships, summary.activities),
        {{"tenant", kSampleTenant}, {"skipped_areas", skipped}});
  } else if (status.code() != absl::StatusCode::kCancelled) {
    server::LogWarn(
        "the sample data was not written completely; the next start tries "
        "again (creating nothing twice)",
        {{"error", std::string(status.message())}});
  }
  absl::MutexLock lock(&mutex_);
  finished_ = true;
}

}  // namespace crm::suite
