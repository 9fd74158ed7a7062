#include "netpol.h"

#include <algorithm>
#include <set>

#include "common/guardrail_common.h"
#include "kubeop/core/names.h"
#include "kubeop/core/object.h"

namespace kubeop::plugins::netpol {

const char* const kConfigSchema = R"({
  "type": "object",
  "definitions": {
    "namespace": {"type": "string", "minLength": 1, "maxLength": 63,
                  "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"}
  },
  "properties": {
    "ingressControllerNamespaces": {"type": "array", "items": {"$ref": "#/definitions/namespace"}},
    "dnsNamespace": {"$ref": "#/definitions/namespace"},
    "egressBaseline": {"anyOf": [
      {"type": "string"},
      {"type": "array", "items": {"type": "string"}}
    ]}
  },
  "additionalProperties": false
})";

namespace {

constexpr const char* kNameLabel = "kubernetes.io/metadata.name";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

Status addBaseline(std::string_view list, NetpolConfig& c) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string_view entry =
        trim(list.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (!entry.empty()) {
      auto cidr = parseCidr(entry);
      if (!cidr.ok()) return invalidArgument("netpol config: egressBaseline: " + cidr.status().message());
      if (std::find(c.egressBaseline.begin(), c.egressBaseline.end(), *cidr) == c.egressBaseline.end()) {
        c.egressBaseline.push_back(*cidr);
      }
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return Status::ok();
}

Status checkNamespaceName(std::string_view where, std::string_view ns) {
  if (auto bad = names::validateDns1123Label(ns)) {
    return invalidArgument(std::string(where) + " \"" + std::string(ns) + "\" is not a namespace name: " + *bad);
  }
  return Status::ok();
}

json::Value emptyObject() { return json::Value(rapidjson::kObjectType); }

json::Value matchLabels(std::string_view key, std::string_view value, json::Allocator& a) {
  json::Value labels(rapidjson::kObjectType);
  labels.AddMember(json::str(key, a), json::str(value, a), a);
  json::Value sel(rapidjson::kObjectType);
  sel.AddMember("matchLabels", labels, a);
  return sel;
}

Object policy(std::string_view name, std::string_view type) {
  Object o;
  o.setApiVersion("networking.k8s.io/v1");
  o.setKind("NetworkPolicy");
  o.setName(name);
  auto& a = o.allocator();
  json::Value spec(rapidjson::kObjectType);
  spec.AddMember("podSelector", emptyObject(), a);
  json::Value types(rapidjson::kArrayType);
  types.PushBack(json::str(type, a), a);
  spec.AddMember("policyTypes", types, a);
  o.root().AddMember("spec", spec, a);
  return o;
}

Object ingressPolicy(const std::set<std::string>& namespaces) {
  Object o = policy("kubeop-ingress", "Ingress");
  auto& a = o.allocator();
  json::Value from(rapidjson::kArrayType);
  json::Value samePods(rapidjson::kObjectType);
  samePods.AddMember("podSelector", emptyObject(), a);
  from.PushBack(samePods, a);
  if (!namespaces.empty()) {
    json::Value values(rapidjson::kArrayType);
    for (const auto& ns : namespaces) values.PushBack(json::str(ns, a), a);
    json::Value expr(rapidjson::kObjectType);
    expr.AddMember("key", json::str(kNameLabel, a), a);
    expr.AddMember("operator", "In", a);
    expr.AddMember("values", values, a);
    json::Value exprs(rapidjson::kArrayType);
    exprs.PushBack(expr, a);
    json::Value sel(rapidjson::kObjectType);
    sel.AddMember("matchExpressions", exprs, a);
    json::Value peer(rapidjson::kObjectType);
    peer.AddMember("namespaceSelector", sel, a);
    from.PushBack(peer, a);
  }
  json::Value rule(rapidjson::kObjectType);
  rule.AddMember("from", from, a);
  json::Value rules(rapidjson::kArrayType);
  rules.PushBack(rule, a);
  o.root()["spec"].AddMember("ingress", rules, a);
  return o;
}

Object egressPolicy(const NetpolConfig& c) {
  Object o = policy("kubeop-egress", "Egress");
  auto& a = o.allocator();
  json::Value rules(rapidjson::kArrayType);

  json::Value dnsPeer(rapidjson::kObjectType);
  dnsPeer.AddMember("namespaceSelector", matchLabels(kNameLabel, c.dnsNamespace, a), a);
  dnsPeer.AddMember("podSelector", matchLabels("k8s-app", "kube-dns", a), a);
  json::Value dnsTo(rapidjson::kArrayType);
  dnsTo.PushBack(dnsPeer, a);
  json::Value ports(rapidjson::kArrayType);
  for (const char* proto : {"UDP", "TCP"}) {
    json::Value p(rapidjson::kObjectType);
    p.AddMember("protocol", json::str(proto, a), a);
    p.AddMember("port", 53, a);
    ports.PushBack(p, a);
  }
  json::Value dns(rapidjson::kObjectType);
  dns.AddMember("to", dnsTo, a);
  dns.AddMember("ports", ports, a);
  rules.PushBack(dns, a);

  json::Value samePeer(rapidjson::kObjectType);
  samePeer.AddMember("podSelector", emptyObject(), a);
  json::Value sameTo(rapidjson::kArrayType);
  sameTo.PushBack(samePeer, a);
  json::Value same(rapidjson::kObjectType);
  same.AddMember("to", sameTo, a);
  rules.PushBack(same, a);

  if (!c.egressBaseline.empty()) {
    json::Value to(rapidjson::kArrayType);
    for (const auto& cidr : c.egressBaseline) {
      json::Value block(rapidjson::kObjectType);
      block.AddMember("cidr", json::str(cidr.toString(), a), a);
      json::Value peer(rapidjson::kObjectType);
      peer.AddMember("ipBlock", block, a);
      to.PushBack(peer, a);
    }
    json::Value baseline(rapidjson::kObjectType);
    baseline.AddMember("to", to, a);
    rules.PushBack(baseline, a);
  }
  o.root()["spec"].AddMember("egress", rules, a);
  return o;
}

StatusOr<std::set<std::string>> ingressNamespaces(const GuardrailScope& s, const NetpolConfig& c) {
  std::set<std::string> out(c.ingressControllerNamespaces.begin(), c.ingressControllerNamespaces.end());
  const json::Value* spec = s.object.spec();
  const json::Value* list = spec ? json::find(*spec, "ingressNamespaces") : nullptr;
  if (!list || list->IsNull()) return out;
  std::string who = "Project " + s.projectName + ": spec.ingressNamespaces";
  if (!list->IsArray()) return invalidArgument(who + " must be a list of namespace names");
  size_t i = 0;
  for (const auto& v : list->GetArray()) {
    std::string at = who + "[" + std::to_string(i++) + "]";
    if (!v.IsString()) return invalidArgument(at + " must be a string, got " + json::typeName(v));
    KUBEOP_RETURN_IF_ERROR(checkNamespaceName(at, json::view(v)));
    out.emplace(json::view(v));
  }
  return out;
}

bool inBaseline(const Cidr& c, const std::vector<Cidr>& baseline) {
  return std::any_of(baseline.begin(), baseline.end(), [&](const Cidr& b) { return contains(b, c); });
}

}  // namespace

StatusOr<NetpolConfig> parseConfig(std::string_view configJson) {
  auto doc = json::parse(configJson.empty() ? std::string_view("{}") : configJson);
  if (!doc.ok()) return invalidArgument("netpol config: " + doc.status().message());
  if (!doc->IsObject()) return invalidArgument("netpol config must be a JSON object");
  NetpolConfig c;
  if (const json::Value* l = json::find(*doc, "ingressControllerNamespaces"); l && l->IsArray()) {
    for (const auto& v : l->GetArray()) {
      if (!v.IsString()) return invalidArgument("netpol config: ingressControllerNamespaces must hold strings");
      KUBEOP_RETURN_IF_ERROR(checkNamespaceName("netpol config: ingressControllerNamespaces entry", json::view(v)));
      c.ingressControllerNamespaces.emplace_back(json::view(v));
    }
  }
  if (const json::Value* d = json::find(*doc, "dnsNamespace"); d && d->IsString()) {
    KUBEOP_RETURN_IF_ERROR(checkNamespaceName("netpol config: dnsNamespace", json::view(*d)));
    c.dnsNamespace = std::string(json::view(*d));
  }
  if (const json::Value* b = json::find(*doc, "egressBaseline"); b && !b->IsNull()) {
    if (b->IsString()) {
      KUBEOP_RETURN_IF_ERROR(addBaseline(json::view(*b), c));
    } else if (b->IsArray()) {
      for (const auto& v : b->GetArray()) {
        if (!v.IsString()) return invalidArgument("netpol config: egressBaseline must hold CIDR strings");
        KUBEOP_RETURN_IF_ERROR(addBaseline(json::view(v), c));
      }
    } else {
      return invalidArgument("netpol config: egressBaseline must be a comma-separated string or a list of CIDRs");
    }
  }
  return c;
}

std::vector<std::string> checkEgressAgainstBaseline(const json::Value& policyObj, const std::vector<Cidr>& baseline) {
  std::vector<std::string> reasons;
  auto deny = [&](std::string r) {
    if (std::find(reasons.begin(), reasons.end(), r) == reasons.end()) reasons.push_back(std::move(r));
  };
  const json::Value* egress = json::findPath(policyObj, {"spec", "egress"});
  if (!egress || egress->IsNull()) return reasons;
  if (!egress->IsArray()) return {"spec.egress must be a list"};
  const Cidr allV4{false, {}, 0}, allV6{true, {}, 0};
  const bool allowsEverything = inBaseline(allV4, baseline) && inBaseline(allV6, baseline);
  for (rapidjson::SizeType i = 0; i < egress->Size(); ++i) {
    const json::Value& rule = (*egress)[i];
    std::string ruleName = "egress rule " + std::to_string(i);
    if (!rule.IsObject()) {
      deny(ruleName + " must be an object");
      continue;
    }
    const json::Value* to = json::find(rule, "to");
    if (!to || to->IsNull() || (to->IsArray() && to->Empty())) {
      if (!allowsEverything) {
        deny(ruleName +
             " has no \"to\" peers, which allows every destination (0.0.0.0/0 and ::/0): "
             "not in baseline allowlist");
      }
      continue;
    }
    if (!to->IsArray()) {
      deny(ruleName + ": \"to\" must be a list");
      continue;
    }
    for (rapidjson::SizeType j = 0; j < to->Size(); ++j) {
      const json::Value* block = json::find((*to)[j], "ipBlock");
      if (!block || block->IsNull()) continue;  // pod and namespace selectors are not CIDRs
      std::string peerName = ruleName + " peer " + std::to_string(j);
      const json::Value* cidrVal = json::find(*block, "cidr");
      if (!cidrVal || !cidrVal->IsString()) {
        deny(peerName + ": ipBlock.cidr is required");
        continue;
      }
      std::string cidrText(json::view(*cidrVal));
      auto cidr = parseCidr(cidrText);
      if (!cidr.ok()) {
        deny("egress CIDR " + cidr.status().message());
      } else if (!inBaseline(*cidr, baseline)) {
        deny("egress CIDR " + cidrText + " not in baseline allowlist");
      }
      const json::Value* except = json::find(*block, "except");
      if (!except || except->IsNull()) continue;
      if (!except->IsArray()) {
        deny(peerName + ": ipBlock.except must be a list");
        continue;
      }
      for (const auto& e : except->GetArray()) {
        if (!e.IsString()) {
          deny(peerName + ": ipBlock.except entries must be strings");
          continue;
        }
        std::string exceptText(json::view(e));
        auto ex = parseCidr(exceptText);
        if (!ex.ok()) {
          deny("egress except CIDR " + ex.status().message());
        } else if (!inBaseline(*ex, baseline)) {
          deny("egress except CIDR " + exceptText + " not in baseline allowlist");
        }
      }
    }
  }
  return reasons;
}

StatusOr<std::string> NetpolGuardrail::contribute(std::string_view scopeJson) const {
  KUBEOP_ASSIGN_OR_RETURN(GuardrailScope s, parseGuardrailScope(scopeJson));
  if (s.scope != "project") return objectsResult({});
  KUBEOP_ASSIGN_OR_RETURN(std::set<std::string> namespaces, ingressNamespaces(s, config_));
  std::vector<Object> objects;
  objects.push_back(ingressPolicy(namespaces));
  objects.push_back(egressPolicy(config_));
  for (auto& o : objects) stampGuardrailMetadata(o, s);
  return objectsResult(objects);
}

StatusOr<std::string> NetpolGuardrail::mutate(std::string_view requestJson) const {
  return passThroughMutate(requestJson);
}

StatusOr<std::string> NetpolGuardrail::validateAdmission(std::string_view reviewJson) const {
  KUBEOP_ASSIGN_OR_RETURN(AdmissionRequest r, parseAdmissionReview(reviewJson));
  if (r.kind != "NetworkPolicy" || r.group != "networking.k8s.io") return admissionResult(true, "");
  if (r.operation == "DELETE" || r.operation == "CONNECT") return admissionResult(true, "");
  if (!r.namespaceLabels) {
    return invalidArgument("admission review for a NetworkPolicy in namespace \"" + r.ns +
                           "\" has no namespaceLabels; the host must pass the namespace's labels");
  }
  if (!r.inTenantNamespace()) return admissionResult(true, "");
  if (!r.object) return invalidArgument("admission review: request.object is missing for " + r.operation);
  auto reasons = checkEgressAgainstBaseline(r.object->root(), config_.egressBaseline);
  return admissionResult(reasons.empty(), joinReasons(reasons));
}

}  // namespace kubeop::plugins::netpol
