#include "kubeop/cli/flags.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace kubeop::cli {
namespace {

TEST(FlagsTest, FlagBeatsEnvironmentBeatsDefault) {
  FlagSet fs("up", "test");
  fs.add("http-addr", "127.0.0.1:8080", "addr");
  fs.add("threads", "2", "n");
  ::setenv("KUBEOP_HTTP_ADDR", ":9090", 1);
  ::setenv("KUBEOP_THREADS", "4", 1);
  ASSERT_TRUE(fs.parse({"--threads=8"}).isOk());
  EXPECT_EQ(fs.get("http-addr"), ":9090");
  EXPECT_EQ(fs.source("http-addr"), "env");
  EXPECT_EQ(*fs.getInt("threads"), 8);
  EXPECT_EQ(fs.source("threads"), "flag");
  ::unsetenv("KUBEOP_HTTP_ADDR");
  ::unsetenv("KUBEOP_THREADS");
  EXPECT_EQ(fs.get("http-addr"), "127.0.0.1:8080");
}

TEST(FlagsTest, ShortNamesSeparateValuesBoolsAndPositionals) {
  FlagSet fs("render", "test");
  fs.add("filename", "", "file", "-", "f");
  fs.addBool("verbose", false, "v");
  ASSERT_TRUE(fs.parse({"-f", "app.yaml", "--verbose", "extra"}).isOk());
  EXPECT_EQ(fs.get("filename"), "app.yaml");
  EXPECT_TRUE(fs.getBool("verbose"));
  ASSERT_EQ(fs.positional().size(), 1u);
  EXPECT_EQ(fs.positional()[0], "extra");
}

TEST(FlagsTest, UnknownFlagsAndMissingValuesAreClearErrors) {
  FlagSet fs("render", "test");
  fs.add("filename", "", "file", "-", "f");
  Status st = fs.parse({"--nope"});
  ASSERT_FALSE(st.isOk());
  EXPECT_NE(st.message().find("unknown flag --nope for 'kubeop render'"), std::string::npos);
  FlagSet fs2("render", "test");
  fs2.add("filename", "", "file", "-", "f");
  EXPECT_FALSE(fs2.parse({"-f"}).isOk());
  FlagSet fs3("x", "t");
  fs3.add("threads", "2", "n");
  ASSERT_TRUE(fs3.parse({"--threads=two"}).isOk());
  EXPECT_FALSE(fs3.getInt("threads").ok());
}

TEST(FlagsTest, HelpListsEveryFlagWithItsEnvironmentVariable) {
  FlagSet fs("up", "Runs things.");
  fs.add("http-addr", "127.0.0.1:8080", "address to serve on");
  ASSERT_TRUE(fs.parse({"--help"}).isOk());
  EXPECT_TRUE(fs.helpRequested());
  std::string u = fs.usage();
  EXPECT_NE(u.find("Usage: kubeop up"), std::string::npos);
  EXPECT_NE(u.find("--http-addr"), std::string::npos);
  EXPECT_NE(u.find("$KUBEOP_HTTP_ADDR"), std::string::npos);
}

}  // namespace
}  // namespace kubeop::cli
