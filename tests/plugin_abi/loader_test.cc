// Every loader failure mode has a tiny broken plugin (tests/plugin_abi/broken/); each must be
// refused or contained with a message naming the file, and none may take the host down.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unistd.h>

#include "kubeop/core/json.h"
#include "kubeop/plugin/registry.h"
#include "kubeop/plugin_abi.h"
#include "test_paths.h"

namespace kubeop::plugin {
namespace {

std::string brokenDir() { return kubeop::test::brokenPluginDir(); }
std::string broken(const std::string& name) { return brokenDir() + "/libbroken_" + name + ".so"; }

class RecordingHost : public HostServices {
 public:
  explicit RecordingHost(std::string cache) : cache_(std::move(cache)) {}
  void log(std::string_view plugin, int level, std::string_view msg) override {
    std::lock_guard lk(mu);
    logs.push_back(std::string(plugin) + ":" + std::to_string(level) + ":" + std::string(msg));
  }
  StatusOr<std::string> readSecret(std::string_view ns, std::string_view name, std::string_view key) override {
    if (ns == "ns" && name == "s" && key == "k") return std::string("s3cr3t");
    return notFound("no such secret");
  }
  std::string cacheBaseDir() override { return cache_; }
  int64_t nowUnixMs() override { return 1234567; }
  std::mutex mu;
  std::vector<std::string> logs;

 private:
  std::string cache_;
};

class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(brokenDir().empty()) << "KUBEOP_BROKEN_PLUGIN_DIR is not set (run through ctest)";
    cache = std::filesystem::temp_directory_path() / ("kubeop-loader-test-" + std::to_string(::getpid()));
    host = std::make_shared<RecordingHost>(cache.string());
  }
  void TearDown() override { std::filesystem::remove_all(cache); }

  Status loadError(const std::string& path, std::string_view config = "{}") {
    Loader l(host);
    auto p = l.load(path, config);
    EXPECT_FALSE(p.ok()) << path << " loaded but should have been refused";
    return p.ok() ? Status::ok() : p.status();
  }

  std::filesystem::path cache;
  std::shared_ptr<RecordingHost> host;
};

void expectMentions(const Status& s, std::initializer_list<std::string_view> parts) {
  for (auto p : parts) EXPECT_NE(s.message().find(p), std::string::npos) << "missing \"" << p << "\" in: " << s.message();
}

TEST_F(LoaderTest, RefusesAbiMajorMismatchNamingBothVersions) {
  Status s = loadError(broken("abi_major"));
  expectMentions(s, {broken("abi_major"), "ABI 2.0", "ABI 1.0", "major versions differ"});
}

TEST_F(LoaderTest, RefusesAPluginNeedingANewerMinor) {
  Status s = loadError(broken("abi_minor_newer"));
  expectMentions(s, {broken("abi_minor_newer"), "ABI 1.1", "newer than this kubeop's ABI 1.0"});
}

TEST_F(LoaderTest, RefusesASharedObjectWithoutTheEntrySymbol) {
  Status s = loadError(broken("no_entry"));
  expectMentions(s, {broken("no_entry"), "kubeop_plugin_get_api", "not a kubeop plugin"});
}

TEST_F(LoaderTest, RefusesAMissingRequiredOperation) {
  Status s = loadError(broken("missing_op"));
  expectMentions(s, {"missing-op", broken("missing_op"), "missing required operation", "render"});
}

