// SampleDataTask: writes the sample data (sample_data.h) in the background
// once the contact service's projections are live, for crm-suite's first
// start.
//
// The writes go through a private in-process gRPC server holding its own
// ContactServiceImpl over the running service's store, projections and
// sealer: the same handlers as external calls (validation, idempotency,
// read-your-writes), without a network port or TLS credentials, and not
// counted in the public gRPC metrics. When every write succeeded the task
// creates `marker_path`; a start that finds the marker writes nothing. A
// run cut short (a crash, SIGTERM, an error) leaves no marker and the next
// start writes again: the fixed ids and request ids make that create
// nothing twice.
//
// Thread safety: Status() from any thread; Start and Stop from one.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "crm/contact/server/contact_server.h"

namespace crm::suite {

class SampleDataTask {
 public:
  // `contact` must outlive Stop().
  SampleDataTask(contact::server::ContactServer& contact,
                 std::string marker_path);
  // Stops the task (Stop()).
  ~SampleDataTask();

  SampleDataTask(const SampleDataTask&) = delete;
  SampleDataTask& operator=(const SampleDataTask&) = delete;

  // Starts the background thread, unless the marker exists (then Status()
  // is OK at once).
  void Start();

  // OK once the task finished (written, already written, or failed: a
  // failure is logged as a warning and retried on the next start, and does
  // not keep the process from serving); UNAVAILABLE while it waits for the
  // projections or writes.
  absl::Status Status() const;

  // Cancels the writes between two calls and joins the thread. Idempotent.
  void Stop();

 private:
  void Run();
  bool WaitForProjections();

  contact::server::ContactServer& contact_;
  const std::string marker_path_;
  std::thread thread_;
  mutable absl::Mutex mutex_;
  bool finished_ ABSL_GUARDED_BY(mutex_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace crm::suite
