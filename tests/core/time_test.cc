#include "kubeop/core/time.h"

#include <gtest/gtest.h>

#include <chrono>
#include <regex>

namespace kubeop {
namespace {

using namespace std::chrono;

TEST(TimeTest, FormatsKubernetesTimesInUtc) {
  // 2026-11-24T01:02:03.045678Z
  sys_time<microseconds> t = sys_days{year{2026} / November / 24} + 1h + 2min + 3s + 45678us;
  EXPECT_EQ(formatRfc3339(t), "2026-11-24T01:02:03Z") << "metav1.Time drops the fraction";
  EXPECT_EQ(formatMicroTime(t), "2026-11-24T01:02:03.045678Z");
  EXPECT_EQ(formatRfc3339(sys_days{year{1970} / January / 1}), "1970-01-01T00:00:00Z");
  EXPECT_TRUE(std::regex_match(nowRfc3339(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
}

}  // namespace
}  // namespace kubeop
