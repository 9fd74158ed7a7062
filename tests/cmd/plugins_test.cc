#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "kubeop/core/json.h"
#include "process.h"
#include "test_paths.h"

namespace kubeop::test {
namespace {

TEST(PluginsCommandTest, ListsLoadedPluginsWithVersionCapabilitiesAbiAndPath) {
  auto r = run({kubeopBinary(), "plugins", "--plugin-path", pluginDir()});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("NAME"), std::string::npos);
  EXPECT_NE(r.out.find("delivery-raw"), std::string::npos);
  EXPECT_NE(r.out.find("delivery"), std::string::npos);
  EXPECT_NE(r.out.find(pluginDir() + "/libkubeop-delivery-raw.so"), std::string::npos) << r.out;
  auto j = run({kubeopBinary(), "plugins", "-o", "json", "--plugin-path", pluginDir()});
  auto d = json::parse(j.out);
  ASSERT_TRUE(d.ok()) << j.out;
  bool found = false;
  for (const auto& p : (*d)["plugins"].GetArray()) {
    if (json::getString(p, "name") == "delivery-raw") {
      found = true;
      EXPECT_EQ(json::getString(p, "abiVersion"), "1.0");
      EXPECT_EQ(json::getString(p, "deliveryType"), "Raw");
    }
  }
  EXPECT_TRUE(found);
}

TEST(PluginsCommandTest, RefusedPluginsAreReportedAndTheExitCodeSaysSo) {
  auto r = run({kubeopBinary(), "plugins", "--plugin-path", pluginDir() + ":" + brokenPluginDir()});
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.out.find("delivery-raw"), std::string::npos) << "good plugins still load";
  EXPECT_NE(r.err.find("REFUSED " + brokenPluginDir() + "/libbroken_abi_major.so"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("major versions differ"), std::string::npos);
}

TEST(PluginsCommandTest, PluginConfigFileIsValidatedPerPlugin) {
  auto dir = std::filesystem::temp_directory_path() / ("kubeop-pcfg-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto good = (dir / "good.yaml").string();
  std::ofstream(good) << "delivery-raw:\n  maxDocuments: 10\n";
  EXPECT_EQ(run({kubeopBinary(), "plugins", "--plugin-path", pluginDir(), "--plugin-config", good}).exitCode, 0);
  auto bad = (dir / "bad.yaml").string();
  std::ofstream(bad) << "delivery-raw:\n  maxDocuments: many\n";
  auto r = run({kubeopBinary(), "plugins", "--plugin-path", pluginDir(), "--plugin-config", bad});
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("/maxDocuments"), std::string::npos) << r.err;
  auto broken = (dir / "broken.yaml").string();
  std::ofstream(broken) << "delivery-raw: [\n";
  auto b = run({kubeopBinary(), "plugins", "--plugin-path", pluginDir(), "--plugin-config", broken});
  EXPECT_EQ(b.exitCode, 3);
  EXPECT_NE(b.err.find(broken), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kubeop::test
