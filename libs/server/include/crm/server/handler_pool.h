// HandlerPool: the threads that run a service's unary request handlers.
//
// gRPC's callback API runs handlers on a handful of its own threads (two on a
// two-core machine), shared by every call of the server and by in-process
// clients. A handler that waits there — for a synced write, or for a read
// model to apply what it wrote — holds one of them, and the whole server
// serves one call per such thread. A service therefore posts each unary
// handler's body to its HandlerPool and returns at once; the body finishes
// the call's reactor when done, from a pool thread:
//
//   grpc::ServerUnaryReactor* reactor = call->DefaultReactor();
//   if (!pool.Post([=] { reactor->Finish(Handle(call, request, response)); }))
//     reactor->Finish(ToGrpcStatus(HandlerPool::BusyStatus()));
//   return reactor;
//
// The pool has a fixed number of threads (--handler-threads) and a bounded
// queue (16 calls per thread by default): when every thread is busy and the
// queue is full, Post refuses the work and the caller answers
// RESOURCE_EXHAUSTED, so memory stays bounded under overload and clients
// back off instead of piling up behind a stalled disk.
//
// Thread-safe. The destructor runs every body already queued, then joins the
// threads: destroy the pool after the gRPC server has stopped accepting
// calls and before what the bodies use (the store, the projections).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace crm::server {

class HandlerPool {
 public:
  // The --handler-threads default.
  static constexpr size_t kDefaultThreads = 64;
  // Queued bodies allowed per thread when max_queued is not given.
  static constexpr size_t kQueuedPerThread = 16;

  struct Stats {
    size_t threads = 0;
    size_t busy = 0;       // Threads running a body now.
    size_t queued = 0;     // Bodies waiting for a thread.
    uint64_t run = 0;      // Bodies run since start.
    uint64_t refused = 0;  // Posts refused: queue full or stopping.
  };

  // REQUIRES: threads >= 1. max_queued 0 means threads * kQueuedPerThread.
  explicit HandlerPool(size_t threads, size_t max_queued = 0);
  ~HandlerPool();

  HandlerPool(const HandlerPool&) = delete;
  HandlerPool& operator=(const HandlerPool&) = delete;

  // Queues `body` for a pool thread. False (and `body` dropped unrun) when
  // the queue is full or the pool is being destroyed: the caller must then
  // answer the call itself, with BusyStatus().
  [[nodiscard]] bool Post(absl::AnyInvocable<void() &&> body);

  // RESOURCE_EXHAUSTED telling the client to retry with backoff and the
  // operator how to raise the limit.
  static absl::Status BusyStatus();

  Stats stats() const;

 private:
  void Run();

  const size_t max_queued_;
  mutable absl::Mutex mutex_;
  std::deque<absl::AnyInvocable<void() &&>> queue_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  size_t busy_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t run_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t refused_ ABSL_GUARDED_BY(mutex_) = 0;
  std::vector<std::thread> threads_;  // Last: started once the rest is set.
};

}  // namespace crm::server
