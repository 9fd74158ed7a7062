#include "kubeop/sandbox/simulator.h"

#include <atomic>
#include <ctime>
#include <map>
#include <set>

#include "kubeop/core/json.h"
#include "kubeop/core/object.h"
#include "kubeop/core/quantity.h"
#include "kubeop/core/time.h"
#include "kubeop/log/log.h"

namespace kubeop::sandbox {

namespace {

using Clock = std::chrono::steady_clock;

struct Watched {
  GroupResource gr;
  std::unique_ptr<Watch> watch;
};

int64_t intAt(const json::Value& o, std::initializer_list<std::string_view> path, int64_t dflt) {
  const json::Value* v = json::findPath(o, path);
  return v && v->IsInt64() ? v->GetInt64() : dflt;
}

void addCondition(json::Value& conds, json::Allocator& a, const char* type, const char* status, const char* reason,
                  const std::string& message, const std::string& now) {
  json::Value c(rapidjson::kObjectType);
  c.AddMember("type", json::str(type, a), a);
  c.AddMember("status", json::str(status, a), a);
  c.AddMember("lastUpdateTime", json::str(now, a), a);
  c.AddMember("lastTransitionTime", json::str(now, a), a);
  c.AddMember("reason", json::str(reason, a), a);
  c.AddMember("message", json::str(message, a), a);
  conds.PushBack(c, a);
}

// The pod template's containers, or nullptr.
const json::Value* containers(const json::Value& o) {
  const json::Value* c = json::findPath(o, {"spec", "template", "spec", "containers"});
  if (!c) c = json::findPath(o, {"spec", "jobTemplate", "spec", "template", "spec", "containers"});
  return c && c->IsArray() ? c : nullptr;
}

}  // namespace

struct Simulator::Impl {
  std::shared_ptr<Store> store;
  SimulatorOptions opts;
  std::regex failing;
  std::thread thread;
  std::atomic<bool> stopping{false};
  // "group/resource/ns/name" → due time
  std::map<std::string, Clock::time_point> due;
  std::set<std::string> quotaNamespaces;

  Impl(std::shared_ptr<Store> s, SimulatorOptions o) : store(std::move(s)), opts(std::move(o)) {
    try {
      failing = std::regex(opts.failingImagePattern);
    } catch (const std::regex_error&) {
      failing = std::regex("$^");
    }
  }

  static std::string key(const GroupResource& gr, std::string_view ns, std::string_view name) {
    return gr.group + "/" + gr.resource + "/" + std::string(ns) + "/" + std::string(name);
  }

