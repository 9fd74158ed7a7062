#include "kubeop/log/log.h"

#include <gtest/gtest.h>

#include <vector>

#include "kubeop/core/json.h"

namespace kubeop::log {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setSink([this](std::string_view l) { lines.emplace_back(l); });
    setLevel(Level::kInfo);
  }
  void TearDown() override {
    setSink(nullptr);
    setLevel(Level::kInfo);
  }
  std::vector<std::string> lines;
};

TEST_F(LogTest, WritesOneJsonObjectPerLineWithTypedFields) {
  info("applied \"x\"\n", {{"object", "ns/x"}, {"count", 3}, {"ok", true}, {"seconds", 0.5}});
  ASSERT_EQ(lines.size(), 1u);
  auto d = json::parse(lines[0]);
  ASSERT_TRUE(d.ok()) << lines[0];
  EXPECT_EQ(json::getString(*d, "level"), "info");
  EXPECT_EQ(json::getString(*d, "msg"), "applied \"x\"\n");
  EXPECT_EQ(json::getString(*d, "object"), "ns/x");
  EXPECT_EQ((*d)["count"].GetInt(), 3);
  EXPECT_TRUE((*d)["ok"].GetBool());
  EXPECT_FALSE(json::getString(*d, "ts").empty());
}

TEST_F(LogTest, LevelFiltersAndParsesLikeLogLevelVariable) {
  setLevel(parseLevel("warn"));
  info("hidden");
  debug("hidden");
  warn("shown");
  error("shown too");
  EXPECT_EQ(lines.size(), 2u);
  EXPECT_EQ(parseLevel("debug"), Level::kDebug);
  EXPECT_EQ(parseLevel("bogus"), Level::kInfo);
}

}  // namespace
}  // namespace kubeop::log
