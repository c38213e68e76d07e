#include "localmoe/engine/request.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace localmoe {
namespace {

TEST(Request, StartsWaitingWithOnlyItsPrompt) {
  SamplingParams params;
  params.max_tokens = 5;
  params.temperature = 0.5f;
  const Request r(7, {3, 1, 4}, params, /*arrival_order=*/2);
  EXPECT_EQ(r.id(), 7u);
  EXPECT_EQ(r.arrival_order(), 2);
  EXPECT_EQ(r.status(), RequestStatus::kWaiting);
  EXPECT_FALSE(r.is_finished());
  EXPECT_EQ(r.finish_reason(), std::nullopt);
  EXPECT_EQ(r.num_tokens(), 3);
  EXPECT_EQ(r.num_prompt_tokens(), 3);
  EXPECT_EQ(r.num_output_tokens(), 0);
  EXPECT_TRUE(r.output_token_ids().empty());
  EXPECT_EQ(std::vector<int32_t>(r.token_ids().begin(), r.token_ids().end()),
            (std::vector<int32_t>{3, 1, 4}));
  EXPECT_EQ(r.num_computed_tokens(), 0);
  EXPECT_EQ(r.num_cached_prompt_tokens(), 0);
  EXPECT_EQ(r.num_preemptions(), 0);
  EXPECT_EQ(r.max_tokens(), 5);
  EXPECT_EQ(r.sampling_params().temperature, 0.5f);
}

TEST(Request, NamesStatesAndFinishReasons) {
  EXPECT_EQ(request_status_name(RequestStatus::kWaiting), "waiting");
  EXPECT_EQ(request_status_name(RequestStatus::kRunning), "running");
  EXPECT_EQ(request_status_name(RequestStatus::kPreempted), "preempted");
  EXPECT_EQ(request_status_name(RequestStatus::kSwapped), "swapped");
  EXPECT_EQ(request_status_name(RequestStatus::kFinishedStopped), "finished_stopped");
  EXPECT_EQ(request_status_name(RequestStatus::kFinishedLength), "finished_length");
  EXPECT_EQ(request_status_name(RequestStatus::kFinishedAborted), "finished_aborted");
  // OpenAI's finish_reason spellings.
  EXPECT_EQ(finish_reason_name(FinishReason::kStop), "stop");
  EXPECT_EQ(finish_reason_name(FinishReason::kLength), "length");
  EXPECT_EQ(finish_reason_name(FinishReason::kAbort), "abort");
}

}  // namespace
}  // namespace localmoe
