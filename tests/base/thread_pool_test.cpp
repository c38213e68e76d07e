#include "localmoe/base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace localmoe {
namespace {

TEST(ThreadPool, ParallelForCoversEveryIndexOnceInGrainMultiples) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (int64_t count : {1, 3, 4, 5, 17, 1000}) {
      std::vector<std::atomic<int>> hits(count);
      pool.parallel_for(count, 4, [&](int64_t begin, int64_t end, int thread) {
        EXPECT_LT(thread, threads);
        EXPECT_EQ(begin % 4, 0);
        for (int64_t i = begin; i < end; ++i) hits[i]++;
      });
      for (int64_t i = 0; i < count; ++i) ASSERT_EQ(hits[i].load(), 1) << count << " " << i;
    }
  }
}

TEST(ThreadPool, BalancedParallelForCoversEveryIndexOnceInGrainMultiples) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (int64_t count : {1, 3, 4, 5, 17, 1000, 100003}) {
      std::vector<std::atomic<int>> hits(count);
      std::atomic<int> calls{0};
      pool.parallel_for_balanced(count, 4, [&](int64_t begin, int64_t end, int thread) {
        EXPECT_LT(thread, threads);
        EXPECT_EQ(begin % 4, 0);
        EXPECT_LT(begin, end);
        calls++;
        for (int64_t i = begin; i < end; ++i) hits[i]++;
      });
      for (int64_t i = 0; i < count; ++i) ASSERT_EQ(hits[i].load(), 1) << count << " " << i;
      // A large range really is cut into many chunks, not one per thread.
      if (threads > 1 && count == 100003) {
        EXPECT_GE(calls.load(), 16 * threads);
      }
    }
  }
}

TEST(ThreadPool, ManyShortJobsInARow) {
  ThreadPool pool(2);
  std::atomic<int64_t> total{0};
  for (int round = 0; round < 20000; ++round) {
    auto job = [&](int t) { total += t + 1; };
    pool.run_on_all(job);
  }
  EXPECT_EQ(total.load(), 20000 * 3);
}

}  // namespace
}  // namespace localmoe
