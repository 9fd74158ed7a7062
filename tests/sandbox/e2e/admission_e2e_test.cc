// Admission webhooks end to end: a real HTTPS webhook server (kubeop's own), registered with
// kubectl as a Validating/MutatingWebhookConfiguration, consulted by the sandbox on kubectl's
// writes (KUBEOP.md A3/A6: webhook denial on kubectl, mutating label on App CRs).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "kubeop/core/json.h"
#include "kubeop/core/pki.h"
#include "kubeop/http/server.h"
#include "process.h"
#include "test_paths.h"

namespace kubeop::test {
namespace {

const char* kKubectl = "/usr/bin/kubectl";

std::string reviewResponse(const http::Request& req, bool allowed, const std::string& message,
                           const std::string& patch) {
  auto d = json::parse(req.body);
  std::string uid = d.ok() ? std::string(json::getString((*d)["request"], "uid")) : "";
  std::string out = R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":")" + uid +
                    R"(","allowed":)" + (allowed ? "true" : "false");
  if (!message.empty()) out += R"(,"status":{"message":")" + message + R"("})";
  if (!patch.empty()) out += R"(,"patchType":"JSONPatch","patch":")" + pki::base64Encode(patch) + R"(")";
  return out + "}}";
}

TEST(AdmissionE2eTest, KubectlWritesAreValidatedAndMutatedByRegisteredWebhooks) {
  if (!std::filesystem::exists(kKubectl)) GTEST_SKIP() << "kubectl is not installed";
  auto dir = std::filesystem::temp_directory_path() / ("kubeop-adm-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string kubeconfig = (dir / "kubeconfig").string();
  Child sandbox({kubeopBinary(), "sandbox", "--listen", "127.0.0.1:0", "--kubeconfig-out", kubeconfig});
  ASSERT_NE(sandbox.readUntil("kubeconfig:", std::chrono::seconds(30)).find("kubeconfig:"), std::string::npos);

  // The webhook: denies ConfigMaps labelled deny=yes; labels every ConfigMap it sees.
  auto ca = pki::generateCa("webhook-ca");
  ASSERT_TRUE(ca.ok());
  auto cert = pki::issueServingCertificate(*ca, "webhook", {"localhost"}, {"127.0.0.1"});
  ASSERT_TRUE(cert.ok());
  http::Router router;
  router.add("POST", "/validate", [](const http::Request& req) {
    bool deny = req.body.find("\"deny\":\"yes\"") != std::string::npos;
    return http::Response::json(200, reviewResponse(req, !deny, deny ? "denied by test policy" : "", ""));
  });
  router.add("POST", "/mutate", [](const http::Request& req) {
    return http::Response::json(
        200, reviewResponse(req, true, "", R"([{"op":"add","path":"/metadata/labels/mutated","value":"yes"}])"));
  });
  http::ServerOptions so;
  http::TlsOptions tls;
  tls.certificateChainPem = cert->certificatePem;
  tls.privateKeyPem = cert->keyPem;
  so.tls = tls;
  auto server = http::Server::start(so, std::move(router));
  ASSERT_TRUE(server.ok()) << server.status().toString();
  std::string base = "https://127.0.0.1:" + std::to_string((*server)->port());
  std::string caB64 = pki::base64Encode(ca->certificatePem);
  std::string webhooks =
      "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata: {name: test-deny}\n"
      "webhooks:\n- name: deny.kubeop.test\n  admissionReviewVersions: [v1]\n  sideEffects: None\n"
      "  failurePolicy: Fail\n  clientConfig: {url: \"" + base + "/validate\", caBundle: " + caB64 + "}\n"
      "  rules: [{apiGroups: [\"\"], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [configmaps]}]\n"
      "---\napiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata: {name: test-mutate}\n"
      "webhooks:\n- name: mutate.kubeop.test\n  admissionReviewVersions: [v1]\n  sideEffects: None\n"
      "  failurePolicy: Fail\n  clientConfig: {url: \"" + base + "/mutate\", caBundle: " + caB64 + "}\n"
      "  rules: [{apiGroups: [\"\"], apiVersions: [v1], operations: [CREATE], resources: [configmaps]}]\n";
  auto kubectl = [&](std::vector<std::string> args, const std::string& in = "") {
    std::vector<std::string> argv{kKubectl, "--kubeconfig", kubeconfig};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, in, {"HOME=" + dir.string()});
  };
  auto reg = kubectl({"apply", "-f", "-"}, webhooks);
  ASSERT_EQ(reg.exitCode, 0) << reg.err;

  auto denied = kubectl({"create", "-f", "-"}, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad, labels: {deny: \"yes\"}}\n");
  EXPECT_NE(denied.exitCode, 0);
  EXPECT_NE(denied.err.find("admission webhook \"deny.kubeop.test\" denied the request: denied by test policy"),
            std::string::npos)
      << denied.err;
  auto allowed = kubectl({"create", "-f", "-"}, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: good, labels: {app: x}}\n");
  ASSERT_EQ(allowed.exitCode, 0) << allowed.err;
  auto label = kubectl({"get", "configmap", "good", "-o", "jsonpath={.metadata.labels.mutated}"});
  EXPECT_EQ(label.out, "yes") << "the mutating webhook's JSONPatch was applied";
  (*server)->stop(std::chrono::milliseconds(100));
  // failurePolicy Fail: with the webhook down, writes are refused with the apiserver's wording.
  auto down = kubectl({"create", "-f", "-"}, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: later, labels: {app: x}}\n");
  EXPECT_NE(down.exitCode, 0);
  EXPECT_NE(down.err.find("failed calling webhook"), std::string::npos) << down.err;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kubeop::test
