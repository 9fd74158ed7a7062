#include "kubeop/sandbox/tables.h"

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <ctime>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace kubeop::sandbox::tables {

namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

std::string ageOf(const json::Value& v, std::chrono::system_clock::time_point now) {
  if (!v.IsString()) return "<unknown>";
  auto t = parseRfc3339(json::view(v));
  if (!t) return "<invalid>";
  return humanDuration(now - *t);
}

std::string str(const json::Value* v) {
  if (!v || v->IsNull()) return "";
  if (v->IsString()) return std::string(json::view(*v));
  if (v->IsBool()) return v->GetBool() ? "true" : "false";
  if (v->IsInt64()) return std::to_string(v->GetInt64());
  if (v->IsUint64()) return std::to_string(v->GetUint64());
  if (v->IsDouble()) {
    char b[32];
    std::snprintf(b, sizeof b, "%g", v->GetDouble());
    return b;
  }
  return json::write(*v);
}

int64_t num(const json::Value* v) { return v && v->IsInt64() ? v->GetInt64() : 0; }

struct Column {
  std::string name, type, format, description;
  int priority = 0;
};

// A built-in cell function: the object → cell text.
using CellFn = std::function<std::string(const json::Value&)>;

struct Builtin {
  std::vector<Column> columns;
  std::vector<CellFn> cells;
  // The columns are the whole row (no leading Name, no trailing Age): Events, whose first column
  // is Last Seen.
  bool wholeRow = false;
};

// The first of `keys` present in `o` (Events carry core/v1 or events.k8s.io/v1 field names).
const json::Value* firstOf(const json::Value& o, std::initializer_list<std::initializer_list<std::string_view>> paths) {
  for (const auto& p : paths) {
    if (const json::Value* v = json::findPath(o, p); v && !v->IsNull()) return v;
  }
  return nullptr;
}

Builtin builtinFor(const ResourceType& t, std::chrono::system_clock::time_point now) {
  Builtin b;
  auto add = [&](std::string name, std::string type, CellFn fn, int priority = 0) {
    b.columns.push_back({std::move(name), std::move(type), "", "", priority});
    b.cells.push_back(std::move(fn));
  };
  if (t.group == "apps" && (t.kind == "Deployment" || t.kind == "StatefulSet" || t.kind == "ReplicaSet")) {
    if (t.kind == "ReplicaSet") {
      add("Desired", "integer", [](const json::Value& o) { return str(json::findPath(o, {"spec", "replicas"})); });
      add("Current", "integer", [](const json::Value& o) { return std::to_string(num(json::findPath(o, {"status", "replicas"}))); });
      add("Ready", "integer", [](const json::Value& o) { return std::to_string(num(json::findPath(o, {"status", "readyReplicas"}))); });
    } else {
      add("Ready", "string", [](const json::Value& o) {
        return std::to_string(num(json::findPath(o, {"status", "readyReplicas"}))) + "/" +
               std::to_string(json::findPath(o, {"spec", "replicas"}) ? num(json::findPath(o, {"spec", "replicas"})) : 1);
      });
    }
    if (t.kind == "Deployment") {
      add("Up-to-date", "integer", [](const json::Value& o) { return std::to_string(num(json::findPath(o, {"status", "updatedReplicas"}))); });
      add("Available", "integer", [](const json::Value& o) { return std::to_string(num(json::findPath(o, {"status", "availableReplicas"}))); });
    }
  } else if (t.group.empty() && t.kind == "Pod") {
    add("Ready", "string", [](const json::Value& o) {
      const json::Value* cs = json::findPath(o, {"status", "containerStatuses"});
      const json::Value* cons = json::findPath(o, {"spec", "containers"});
      int ready = 0;
      if (cs && cs->IsArray())
        for (const auto& c : cs->GetArray()) ready += (json::find(c, "ready") && c["ready"].IsBool() && c["ready"].GetBool());
      return std::to_string(ready) + "/" + std::to_string(cons && cons->IsArray() ? cons->Size() : 0);
    });
    add("Status", "string", [](const json::Value& o) { return str(json::findPath(o, {"status", "phase"})); });
    add("Restarts", "integer", [](const json::Value&) { return std::string("0"); });
  } else if (t.group.empty() && t.kind == "Namespace") {
    add("Status", "string", [](const json::Value& o) { return str(json::findPath(o, {"status", "phase"})); });
  } else if (t.group.empty() && (t.kind == "ConfigMap" || t.kind == "Secret")) {
    if (t.kind == "Secret") add("Type", "string", [](const json::Value& o) { return str(json::find(o, "type")); });
    add("Data", "integer", [](const json::Value& o) {
      size_t n = 0;
      for (const char* k : {"data", "binaryData"}) {
        const json::Value* d = json::find(o, k);
        if (d && d->IsObject()) n += d->MemberCount();
      }
      return std::to_string(n);
    });
  } else if (t.group.empty() && t.kind == "Service") {
    add("Type", "string", [](const json::Value& o) {
      std::string s = str(json::findPath(o, {"spec", "type"}));
      return s.empty() ? std::string("ClusterIP") : s;
    });
    add("Cluster-IP", "string", [](const json::Value& o) {
      std::string s = str(json::findPath(o, {"spec", "clusterIP"}));
      return s.empty() ? std::string("<none>") : s;
    });
    add("Ports", "string", [](const json::Value& o) {
      const json::Value* ps = json::findPath(o, {"spec", "ports"});
      std::string out;
      if (ps && ps->IsArray()) {
        for (const auto& p : ps->GetArray()) {
          if (!out.empty()) out += ",";
          out += str(json::find(p, "port")) + "/" + (json::find(p, "protocol") ? str(json::find(p, "protocol")) : "TCP");
        }
      }
      return out.empty() ? std::string("<none>") : out;
    });
  } else if (t.kind == "Event" && (t.group.empty() || t.group == "events.k8s.io")) {
    // printers.go eventColumnDefinitions / printEvent.
    b.wholeRow = true;
    auto since = [now](const json::Value* ts) { return ts ? ageOf(*ts, now) : std::string("<unknown>"); };
    add("Last Seen", "string", [since](const json::Value& o) {
      return since(firstOf(o, {{"series", "lastObservedTime"}, {"lastTimestamp"}, {"deprecatedLastTimestamp"},
                               {"eventTime"}, {"metadata", "creationTimestamp"}}));
    });
    add("Type", "string", [](const json::Value& o) { return str(json::find(o, "type")); });
    add("Reason", "string", [](const json::Value& o) { return str(json::find(o, "reason")); });
    add("Object", "string", [](const json::Value& o) {
      const json::Value* io = firstOf(o, {{"involvedObject"}, {"regarding"}});
      if (!io || !io->IsObject()) return std::string();
      std::string kind(json::getString(*io, "kind"));
      for (auto& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return kind + "/" + std::string(json::getString(*io, "name"));
    });
    add("Subobject", "string", [](const json::Value& o) {
      return str(firstOf(o, {{"involvedObject", "fieldPath"}, {"regarding", "fieldPath"}}));
    }, 1);
    add("Source", "string", [](const json::Value& o) {
      std::string c = str(firstOf(o, {{"source", "component"}, {"deprecatedSource", "component"}, {"reportingController"}}));
      std::string h = str(firstOf(o, {{"source", "host"}, {"deprecatedSource", "host"}}));
      return h.empty() ? c : c + ", " + h;
    }, 1);
    add("Message", "string", [](const json::Value& o) { return str(firstOf(o, {{"message"}, {"note"}})); });
    add("First Seen", "string", [since](const json::Value& o) {
      return since(firstOf(o, {{"firstTimestamp"}, {"deprecatedFirstTimestamp"}, {"eventTime"},
                               {"metadata", "creationTimestamp"}}));
    }, 1);
    add("Count", "string", [](const json::Value& o) {
      const json::Value* c = firstOf(o, {{"series", "count"}, {"count"}, {"deprecatedCount"}});
      return c ? str(c) : std::string("1");
    }, 1);
    add("Name", "string", [](const json::Value& o) { return str(json::findPath(o, {"metadata", "name"})); }, 1);
  } else if (t.group == "batch" && t.kind == "Job") {
    add("Status", "string", [](const json::Value& o) {
      return num(json::findPath(o, {"status", "succeeded"})) > 0 ? std::string("Complete")
             : num(json::findPath(o, {"status", "failed"})) > 0  ? std::string("Failed")
                                                                 : std::string("Running");
    });
    add("Completions", "string", [](const json::Value& o) {
      int64_t c = json::findPath(o, {"spec", "completions"}) ? num(json::findPath(o, {"spec", "completions"})) : 1;
      return std::to_string(num(json::findPath(o, {"status", "succeeded"}))) + "/" + std::to_string(c);
    });
  }
  return b;
}

void writeColumn(Writer& w, const Column& c) {
  w.StartObject();
  w.Key("name");
  w.String(c.name.c_str());
  w.Key("type");
  w.String(c.type.c_str());
  w.Key("format");
  w.String(c.format.c_str());
  w.Key("description");
  w.String(c.description.c_str());
  w.Key("priority");
  w.Int(c.priority);
  w.EndObject();
}

}  // namespace

std::string render(const ResourceType& type, const std::vector<const json::Value*>& rows,
                   const std::string& resourceVersion, const std::string& tableVersion,
                   const std::vector<PrinterColumn>& columns, std::chrono::system_clock::time_point now,
                   const std::string& continueToken) {
  rapidjson::StringBuffer sb;
  Writer w(sb);
  Builtin b = columns.empty() ? builtinFor(type, now) : Builtin{};
  bool customAge = b.wholeRow;
  for (const auto& c : columns) customAge |= c.name == "Age";
  w.StartObject();
  w.Key("kind");
  w.String("Table");
  w.Key("apiVersion");
  w.String(("meta.k8s.io/" + tableVersion).c_str());
  w.Key("metadata");
  w.StartObject();
  if (!resourceVersion.empty()) {
    w.Key("resourceVersion");
    w.String(resourceVersion.c_str());
  }
  if (!continueToken.empty()) {
    w.Key("continue");
    w.String(continueToken.c_str());
  }
  w.EndObject();
  w.Key("columnDefinitions");
  w.StartArray();
  if (!b.wholeRow) writeColumn(w, {"Name", "string", "name", "Name must be unique within a namespace.", 0});
  for (const auto& c : b.columns) writeColumn(w, c);
  for (const auto& c : columns) writeColumn(w, {c.name, c.type, c.format, c.description, c.priority});
  if (!customAge) writeColumn(w, {"Age", "string", "", "CreationTimestamp is the time the object was created.", 0});
  w.EndArray();
  w.Key("rows");
  w.StartArray();
  for (const json::Value* o : rows) {
    const json::Value* meta = json::find(*o, "metadata");
    w.StartObject();
    w.Key("cells");
    w.StartArray();
    std::string name = meta ? std::string(json::getString(*meta, "name")) : "";
    if (!b.wholeRow) w.String(name.c_str());
    for (const auto& fn : b.cells) w.String(fn(*o).c_str());
    for (const auto& c : columns) {
      json::Document cell;
      json::Value v = evaluateColumn(c, *o, now).toJson(cell.GetAllocator());
      v.Accept(w);
    }
    if (!customAge) {
      const json::Value* ts = meta ? json::find(*meta, "creationTimestamp") : nullptr;
      w.String(ts ? ageOf(*ts, now).c_str() : "<unknown>");
    }
    w.EndArray();
    w.Key("object");
    w.StartObject();
    w.Key("kind");
    w.String("PartialObjectMetadata");
    w.Key("apiVersion");
    w.String(("meta.k8s.io/" + tableVersion).c_str());
    w.Key("metadata");
    if (meta) meta->Accept(w);
    else {
      w.StartObject();
      w.EndObject();
    }
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return sb.GetString();
}

}  // namespace kubeop::sandbox::tables
