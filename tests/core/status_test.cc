#include "kubeop/core/status.h"

#include <gtest/gtest.h>

#include <memory>

namespace kubeop {
namespace {

TEST(StatusTest, DefaultIsOkAndPrintsOk) {
  Status s;
  EXPECT_TRUE(s.isOk());
  EXPECT_EQ(s.toString(), "OK");
}

TEST(StatusTest, CarriesCodeMessageAndContext) {
  Status s = notFound("app web").withContext("rendering");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "rendering: app web");
  EXPECT_EQ(s.toString(), "NotFound: rendering: app web");
}

// The retry meaning the reconciler relies on (STYLE.md "Errors").
TEST(StatusTest, CodesCarryRetryMeaning) {
  EXPECT_TRUE(isRetryable(StatusCode::kUnavailable));
  EXPECT_TRUE(isRetryable(StatusCode::kAborted));
  EXPECT_TRUE(isRetryable(StatusCode::kResourceExhausted));
  EXPECT_TRUE(isRetryable(StatusCode::kDeadlineExceeded));
  EXPECT_TRUE(isTerminal(StatusCode::kInvalidArgument));
  EXPECT_TRUE(isTerminal(StatusCode::kFailedPrecondition));
  EXPECT_TRUE(isTerminal(StatusCode::kPayloadTooLarge));
  EXPECT_FALSE(isTerminal(StatusCode::kOk));
  EXPECT_FALSE(isRetryable(StatusCode::kOk));
}

TEST(StatusTest, OneTableMapsCodesToHttpAndKubernetesReasons) {
  EXPECT_EQ(httpStatusFor(StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(httpStatusFor(StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(httpStatusFor(StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(httpStatusFor(StatusCode::kNotFound), 404);
  EXPECT_EQ(httpStatusFor(StatusCode::kAlreadyExists), 409);
  EXPECT_EQ(httpStatusFor(StatusCode::kAborted), 409);
  EXPECT_EQ(httpStatusFor(StatusCode::kPayloadTooLarge), 413);
  EXPECT_EQ(httpStatusFor(StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(httpStatusFor(StatusCode::kUnavailable), 503);
  EXPECT_STREQ(reasonFor(StatusCode::kAborted), "Conflict");
  EXPECT_STREQ(reasonFor(StatusCode::kInvalidArgument), "Invalid");
  EXPECT_STREQ(reasonFor(StatusCode::kUnauthenticated), "Unauthorized");
  EXPECT_EQ(statusCodeFromHttp(404), StatusCode::kNotFound);
  EXPECT_EQ(statusCodeFromHttp(429), StatusCode::kResourceExhausted);
  EXPECT_EQ(statusCodeFromHttp(502), StatusCode::kUnavailable);
  EXPECT_EQ(statusCodeFromHttp(204), StatusCode::kOk);
}

StatusOr<int> half(int v) {
  if (v % 2) return invalidArgument(std::to_string(v) + " is odd");
  return v / 2;
}

StatusOr<int> quarter(int v) {
  KUBEOP_ASSIGN_OR_RETURN(int h, half(v));
  KUBEOP_ASSIGN_OR_RETURN(int q, half(h));
  return q;
}

TEST(StatusOrTest, HoldsValueOrErrorAndPropagates) {
  auto ok = quarter(8);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 2);
  auto bad = quarter(6);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "3 is odd");
}

TEST(StatusOrTest, HoldsMoveOnlyValues) {
  StatusOr<std::unique_ptr<int>> p = std::make_unique<int>(7);
  ASSERT_TRUE(p.ok());
  std::unique_ptr<int> taken = std::move(p).value();
  EXPECT_EQ(*taken, 7);
}

}  // namespace
}  // namespace kubeop