  void run() {
    std::vector<Watched> ws;
    for (auto [g, r] : std::vector<std::pair<std::string, std::string>>{{"apps", "deployments"},
                                                                         {"apps", "statefulsets"},
                                                                         {"apps", "daemonsets"},
                                                                         {"batch", "jobs"},
                                                                         {"", "resourcequotas"}}) {
      WatchOptions wo;
      wo.resourceVersion = "0";
      auto w = store->watch(GroupResource{g, r}, "", wo);
      if (w.ok()) ws.push_back({GroupResource{g, r}, std::move(w).value()});
    }
    while (!stopping) {
      bool any = false;
      for (auto& w : ws) {
        while (auto ev = w.watch->next(std::chrono::milliseconds(0))) {
          any = true;
          onEvent(w.gr, *ev);
        }
        if (w.watch->ended()) {  // overflowed: resubscribe from now
          WatchOptions wo;
          wo.resourceVersion = "0";
          auto again = store->watch(w.gr, "", wo);
          if (again.ok()) w.watch = std::move(again).value();
        }
      }
      processDue();
      if (!any) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  void onEvent(const GroupResource& gr, const WatchEvent& ev) {
    if (ev.type != WatchEventType::kAdded && ev.type != WatchEventType::kModified &&
        ev.type != WatchEventType::kDeleted) {
      return;
    }
    auto obj = Object::fromJson(*ev.object);
    if (!obj.ok()) return;
    std::string ns(obj->namespace_());
    std::string quotaKey = key(GroupResource{"", "resourcequotas"}, ns, "*");
    if (gr.resource == "resourcequotas") {
      if (ev.type != WatchEventType::kDeleted) {
        quotaNamespaces.insert(ns);
        due.emplace(quotaKey, Clock::now());
      }
      return;
    }
    if (quotaNamespaces.count(ns)) due.emplace(quotaKey, Clock::now());
    if (ev.type == WatchEventType::kDeleted) return;
    if (obj->metadata() && json::find(*obj->metadata(), "deletionTimestamp")) return;
    const json::Value* st = obj->status();
    int64_t observed = st ? intAt(*st, {"observedGeneration"}, -1) : -1;
    bool done = gr.resource == "jobs" ? (st && (json::find(*st, "completionTime") || intAt(*st, {"failed"}, 0) > 0))
                                      : observed == obj->generation();
    if (done) return;
    auto delay = gr.resource == "jobs" ? opts.jobDelay : opts.rolloutDelay;
    std::string k = key(gr, ns, obj->name());
    if (!due.count(k)) due[k] = Clock::now() + delay;
  }

  void processDue() {
    auto now = Clock::now();
    for (auto it = due.begin(); it != due.end();) {
      if (it->second > now) {
        ++it;
        continue;
      }
      std::string k = it->first;
      it = due.erase(it);
      // group/resource/ns/name
      size_t a = k.find('/'), b = k.find('/', a + 1), c = k.find('/', b + 1);
      GroupResource gr{k.substr(0, a), k.substr(a + 1, b - a - 1)};
      std::string ns = k.substr(b + 1, c - b - 1), name = k.substr(c + 1);
      if (gr.resource == "resourcequotas") {
        updateQuotas(ns);
      } else {
        reconcile(gr, ns, name);
      }
    }
  }

  void reconcile(const GroupResource& gr, const std::string& ns, const std::string& name) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      auto cur = store->get(gr, ns, name);
      if (!cur.ok()) return;
      auto obj = Object::fromJson(**cur);
      if (!obj.ok()) return;
      auto& a = obj->allocator();
      json::Value status(rapidjson::kObjectType);
      std::string now = nowRfc3339();
      const json::Value& root = obj->root();
      if (gr.resource == "jobs") {
        bool fail = false;
        // Init containers run first and fail the pod as surely as the main ones.
        const json::Value* inits = json::findPath(root, {"spec", "template", "spec", "initContainers"});
        for (const json::Value* cs : {containers(root), inits && inits->IsArray() ? inits : nullptr}) {
          if (!cs) continue;
          for (const auto& c : cs->GetArray()) {
            std::string image(json::getString(c, "image"));
            if (std::regex_search(image, failing)) fail = true;
          }
        }
        json::Value conds(rapidjson::kArrayType);
        status.AddMember("startTime", json::str(now, a), a);
        if (fail) {
          status.AddMember("failed", int64_t(intAt(root, {"spec", "backoffLimit"}, 6) + 1), a);
          addCondition(conds, a, "Failed", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit",
                       now);
        } else {
          status.AddMember("succeeded", intAt(root, {"spec", "completions"}, 1), a);
          status.AddMember("completionTime", json::str(now, a), a);
          addCondition(conds, a, "Complete", "True", "", "", now);
        }
        status.AddMember("conditions", conds, a);
      } else {
        int64_t replicas = gr.resource == "daemonsets" ? 1 : intAt(root, {"spec", "replicas"}, 1);
        status.AddMember("observedGeneration", obj->generation(), a);
        if (gr.resource == "daemonsets") {
          for (const char* f : {"currentNumberScheduled", "desiredNumberScheduled", "numberReady", "updatedNumberScheduled",
                                "numberAvailable"}) {
            status.AddMember(json::str(f, a), json::Value(replicas), a);
          }
          status.AddMember("numberMisscheduled", 0, a);
        } else {
          status.AddMember("replicas", replicas, a);
          status.AddMember("updatedReplicas", replicas, a);
          status.AddMember("readyReplicas", replicas, a);
          status.AddMember("availableReplicas", replicas, a);
          if (gr.resource == "statefulsets") {
            status.AddMember("currentReplicas", replicas, a);
            std::string rev = std::string(name) + "-" + std::to_string(obj->generation());
            status.AddMember("currentRevision", json::str(rev, a), a);
            status.AddMember("updateRevision", json::str(rev, a), a);
          }
          if (gr.resource == "deployments") {
            json::Value conds(rapidjson::kArrayType);
            addCondition(conds, a, "Available", "True", "MinimumReplicasAvailable",
                         "Deployment has minimum availability.", now);
            addCondition(conds, a, "Progressing", "True", "NewReplicaSetAvailable",
                         "ReplicaSet \"" + name + "\" has successfully progressed.", now);
            status.AddMember("conditions", conds, a);
          }
        }
      }
      json::setMember(obj->root(), "status", status, a);
      UpdateOptions uo;
      uo.subresource = Subresource::kStatus;
      auto r = store->update(gr, ns, name, std::move(obj).value(), uo);
      if (r.ok() || r.status().code() != StatusCode::kAborted) return;
    }
  }

