// kubeop render -f app.yaml: what the App's delivery plugin would deliver, as YAML.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "kubeop/cli/flags.h"
#include "kubeop/core/json.h"
#include "kubeop/core/object.h"
#include "kubeop/core/yaml.h"
#include "kubeop/log/log.h"
#include "kubeop/plugin_abi.h"

namespace kubeop::cmd {
namespace {

StatusOr<std::string> readInput(const std::string& file) {
  std::stringstream ss;
  if (file == "-") {
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return notFound("cannot read " + file);
  ss << in.rdbuf();
  return ss.str();
}

bool isApp(const Object& o) {
  return o.kind() == "App" && GroupVersionKind::parse(o.apiVersion(), o.kind()).group == "paas.kubeop.io";
}

}  // namespace

int runRender(const std::vector<std::string>& args) {
  cli::FlagSet fs("render",
                  "Renders each App in the file with the delivery plugin named by its spec.type and prints the\n"
                  "resulting Kubernetes objects as a YAML stream. Nothing is sent to a cluster.");
  fs.add("filename", "", "the App manifest (YAML or JSON; '-' reads stdin)", "-", "f");
  fs.add("output", "yaml", "output format: yaml or json", "-", "o");
  fs.add("namespace", "", "namespace for Apps without metadata.namespace (default: the App's, else 'default')", "-",
         "n");
  fs.add("tenant", "", "tenant name for the app.kubeop.io/tenant label", "-");
  fs.add("project", "", "project name for the app.kubeop.io/project label", "-");
  fs.add("plugin-path", "", "plugin directories or files, colon-separated", "KUBEOP_PLUGIN_PATH");
  fs.add("plugin-config", "", "plugin config file (YAML/JSON map of plugin name → config)");
  if (Status st = fs.parse(args); !st.isOk()) {
    std::fprintf(stderr, "kubeop render: %s\n", st.message().c_str());
    return 2;
  }
  if (fs.helpRequested()) {
    std::fputs(fs.usage().c_str(), stdout);
    return 0;
  }
  std::string file = fs.get("filename");
  if (file.empty() && fs.positional().size() == 1) file = fs.positional()[0];
  if (file.empty()) {
    std::fprintf(stderr, "kubeop render: -f <file> is required (see kubeop render --help)\n");
    return 2;
  }
  std::string output = fs.get("output");
  if (output != "yaml" && output != "json") {
    std::fprintf(stderr, "kubeop render: --output must be yaml or json, not \"%s\"\n", output.c_str());
    return 2;
  }
  if (!std::getenv("LOG_LEVEL")) log::setLevel(log::Level::kWarn);

  auto text = readInput(file);
  if (!text.ok()) {
    std::fprintf(stderr, "kubeop render: %s\n", text.status().message().c_str());
    return 3;
  }
  yaml::ParseOptions po;
  po.source = file;
  auto docs = yaml::parseStream(*text, po);
  if (!docs.ok()) {
    std::fprintf(stderr, "kubeop render: %s\n", docs.status().message().c_str());
    return 1;
  }
  if (docs->empty()) {
    std::fprintf(stderr, "kubeop render: %s: no App found (the file has no documents)\n", file.c_str());
    return 1;
  }
  auto reg = loadRegistry(fs.get("plugin-path"), fs.get("plugin-config"));
  if (!reg.ok()) {
    std::fprintf(stderr, "kubeop render: %s\n", reg.status().message().c_str());
    return 3;
  }

  std::string out;
  json::Document list(rapidjson::kObjectType);
  auto& la = list.GetAllocator();
  json::Value items(rapidjson::kArrayType);
  for (auto& d : *docs) {
    std::string where = file + ": document " + std::to_string(d.index);
    if (!d.doc.IsObject()) {
      std::fprintf(stderr, "kubeop render: %s: expected an App object, got %s\n", where.c_str(),
                   json::typeName(d.doc));
      return 1;
    }
    Object app(std::move(d.doc));
    if (!isApp(app)) {
      std::fprintf(stderr, "kubeop render: %s: kind %s (apiVersion %s) is not an App of paas.kubeop.io/v1alpha1\n",
                   where.c_str(), app.kind().empty() ? "<none>" : std::string(app.kind()).c_str(),
                   app.apiVersion().empty() ? "<none>" : std::string(app.apiVersion()).c_str());
      return 1;
    }
    where += " (App " + std::string(app.name().empty() ? "<unnamed>" : app.name()) + ")";
    if (app.name().empty()) {
      std::fprintf(stderr, "kubeop render: %s: metadata.name is required\n", where.c_str());
      return 1;
    }
    const json::Value* spec = app.spec();
    std::string type = spec ? std::string(json::getString(*spec, "type")) : "";
    if (type.empty()) {
      std::fprintf(stderr, "kubeop render: %s: spec.type is required (one of the registered types)\n", where.c_str());
      return 1;
    }
    auto plugin = (*reg)->findDelivery(type);
    if (!plugin) {
      std::string types;
      for (const auto& t : (*reg)->deliveryTypes()) types += (types.empty() ? "" : ", ") + t;
      std::fprintf(stderr, "kubeop render: %s: spec.type: unknown delivery type \"%s\" (registered: %s)\n",
                   where.c_str(), type.c_str(), types.empty() ? "none — check --plugin-path" : types.c_str());
      return 1;
    }
    std::string ns = std::string(app.namespace_());
    if (ns.empty()) ns = fs.get("namespace");
    json::Document req(rapidjson::kObjectType);
    auto& a = req.GetAllocator();
    req.AddMember("app", json::Value(app.root(), a), a);
    json::Value ctx(rapidjson::kObjectType);
    if (!ns.empty()) ctx.AddMember("namespace", json::str(ns, a), a);
    if (!fs.get("tenant").empty()) ctx.AddMember("tenant", json::str(fs.get("tenant"), a), a);
    if (!fs.get("project").empty()) ctx.AddMember("project", json::str(fs.get("project"), a), a);
    req.AddMember("context", ctx, a);
    auto result = plugin->render(json::write(req));
    if (!result.ok()) {
      std::fprintf(stderr, "kubeop render: %s: %s\n", where.c_str(), result.status().message().c_str());
      return result.status().code() == StatusCode::kInvalidArgument ? 1 : 3;
    }
    auto parsed = json::parse(*result);
    const json::Value* objs = parsed.ok() ? json::find(*parsed, "objects") : nullptr;
    if (!objs || !objs->IsArray()) {
      std::fprintf(stderr, "kubeop render: %s: plugin %s returned no objects list\n", where.c_str(),
                   plugin->info().name.c_str());
      return 3;
    }
    std::string revision(json::getString(*parsed, "revision"));
    if (output == "yaml") {
      out += "# Source: App " + (ns.empty() ? std::string("default") : ns) + "/" + std::string(app.name()) + " (" +
             plugin->info().deliveryType + " via " + plugin->info().name + "), revision " + revision + "\n";
      for (const auto& o : objs->GetArray()) {
        out += "---\n";
        out += yaml::toYaml(o);
      }
    } else {
      for (const auto& o : objs->GetArray()) items.PushBack(json::Value(o, la), la);
    }
  }
  if (output == "json") {
    list.AddMember("apiVersion", "v1", la);
    list.AddMember("kind", "List", la);
    list.AddMember("items", items, la);
    out = json::writePretty(list) + "\n";
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace kubeop::cmd
