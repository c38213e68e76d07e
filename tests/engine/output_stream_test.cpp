// OutputStream: the blocking and the callback-driven consumer.

#include "localmoe/engine/output_stream.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace localmoe {
namespace {

RequestOutput token(int32_t id) {
  RequestOutput output;
  output.token_ids = {id};
  return output;
}

RequestOutput last(int32_t id) {
  RequestOutput output = token(id);
  output.finish_reason = FinishReason::kLength;
  return output;
}

TEST(OutputStreamTest, NextBlocksUntilPushedAndEndsAfterTheLastChoice) {
  OutputStream stream(/*id=*/7, /*num_choices=*/1);
  std::thread engine([&] {
    stream.push(token(1));
    stream.push(last(2));
  });
  std::vector<int32_t> ids;
  while (std::optional<RequestOutput> output = stream.next()) ids.push_back(output->token_ids[0]);
  engine.join();
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 2}));
  EXPECT_TRUE(stream.done());
}

TEST(OutputStreamTest, OnReadyRunsAfterEachPushOutsideTheLock) {
  OutputStream stream(/*id=*/1, /*num_choices=*/1);
  std::vector<int32_t> ids;
  int calls = 0;
  // try_next() inside the callback would deadlock if it ran under the lock.
  stream.set_on_ready([&] {
    ++calls;
    while (std::optional<RequestOutput> output = stream.try_next()) {
      ids.push_back(output->token_ids[0]);
    }
  });
  stream.push(token(3));
  stream.push(token(4));
  stream.push(last(5));
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(ids, (std::vector<int32_t>{3, 4, 5}));
  EXPECT_TRUE(stream.done());
}

TEST(OutputStreamTest, OnReadyRunsAtOnceWhenOutputsArePending) {
  OutputStream stream(/*id=*/1, /*num_choices=*/1);
  stream.push(token(1));
  int calls = 0;
  stream.set_on_ready([&] { ++calls; });
  EXPECT_EQ(calls, 1);
  stream.set_on_ready({});
  stream.push(last(2));
  EXPECT_EQ(calls, 1);
}

TEST(OutputStreamTest, OnReadyFromAnotherThreadSeesEveryOutput) {
  OutputStream stream(/*id=*/1, /*num_choices=*/2);
  std::atomic<int> received{0};
  stream.set_on_ready([&] {
    while (stream.try_next()) received.fetch_add(1);
  });
  std::thread engine([&] {
    for (int i = 0; i < 1000; ++i) stream.push(token(i));
    stream.push(last(0));
    stream.push(last(1));
  });
  engine.join();
  EXPECT_EQ(received.load(), 1002);
  EXPECT_TRUE(stream.done());
}

}  // namespace
}  // namespace localmoe
