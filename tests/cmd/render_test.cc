// `kubeop render` as a user runs it: the real binary, the real Raw plugin, files on disk.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "kubeop/core/json.h"
#include "kubeop/core/yaml.h"
#include "process.h"
#include "test_paths.h"

namespace kubeop::test {
namespace {

class RenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() / ("kubeop-render-" + std::to_string(::getpid()) + "-" +
                                                    ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  std::string write(const std::string& name, const std::string& content) {
    auto p = dir / name;
    std::ofstream(p) << content;
    return p.string();
  }
  RunResult render(const std::vector<std::string>& extra) {
    std::vector<std::string> argv{kubeopBinary(), "render", "--plugin-path", pluginDir()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run(argv);
  }
  static std::string app(const std::string& manifests, const std::string& type = "Raw") {
    std::string indented;
    size_t start = 0;
    while (start < manifests.size()) {
      size_t nl = manifests.find('\n', start);
      if (nl == std::string::npos) nl = manifests.size();
      indented += "    " + manifests.substr(start, nl - start) + "\n";
      start = nl + 1;
    }
    return "apiVersion: paas.kubeop.io/v1alpha1\nkind: App\nmetadata:\n  name: web\n  namespace: kubeop-acme-web\n"
           "spec:\n  type: " + type + "\n  rawManifests: |\n" + indented;
  }

  std::filesystem::path dir;
};

TEST_F(RenderTest, RendersARawAppAsYamlPlacedAndLabelled) {
  std::string f = write("app.yaml", app("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  mode: \"0755\"\n"
                                        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n"
                                        "  replicas: 2\n"));
  auto r = render({"-f", f, "--tenant", "acme", "--project", "web"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  auto docs = yaml::parseStream(r.out);
  ASSERT_TRUE(docs.ok()) << docs.status().toString() << "\n" << r.out;
  ASSERT_EQ(docs->size(), 2u) << r.out;
  for (const auto& d : *docs) {
    EXPECT_EQ(json::getString(d.doc["metadata"], "namespace"), "kubeop-acme-web");
    EXPECT_EQ(json::getString(d.doc["metadata"]["labels"], "app.kubeop.io/app"), "web");
    EXPECT_EQ(json::getString(d.doc["metadata"]["labels"], "app.kubeop.io/tenant"), "acme");
  }
  EXPECT_TRUE((*docs)[0].doc["data"]["mode"].IsString()) << "\"0755\" must stay a string through the round trip";
  EXPECT_NE(r.out.find("# Source: App kubeop-acme-web/web (Raw via delivery-raw), revision "), std::string::npos);
}

TEST_F(RenderTest, ReadsStdinAndPrintsJsonList) {
  auto r = run({kubeopBinary(), "render", "-f", "-", "-o", "json", "--plugin-path", pluginDir()},
               app("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"));
  ASSERT_EQ(r.exitCode, 0) << r.err;
  auto d = json::parse(r.out);
  ASSERT_TRUE(d.ok()) << r.out;
  EXPECT_EQ(json::getString(*d, "kind"), "List");
  EXPECT_EQ((*d)["items"].Size(), 1u);
}

struct Bad {
  const char* name;
  std::string file;  // contents
  std::vector<std::string> expect;
};
void PrintTo(const Bad& b, std::ostream* os) { *os << b.name; }

class RenderRejectsTest : public ::testing::TestWithParam<Bad> {};

TEST_P(RenderRejectsTest, WithExitCodeOneAndAMessageNamingFileDocumentAndField) {
  auto dir = std::filesystem::temp_directory_path() / ("kubeop-render-bad-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto f = (dir / (std::string(GetParam().name) + ".yaml")).string();
  std::ofstream(f) << GetParam().file;
  auto r = run({kubeopBinary(), "render", "-f", f, "--plugin-path", pluginDir()});
  EXPECT_EQ(r.exitCode, 1) << r.err;
  EXPECT_TRUE(r.out.empty()) << "nothing is printed when rendering fails: " << r.out;
  EXPECT_NE(r.err.find(f), std::string::npos) << "message must name the file: " << r.err;
  for (const auto& e : GetParam().expect) EXPECT_NE(r.err.find(e), std::string::npos) << "missing \"" << e << "\": " << r.err;
  std::filesystem::remove_all(dir);
}

const std::string kOk = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\n";
std::string rawApp(const std::string& m) {
  std::string ind;
  for (size_t s = 0; s < m.size();) {
    size_t nl = m.find('\n', s);
    if (nl == std::string::npos) nl = m.size();
    ind += "    " + m.substr(s, nl - s) + "\n";
    s = nl + 1;
  }
  return "apiVersion: paas.kubeop.io/v1alpha1\nkind: App\nmetadata: {name: web, namespace: team}\nspec:\n"
         "  type: Raw\n  rawManifests: |\n" + ind;
}

INSTANTIATE_TEST_SUITE_P(
    BadInput, RenderRejectsTest,
    ::testing::Values(
        Bad{"MissingApiVersion", rawApp(kOk + "kind: ConfigMap\nmetadata: {name: x}\n"),
            {"document 0 (App web)", "rawManifests document 1", "apiVersion is required"}},
        Bad{"MissingKind", rawApp(kOk + "apiVersion: v1\nmetadata: {name: x}\n"), {"rawManifests document 1", "kind is required"}},
        Bad{"MissingName", rawApp(kOk + "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"),
            {"rawManifests document 1", "metadata.name is required"}},
        Bad{"InvalidName", rawApp(kOk + "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Not_Valid}\n"),
            {"rawManifests document 1", "metadata.name \"Not_Valid\" is invalid"}},
        Bad{"OtherNamespace", rawApp(kOk + "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: default}\n"),
            {"rawManifests document 1", "metadata.namespace \"default\" is not the App's namespace \"team\""}},
        Bad{"ClusterScoped", rawApp(kOk + "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n"
                                          "metadata: {name: x}\n"),
            {"rawManifests document 1", "ClusterRoleBinding is cluster-scoped"}},
        Bad{"MalformedFile", "apiVersion: paas.kubeop.io/v1alpha1\nkind: App\nmetadata: {name: [\n",
            {"document 0", "line 4, column 1"}},
        Bad{"NotAnApp", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
            {"document 0", "kind ConfigMap", "is not an App"}},
        Bad{"SecondDocNotAnApp", rawApp(kOk) + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\n",
            {"document 1", "kind Pod"}},
        Bad{"UnknownType", "apiVersion: paas.kubeop.io/v1alpha1\nkind: App\nmetadata: {name: web}\nspec: {type: Kustomize}\n",
            {"spec.type: unknown delivery type \"Kustomize\"", "registered: Raw"}},
        Bad{"NoType", "apiVersion: paas.kubeop.io/v1alpha1\nkind: App\nmetadata: {name: web}\nspec: {}\n",
            {"spec.type is required"}},
        Bad{"NoManifests", "apiVersion: paas.kubeop.io/v1alpha1\nkind: App\nmetadata: {name: web}\nspec: {type: Raw}\n",
            {"spec.rawManifests is required"}},
        Bad{"EmptyFile", "# nothing here\n", {"no App found"}}),
    [](const ::testing::TestParamInfo<Bad>& i) { return std::string(i.param.name); });

TEST_F(RenderTest, MissingFileAndBadFlagsAreEnvironmentAndUsageErrors) {
  auto missing = render({"-f", (dir / "nope.yaml").string()});
  EXPECT_EQ(missing.exitCode, 3);
  EXPECT_NE(missing.err.find("cannot read"), std::string::npos);
  auto noFile = render({});
  EXPECT_EQ(noFile.exitCode, 2);
  EXPECT_NE(noFile.err.find("-f <file> is required"), std::string::npos);
  auto badFlag = render({"--bogus"});
  EXPECT_EQ(badFlag.exitCode, 2);
  EXPECT_NE(badFlag.err.find("unknown flag --bogus"), std::string::npos);
  auto badOut = render({"-f", "x", "-o", "xml"});
  EXPECT_EQ(badOut.exitCode, 2);
}

TEST_F(RenderTest, EveryCommandHasHelp) {
  for (std::string cmd : {"render", "plugins", "up", "version"}) {
    auto r = run({kubeopBinary(), cmd, "--help"});
    EXPECT_EQ(r.exitCode, 0) << cmd;
    EXPECT_NE(r.out.find("Usage: kubeop " + cmd), std::string::npos) << cmd << ": " << r.out;
  }
  auto top = run({kubeopBinary(), "--help"});
  EXPECT_EQ(top.exitCode, 0);
  EXPECT_NE(top.out.find("render"), std::string::npos);
  auto unknown = run({kubeopBinary(), "frobnicate"});
  EXPECT_EQ(unknown.exitCode, 2);
  EXPECT_NE(unknown.err.find("unknown command \"frobnicate\""), std::string::npos);
}

TEST_F(RenderTest, VersionPrintsBuildMetadataAsJson) {
  auto r = run({kubeopBinary(), "version"});
  ASSERT_EQ(r.exitCode, 0);
  auto d = json::parse(r.out);
  ASSERT_TRUE(d.ok()) << r.out;
  EXPECT_EQ(json::getString(*d, "service"), "kubeop");
  EXPECT_FALSE(json::getString(*d, "version").empty());
  EXPECT_FALSE(json::getString(*d, "gitCommit").empty());
  EXPECT_EQ(json::getString(*d, "buildDate").size(), 20u);
}

}  // namespace
}  // namespace kubeop::test
