#include "sandbox_runner.h"

#include <algorithm>
#include <filesystem>

#include "commands.h"
#include "kubeop/core/object.h"
#include "kubeop/log/log.h"

namespace kubeop::cmd {

StatusOr<std::unique_ptr<EmbeddedSandbox>> EmbeddedSandbox::start(const SandboxConfig& c) {
  std::unique_ptr<EmbeddedSandbox> s(new EmbeddedSandbox());
  s->config_ = c;
  s->registry_ = std::make_shared<sandbox::ResourceRegistry>();
  sandbox::StoreOptions so;
  so.historyWindow = c.watchWindow;
  s->store_ = std::make_shared<sandbox::Store>(s->registry_, so);
  if (!c.dataDir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(c.dataDir, ec);
    if (std::filesystem::exists(c.dataDir + "/snapshot.jsonl")) {
      if (Status st = s->store_->loadFrom(c.dataDir); !st.isOk()) {
        return Status(st.code(), "cannot load the sandbox state from " + c.dataDir + ": " + st.message());
      }
    }
  }
  // The namespaces every cluster has.
  for (const char* ns : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    Object o;
    o.setApiVersion("v1");
    o.setKind("Namespace");
    o.setName(ns);
    s->store_->create(sandbox::GroupResource{"", "namespaces"}, "", std::move(o)).status().ignoreError();
  }
  auto creds = sandboxCredentials(c.dataDir, c.host, c.token);
  if (!creds.ok()) return creds.status();
  s->token_ = creds->token;
  s->caPem_ = creds->caCertPem;

  sandbox::ApiServerOptions ao;
  ao.tokens = {creds->token};
  ao.faults = c.faults;
  s->api_ = std::make_unique<sandbox::ApiServer>(s->registry_, s->store_, ao);
  s->api_->restoreCustomResources();
  s->metrics_ = std::make_unique<metrics::Registry>();
  http::Router router;
  s->api_->addRoutes(router);
  metrics::Registry* m = s->metrics_.get();
  router.add("GET", "/metrics", [m](const http::Request&) {
    http::Response r = http::Response::text(200, m->serialize());
    r.contentType = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  });

  sandbox::SimulatorOptions simOpts;
  simOpts.rolloutDelay = c.rolloutDelay;
  simOpts.jobDelay = c.jobDelay;
  simOpts.failingImagePattern = c.failingImagePattern;
  s->sim_ = std::make_unique<sandbox::Simulator>(s->store_, simOpts);
  s->sim_->start();

  http::ServerOptions hso;
  hso.address = c.host;
  hso.port = c.port;
  hso.workerThreads = c.threads;
  hso.serviceName = "sandbox";
  hso.metrics = m;
  http::TlsOptions tls;
  tls.certificateChainPem = creds->serverCertPem + creds->caCertPem;
  tls.privateKeyPem = creds->serverKeyPem;
  hso.tls = tls;
  auto server = http::Server::start(hso, std::move(router));
  if (!server.ok()) return server.status();
  s->server_ = std::move(server).value();
  std::string clientHost = c.host == "0.0.0.0" ? "127.0.0.1" : c.host;
  s->url_ = "https://" + clientHost + ":" + std::to_string(s->server_->port());
  if (!c.kubeconfigOut.empty()) {
    KUBEOP_RETURN_IF_ERROR(writeSandboxKubeconfig(c.kubeconfigOut, s->url_, creds->caCertPem, creds->token));
  }
  EmbeddedSandbox* self = s.get();
  s->housekeeping_ = std::thread([self] {
    auto lastBookmark = std::chrono::steady_clock::now();
    auto lastSave = lastBookmark;
    uint64_t savedRv = self->store_->resourceVersion();
    while (!self->done_) {
      std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(std::chrono::milliseconds(200),
                                                                      self->config_.bookmarkInterval));
      auto now = std::chrono::steady_clock::now();
      if (now - lastBookmark >= self->config_.bookmarkInterval) {
        self->store_->sendBookmarks();
        lastBookmark = now;
      }
      // Snapshots every few seconds, so a killed sandbox loses little.
      if (!self->config_.dataDir.empty() && now - lastSave > std::chrono::seconds(5) &&
          self->store_->resourceVersion() != savedRv) {
        savedRv = self->store_->resourceVersion();
        if (Status st = self->store_->saveTo(self->config_.dataDir); !st.isOk()) {
          log::warn("sandbox snapshot failed", {{"error", st.message()}});
        }
        lastSave = now;
      }
    }
  });
  return s;
}

Status EmbeddedSandbox::stop() {
  if (stopped_) return Status::ok();
  stopped_ = true;
  done_ = true;
  if (housekeeping_.joinable()) housekeeping_.join();
  if (server_) server_->stop(std::chrono::seconds(5));
  if (sim_) sim_->stop();
  if (!config_.dataDir.empty()) return store_->saveTo(config_.dataDir);
  return Status::ok();
}

EmbeddedSandbox::~EmbeddedSandbox() { stop().ignoreError(); }

}  // namespace kubeop::cmd
