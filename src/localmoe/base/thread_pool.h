#pragma once
// The one pool of worker threads that every kernel shares. The calling
// thread takes part as thread 0, so a pool of N threads starts N-1 workers.
// Workers spin briefly between jobs (decode issues hundreds of short
// parallel regions per token) and then sleep on a futex-backed wait.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace localmoe {

class ThreadPool {
 public:
  // num_threads <= 0 means one per hardware thread.
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }

  // Runs job(thread_index) once on every thread and returns when all are done.
  // Not reentrant: a job must not call back into the pool.
  void run_on_all(const std::function<void(int thread_index)>& job);

  // Splits [0, count) into num_threads() contiguous ranges, rounded to
  // multiples of `grain`, and runs body(begin, end, thread_index) on each.
  template <typename Body>
  void parallel_for(int64_t count, int64_t grain, Body&& body) {
    if (count <= 0) return;
    const int64_t units = (count + grain - 1) / grain;
    const int active = static_cast<int>(std::min<int64_t>(units, num_threads_));
    if (active <= 1) {
      body(int64_t{0}, count, 0);
      return;
    }
    run_on_all([&](int t) {
      if (t >= active) return;
      const int64_t begin = units * t / active * grain;
      const int64_t end = std::min(count, units * (t + 1) / active * grain);
      if (begin < end) body(begin, end, t);
    });
  }

 private:
  void worker_loop(int thread_index);

  int num_threads_;
  std::vector<std::thread> workers_;
  const std::function<void(int)>* job_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace localmoe
