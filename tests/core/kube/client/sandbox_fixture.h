// Test support for the Kubernetes client and informer tests: `kubeop sandbox` run as a child
// process (HTTPS, bearer token, a kubeconfig written for it), as a real cluster would be used,
// plus small object builders and a polling helper.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "kubeop/core/object.h"
#include "kubeop/kube/client.h"
#include "kubeop/kube/kubeconfig.h"
#include "process.h"
#include "test_paths.h"

namespace kubeop::kube::testing {

using namespace std::chrono_literals;

// Polls `pred` until it holds or `within` passes (no fixed sleeps in assertions).
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds within = 10000ms) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// A running `kubeop sandbox` on 127.0.0.1:<ephemeral>, stopped (SIGTERM) and cleaned up on
// destruction.
class Sandbox {
 public:
  static std::unique_ptr<Sandbox> start(const std::vector<std::string>& extraArgs = {}) {
    auto s = std::unique_ptr<Sandbox>(new Sandbox());
    char tmpl[] = "/tmp/kubeop-client-test-XXXXXX";
    if (!mkdtemp(tmpl)) {
      ADD_FAILURE() << "mkdtemp failed";
      return nullptr;
    }
    s->dir_ = tmpl;
    s->kubeconfig_ = s->dir_ + "/kubeconfig";
    std::string bin = kubeop::test::kubeopBinary();
    if (access(bin.c_str(), X_OK) != 0) {
      ADD_FAILURE() << "the kubeop binary is missing at " << bin << " (build the kubeop target)";
      return nullptr;
    }
    std::vector<std::string> argv = {bin, "sandbox", "--listen", "127.0.0.1:0", "--kubeconfig-out", s->kubeconfig_,
                                     "--rollout-delay", "100ms", "--job-delay", "100ms"};
    argv.insert(argv.end(), extraArgs.begin(), extraArgs.end());
    s->child_ = std::make_unique<kubeop::test::Child>(argv);
    std::string out = s->child_->readUntil("kubeconfig:", 30s);
    if (out.find("kubeconfig:") == std::string::npos) {
      ADD_FAILURE() << "kubeop sandbox did not start; stdout: " << out;
      return nullptr;
    }
    LoadOptions lo;
    lo.kubeconfigPath = s->kubeconfig_;
    auto rc = loadRestConfig(lo);
    if (!rc.ok()) {
      ADD_FAILURE() << "loading the sandbox kubeconfig: " << rc.status().toString();
      return nullptr;
    }
    s->rest_ = std::move(rc).value();
    return s;
  }

  ~Sandbox() {
    if (child_) child_->stop(SIGTERM, 10s);
    child_.reset();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  const RestConfig& rest() const { return rest_; }
  const std::string& kubeconfigPath() const { return kubeconfig_; }

  std::shared_ptr<Client> client(ClientConfig config = {}) const {
    auto c = Client::create(rest_, std::move(config));
    if (!c.ok()) {
      ADD_FAILURE() << c.status().toString();
      return nullptr;
    }
    return std::shared_ptr<Client>(std::move(c).value());
  }

 private:
  Sandbox() = default;
  std::string dir_;
  std::string kubeconfig_;
  std::unique_ptr<kubeop::test::Child> child_;
  RestConfig rest_;
};

inline Object parseObject(const std::string& json) {
  auto o = Object::fromJson(json);
  if (!o.ok()) {
    ADD_FAILURE() << o.status().toString() << " in " << json;
    return Object();
  }
  return std::move(o).value();
}

inline Object configMap(std::string_view ns, std::string_view name, const std::map<std::string, std::string>& data = {},
                        const std::map<std::string, std::string>& labels = {}) {
  Object o;
  o.setApiVersion("v1");
  o.setKind("ConfigMap");
  o.setName(name);
  if (!ns.empty()) o.setNamespace(ns);
  for (const auto& [k, v] : labels) o.setLabel(k, v);
  if (!data.empty()) {
    json::Value d(rapidjson::kObjectType);
    for (const auto& [k, v] : data) d.AddMember(json::str(k, o.allocator()), json::str(v, o.allocator()), o.allocator());
    json::setMember(o.root(), "data", d, o.allocator());
  }
  return o;
}

inline std::string dataOf(const Object& o, std::string_view key) {
  const json::Value* d = json::find(o.root(), "data");
  return d ? std::string(json::getString(*d, key)) : std::string();
}

// A namespace with a unique name (tests share one sandbox per suite).
inline std::string makeNamespace(Client& client, std::string_view prefix) {
  static std::atomic<int> counter{0};
  std::string name = std::string(prefix) + "-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
  Object ns;
  ns.setApiVersion("v1");
  ns.setKind("Namespace");
  ns.setName(name);
  auto r = client.create(ns);
  if (!r.ok()) ADD_FAILURE() << "creating namespace " << name << ": " << r.status().toString();
  return name;
}

}  // namespace kubeop::kube::testing
