// A third-party delivery type "Hello": an App with
//   spec: {type: Hello, config: {greeting: "hi", replicas: 2}}
// is delivered as a ConfigMap holding the greeting. It shows the whole SDK surface a delivery
// plugin needs: a config schema checked by the host, validation, rendering, typed errors.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>

#include "kubeop/plugin_sdk.h"

namespace {

using rapidjson::Document;
using rapidjson::Value;

class HelloDelivery {
 public:
  static constexpr const char* kName = "hello-delivery";
  static constexpr const char* kVersion = "1.0.0";
  static constexpr uint32_t kCapabilities = KUBEOP_CAP_DELIVERY;
  static constexpr const char* kDeliveryType = "Hello";
  static constexpr const char* kConfigSchema =
      R"({"type":"object","properties":{"defaultGreeting":{"type":"string","minLength":1}},)"
      R"("additionalProperties":false})";

  HelloDelivery(std::string_view config, kubeop::sdk::Host host) : host_(host) {
    Document d;
    d.Parse(config.data(), config.size());
    if (d.IsObject() && d.HasMember("defaultGreeting") && d["defaultGreeting"].IsString()) {
      defaultGreeting_ = d["defaultGreeting"].GetString();
    }
    host_.info("hello-delivery ready, default greeting: " + defaultGreeting_);
  }

  void validateApp(std::string_view app) { (void)parseApp(app); }

  std::string render(std::string_view request) {
    Document req;
    req.Parse(request.data(), request.size());
    if (!req.IsObject()) throw kubeop::sdk::InvalidInput("render request is not a JSON object");
    const Value& app = req.HasMember("app") ? req["app"] : req;
    std::string appJson = toJson(app);
    std::string greeting = parseApp(appJson);
    std::string name = app["metadata"]["name"].GetString();
    std::string ns = "default";
    if (req.HasMember("context") && req["context"].IsObject() && req["context"].HasMember("namespace") &&
        req["context"]["namespace"].IsString()) {
      ns = req["context"]["namespace"].GetString();
    } else if (app["metadata"].HasMember("namespace") && app["metadata"]["namespace"].IsString()) {
      ns = app["metadata"]["namespace"].GetString();
    }
    Document out(rapidjson::kObjectType);
    auto& a = out.GetAllocator();
    Value cm(rapidjson::kObjectType);
    cm.AddMember("apiVersion", "v1", a);
    cm.AddMember("kind", "ConfigMap", a);
    Value meta(rapidjson::kObjectType);
    meta.AddMember("name", Value(("hello-" + name).c_str(), a), a);
    meta.AddMember("namespace", Value(ns.c_str(), a), a);
    Value labels(rapidjson::kObjectType);
    labels.AddMember("app.kubeop.io/app", Value(name.c_str(), a), a);
    meta.AddMember("labels", labels, a);
    cm.AddMember("metadata", meta, a);
    Value data(rapidjson::kObjectType);
    data.AddMember("greeting", Value(greeting.c_str(), a), a);
    cm.AddMember("data", data, a);
    Value objects(rapidjson::kArrayType);
    objects.PushBack(cm, a);
    out.AddMember("objects", objects, a);
    out.AddMember("revision", Value(("hello-" + std::to_string(std::hash<std::string>{}(greeting) % 100000)).c_str(), a), a);
    return toJson(out);
  }

 private:
  // Returns the greeting; throws InvalidInput naming the field otherwise.
  std::string parseApp(std::string_view appJson) {
    Document app;
    app.Parse(appJson.data(), appJson.size());
    if (!app.IsObject()) throw kubeop::sdk::InvalidInput("the App is not a JSON object");
    if (!app.HasMember("metadata") || !app["metadata"].IsObject() || !app["metadata"].HasMember("name") ||
        !app["metadata"]["name"].IsString()) {
      throw kubeop::sdk::InvalidInput("metadata.name is required");
    }
    if (!app.HasMember("spec") || !app["spec"].IsObject()) throw kubeop::sdk::InvalidInput("spec is required");
    const Value& spec = app["spec"];
    if (!spec.HasMember("config")) return defaultGreeting_;
    const Value& cfg = spec["config"];
    if (!cfg.IsObject()) throw kubeop::sdk::InvalidInput("spec.config must be a map");
    if (!cfg.HasMember("greeting")) return defaultGreeting_;
    if (!cfg["greeting"].IsString() || cfg["greeting"].GetStringLength() == 0) {
      throw kubeop::sdk::InvalidInput("spec.config.greeting must be a non-empty string");
    }
    return cfg["greeting"].GetString();
  }

  static std::string toJson(const Value& v) {
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    v.Accept(w);
    return sb.GetString();
  }

  kubeop::sdk::Host host_;
  std::string defaultGreeting_ = "hello";
};

}  // namespace

KUBEOP_PLUGIN(HelloDelivery)