  // ResourceQuota status.used from the namespace's workloads (replicas × container requests).
  void updateQuotas(const std::string& ns) {
    int64_t pods = 0, cpu = 0, mem = 0, limCpu = 0, limMem = 0;
    for (auto [g, r] : std::vector<std::pair<std::string, std::string>>{
             {"apps", "deployments"}, {"apps", "statefulsets"}, {"apps", "daemonsets"}, {"batch", "jobs"}}) {
      auto l = store->list(GroupResource{g, r}, ns, ListOptions{});
      if (!l.ok()) continue;
      for (const auto& item : l->items) {
        auto d = json::parse(*item);
        if (!d.ok()) continue;
        if (r == "jobs" && json::findPath(*d, {"status", "completionTime"})) continue;
        int64_t n = r == "daemonsets" ? 1 : r == "jobs" ? intAt(*d, {"spec", "parallelism"}, 1) : intAt(*d, {"spec", "replicas"}, 1);
        pods += n;
        if (const json::Value* cs = containers(*d)) {
          for (const auto& c : cs->GetArray()) {
            auto q = [&](const char* section, const char* res) -> int64_t {
              const json::Value* v = json::findPath(c, {"resources", section, res});
              if (!v || !v->IsString()) return 0;
              auto m = quantity::parseMilli(json::view(*v));
              return m.ok() ? *m : 0;
            };
            cpu += n * q("requests", "cpu");
            mem += n * q("requests", "memory");
            limCpu += n * q("limits", "cpu");
            limMem += n * q("limits", "memory");
          }
        }
      }
    }
    auto quotas = store->list(GroupResource{"", "resourcequotas"}, ns, ListOptions{});
    if (!quotas.ok()) return;
    for (const auto& item : quotas->items) {
      auto obj = Object::fromJson(*item);
      if (!obj.ok()) continue;
      auto& a = obj->allocator();
      const json::Value* hard = json::findPath(obj->root(), {"spec", "hard"});
      if (!hard || !hard->IsObject()) continue;
      json::Value status(rapidjson::kObjectType);
      json::Value h(*hard, a);
      json::Value used(rapidjson::kObjectType);
      for (auto m = hard->MemberBegin(); m != hard->MemberEnd(); ++m) {
        std::string_view k = json::view(m->name);
        std::string v;
        if (k == "pods" || k == "count/pods") v = std::to_string(pods);
        else if (k == "requests.cpu" || k == "cpu") v = quantity::format(cpu, false);
        else if (k == "requests.memory" || k == "memory") v = quantity::format(mem, true);
        else if (k == "limits.cpu") v = quantity::format(limCpu, false);
        else if (k == "limits.memory") v = quantity::format(limMem, true);
        else v = "0";
        used.AddMember(json::Value(m->name, a), json::str(v, a), a);
      }
      status.AddMember("hard", h, a);
      status.AddMember("used", used, a);
      const json::Value* old = obj->status();
      if (old && json::write(*old) == json::write(status)) continue;
      json::setMember(obj->root(), "status", status, a);
      UpdateOptions uo;
      uo.subresource = Subresource::kStatus;
      std::string name(obj->name());
      store->update(GroupResource{"", "resourcequotas"}, ns, name, std::move(obj).value(), uo).status().ignoreError();
    }
  }
};

Simulator::Simulator(std::shared_ptr<Store> store, SimulatorOptions opts)
    : impl_(std::make_unique<Impl>(std::move(store), std::move(opts))) {}

Simulator::~Simulator() { stop(); }

void Simulator::start() {
  if (impl_->thread.joinable()) return;
  impl_->stopping = false;
  impl_->thread = std::thread([this] { impl_->run(); });
}

void Simulator::stop() {
  impl_->stopping = true;
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace kubeop::sandbox
