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