TEST_F(LoaderTest, ReportsCreateFailureWithThePluginsOwnReason) {
  Status s = loadError(broken("create_fails"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  expectMentions(s, {"create-fails", broken("create_fails"), "INVALID_CONFIG", "endpoint is required"});
}

TEST_F(LoaderTest, RefusesAnInvalidPluginName) {
  Status s = loadError(broken("bad_name"));
  expectMentions(s, {"Bad Name!", "is invalid"});
}

TEST_F(LoaderTest, RefusesMissingFilesAndNonLibraries) {
  Status missing = loadError(brokenDir() + "/nope.so");
  expectMentions(missing, {"nope.so", "does not exist"});
  auto notLib = std::filesystem::path(cache) / "text.so";
  std::filesystem::create_directories(cache);
  FILE* f = std::fopen(notLib.c_str(), "w");
  std::fputs("not an ELF file", f);
  std::fclose(f);
  Status s = loadError(notLib.string());
  expectMentions(s, {"cannot load", notLib.string()});
}

TEST_F(LoaderTest, ContainsAnOperationThatThrowsThroughTheSdk) {
  Loader l(host);
  auto p = l.load(broken("op_throws"));
  ASSERT_TRUE(p.ok()) << p.status().toString();
  auto r = (*p)->render("{}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
  expectMentions(r.status(), {"op-throws", "render failed (ERROR)", "vector index 7 out of range"});
  Status v = (*p)->validateApp("{}");
  expectMentions(v, {"validate_app failed", "non-standard exception"});
  // The plugin stays usable after a failure.
  EXPECT_FALSE((*p)->render("{}").ok());
}

TEST_F(LoaderTest, ContainsAnExceptionEscapingARawCPlugin) {
  Loader l(host);
  auto p = l.load(broken("op_throws_raw"));
  ASSERT_TRUE(p.ok()) << p.status().toString();
  auto r = (*p)->render("{}");
  ASSERT_FALSE(r.ok());
  expectMentions(r.status(), {"op-throws-raw", broken("op_throws_raw"), "exception cross the ABI",
                              "escaped from raw plugin"});
}

TEST_F(LoaderTest, RejectsInvalidJsonOutput) {
  Loader l(host);
  auto p = l.load(broken("invalid_json"));
  ASSERT_TRUE(p.ok());
  auto r = (*p)->render("{}");
  ASSERT_FALSE(r.ok());
  expectMentions(r.status(), {"invalid-json", "returned invalid JSON", "line 1"});
}

TEST_F(LoaderTest, ValidatesConfigAgainstThePluginsSchemaBeforeCreate) {
  Status missing = loadError(broken("schema_strict"), "{}");
  expectMentions(missing, {"schema-strict", "invalid config", "required"});
  Status wrongType = loadError(broken("schema_strict"), R"({"zone":"example.com","ttl":"5"})");
  expectMentions(wrongType, {"/ttl", "type"});
  Status extra = loadError(broken("schema_strict"), R"({"zone":"example.com","bogus":1})");
  expectMentions(extra, {"additionalProperties"});
  Status notJson = loadError(broken("schema_strict"), "{zone");
  expectMentions(notJson, {"not valid JSON"});
  Loader l(host);
  auto ok = l.load(broken("schema_strict"), R"({"zone":"example.com","ttl":60})");
  ASSERT_TRUE(ok.ok()) << ok.status().toString();
  auto out = (*ok)->contribute("{}");
  ASSERT_TRUE(out.ok());
  EXPECT_NE(out->find("example.com"), std::string::npos) << "the plugin received its config";
}

TEST_F(LoaderTest, HostCallbacksReachTheHostServices) {
  Loader l(host);
  auto p = l.load(broken("good_echo"));
  ASSERT_TRUE(p.ok()) << p.status().toString();
  EXPECT_EQ((*p)->info().name, "good-echo");
  EXPECT_EQ((*p)->info().version, "3.2.1");
  EXPECT_EQ((*p)->info().capabilityNames(), (std::vector<std::string>{"guardrail", "admission"}));
  auto out = (*p)->contribute("{}");
  ASSERT_TRUE(out.ok()) << out.status().toString();
  auto d = json::parse(*out);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)["now"].GetInt64(), 1234567);
  EXPECT_EQ(json::getString(*d, "secret"), "s3cr3t");
  EXPECT_EQ(json::getString(*d, "cacheDir"), (cache / "good-echo").string());
  EXPECT_TRUE(std::filesystem::is_directory(cache / "good-echo"));
  std::lock_guard lk(host->mu);
  ASSERT_FALSE(host->logs.empty());
  EXPECT_EQ(host->logs[0], "good-echo:1:echo plugin created");
}

TEST_F(LoaderTest, ReturnCodesMapToStatusCodesWithRetryMeaning) {
  Loader l(host);
  auto p = l.load(broken("good_echo"));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->contribute("retry").status().code(), StatusCode::kUnavailable);
  auto invalid = (*p)->contribute("invalid").status();
  EXPECT_EQ(invalid.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(invalid.message(), "spec.host: must be a DNS name") << "input errors reach the user verbatim";
  EXPECT_EQ((*p)->contribute("unsupported").status().code(), StatusCode::kUnimplemented);
  EXPECT_EQ((*p)->render("{}").status().code(), StatusCode::kUnimplemented) << "no delivery group";
}

TEST_F(LoaderTest, OperationsRunConcurrentlyWithPerThreadErrors) {
  Loader l(host);
  auto p = l.load(broken("good_echo"));
  ASSERT_TRUE(p.ok());
  std::vector<std::thread> ts;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        if (t % 2 == 0) {
          if ((*p)->contribute("{}").ok()) ++good;
        } else {
          auto s = (*p)->contribute("invalid").status();
          if (s.message() == "spec.host: must be a DNS name") ++good;
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(good.load(), 800);
}

TEST_F(LoaderTest, RegistryLoadsGoodPluginsRefusesDuplicatesAndListsEveryFailure) {
  RegistryOptions o;
  o.searchPath = brokenDir() + ":" + brokenDir() + "/missing-dir";
  o.host = host;
  o.configs["schema-strict"] = R"({"zone":"z"})";
  auto reg = Registry::load(o);
  std::vector<std::string> names;
  for (const auto& p : reg->plugins()) names.push_back(p->info().name);
  // Loaded in file-name order; dup_b refused because dup_a took the name.
  EXPECT_EQ(names, (std::vector<std::string>{"dup", "good-echo", "invalid-json", "op-throws", "op-throws-raw",
                                             "schema-strict"}));
  EXPECT_EQ(reg->find("dup")->info().version, "1.0.0");
  bool sawDup = false, sawMissingDir = false;
  for (const auto& e : reg->errors()) {
    if (e.path == broken("dup_b")) {
      sawDup = true;
      EXPECT_NE(e.message.find("already taken by " + broken("dup_a")), std::string::npos) << e.message;
    }
    if (e.message.find("missing-dir does not exist") != std::string::npos) sawMissingDir = true;
  }
  EXPECT_TRUE(sawDup);
  EXPECT_TRUE(sawMissingDir);
  EXPECT_EQ(reg->errors().size(), 8u);  // 7 refused files + the missing directory
  auto d = json::parse(reg->toJson());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)["plugins"].Size(), 6u);
  EXPECT_EQ(reg->findDelivery("GARBAGE")->info().name, "invalid-json") << "types match case-insensitively";
  EXPECT_EQ(reg->findDelivery("nope"), nullptr);
}

TEST_F(LoaderTest, ObserverSeesEveryCallWithItsResult) {
  Loader l(host);
  auto p = l.load(broken("good_echo"));
  ASSERT_TRUE(p.ok());
  std::vector<std::string> seen;
  (*p)->setObserver([&](std::string_view plugin, std::string_view op, std::string_view result, double s) {
    EXPECT_GE(s, 0.0);
    seen.push_back(std::string(plugin) + "/" + std::string(op) + "/" + std::string(result));
  });
  ASSERT_TRUE((*p)->contribute("{}").ok());
  EXPECT_FALSE((*p)->contribute("retry").ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"good-echo/contribute/OK", "good-echo/contribute/RETRY"}));
}

}  // namespace
}  // namespace kubeop::plugin
