// Pins the CRD semantics of the sandbox against the kube-apiserver's (k8s.io/apiextensions-apiserver,
// k8s.io/kube-openapi pkg/validation, k8s.io/apimachinery field errors): what a CRD create refuses
// and why, structural pruning, defaulting, every OpenAPI validation keyword with the apiserver's
// wording, list-type invariants, subresources and printer columns. Each table row names the
// upstream rule it pins.
#include "kubeop/sandbox/crd.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "kubeop/core/json.h"
#include "kubeop/core/yaml.h"
#include "test_paths.h"

namespace kubeop::sandbox {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAreArray;

// ---------------------------------------------------------------------------------------------
// Fixtures: CRDs as they are written in the wild.

// kubeOP's own App.
constexpr std::string_view kAppCrd = R"(
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: apps.paas.kubeop.io
spec:
  group: paas.kubeop.io
  scope: Namespaced
  names:
    plural: apps
    singular: app
    kind: App
    listKind: AppList
    shortNames: [kapp]
    categories: [kubeop]
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources:
      status: {}
    additionalPrinterColumns:
    - name: Type
      type: string
      jsonPath: .spec.type
    - name: Ready
      type: string
      jsonPath: .status.conditions[?(@.type=="Ready")].status
    - name: Age
      type: date
      jsonPath: .metadata.creationTimestamp
    schema:
      openAPIV3Schema:
        type: object
        description: An application delivered by kubeOP.
        properties:
          apiVersion: {type: string}
          kind: {type: string}
          metadata: {type: object}
          spec:
            type: object
            required: [type]
            properties:
              type:
                type: string
                enum: [Image, Git, Helm, Raw]
              image: {type: string, minLength: 1}
              replicas: {type: integer, format: int32, minimum: 0, maximum: 10, default: 1}
              rawManifests: {type: string}
              config:
                type: object
                x-kubernetes-preserve-unknown-fields: true
          status:
            type: object
            properties:
              observedGeneration: {type: integer, format: int64}
              conditions:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [type]
                items:
                  type: object
                  required: [type, status]
                  properties:
                    type: {type: string}
                    status: {type: string, enum: ["True", "False", "Unknown"]}
                    reason: {type: string}
                    message: {type: string}
                    lastTransitionTime: {type: string, format: date-time}
)";

// A CRD exercising the extensions: int-or-string, preserve-unknown-fields, list-type map and
// set, defaults (nested), additionalProperties maps, an embedded resource, nullable, scale.
constexpr std::string_view kGadgetCrd = R"(
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    plural: gadgets
    kind: Gadget
    shortNames: [gd]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
        labelSelectorPath: .status.selector
    additionalPrinterColumns:
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Port, type: string, jsonPath: .spec.port}
    - {name: Weight, type: number, jsonPath: .spec.weight}
    - {name: Paused, type: boolean, jsonPath: .spec.paused}
    - {name: Labels, type: string, jsonPath: .spec.labels}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              replicas: {type: integer, minimum: 0, default: 1}
              weight: {type: number}
              paused: {type: boolean}
              port:
                x-kubernetes-int-or-string: true
                default: http
              strategy:
                type: object
                default: {}
                properties:
                  type: {type: string, enum: [Recreate, Rolling], default: Rolling}
                  maxSurge: {x-kubernetes-int-or-string: true}
              extra:
                type: object
                x-kubernetes-preserve-unknown-fields: true
                properties:
                  known:
                    type: object
                    properties:
                      keep: {type: string}
              labels:
                type: object
                additionalProperties: {type: string}
              env:
                type: object
                additionalProperties:
                  type: object
                  properties:
                    value: {type: string, default: ""}
              ports:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [name, protocol]
                items:
                  type: object
                  required: [name]
                  properties:
                    name: {type: string}
                    protocol: {type: string, default: TCP}
                    port: {type: integer, format: int32}
              tags:
                type: array
                x-kubernetes-list-type: set
                items: {type: string}
              template:
                type: object
                x-kubernetes-embedded-resource: true
                x-kubernetes-preserve-unknown-fields: true
              note: {type: string, nullable: true}
              mode: {type: string, default: auto}
              size: {type: string}
          status:
            type: object
            properties:
              replicas: {type: integer}
              selector: {type: string}
)";

// The smallest valid CRD; rejection cases mutate it.
constexpr std::string_view kWidgetCrd = R"(
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
)";

// ---------------------------------------------------------------------------------------------
// Helpers

json::Document fromYaml(std::string_view text) {
  auto d = yaml::parseOne(text);
  EXPECT_TRUE(d.ok()) << d.status().toString() << "\n" << text;
  return d.ok() ? std::move(d).value() : json::Document();
}

json::Document fromJson(std::string_view text) {
  auto d = json::parse(text);
  EXPECT_TRUE(d.ok()) << d.status().toString() << "\n" << text;
  return d.ok() ? std::move(d).value() : json::Document();
}

std::vector<std::string> texts(const std::vector<Cause>& causes) {
  std::vector<std::string> out;
  for (const auto& c : causes) out.push_back(c.toString());
  return out;
}

// Walks a dotted path ("spec.versions.0.schema"), creating objects (and appending one array
// element) on the way.
json::Value* walk(json::Document& doc, std::string_view path, bool create) {
  json::Value* cur = &doc;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string part(path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (cur->IsArray()) {
      size_t i = std::stoul(part);
      if (create && i == cur->Size()) cur->PushBack(json::Value(), doc.GetAllocator());  // append
      if (i >= cur->Size()) return nullptr;
      cur = &(*cur)[static_cast<rapidjson::SizeType>(i)];
    } else {
      json::Value* next = json::find(*cur, part);
      if (!next) {
        if (!create) return nullptr;
        next = &json::ensureObject(*cur, part, doc.GetAllocator());
      }
      cur = next;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return cur;
}

// Replaces the value at `path` with `yamlValue` (flow YAML).
void setAt(json::Document& doc, std::string_view path, std::string_view yamlValue) {
  json::Document v = fromYaml(yamlValue);
  json::Value* target = walk(doc, path, true);
  ASSERT_NE(target, nullptr) << path;
  target->CopyFrom(v, doc.GetAllocator());
}

void removeAt(json::Document& doc, std::string_view path) {
  size_t dot = path.rfind('.');
  json::Value* parent = dot == std::string_view::npos ? &doc : walk(doc, path.substr(0, dot), false);
  ASSERT_NE(parent, nullptr) << path;
  json::removeMember(*parent, path.substr(dot == std::string_view::npos ? 0 : dot + 1));
}

CustomResourceDefinition parse(const json::Value& crd) {
  auto c = parseCrd(crd);
  EXPECT_TRUE(c.ok()) << c.status().toString();
  return c.ok() ? std::move(c).value() : CustomResourceDefinition();
}

CrdVersionSchema versionSchema(std::string_view crdYaml, std::string_view version) {
  auto doc = fromYaml(crdYaml);
  auto crd = parse(doc);
  const CrdVersion* v = crd.version(version);
  EXPECT_NE(v, nullptr);
  return v ? v->schema : CrdVersionSchema();
}

// A schema with one property `f` described by `fragment` (flow YAML).
CrdVersionSchema fieldSchema(std::string_view fragment) {
  auto doc = fromYaml("{type: object, properties: {f: " + std::string(fragment) + "}}");
  auto s = CrdVersionSchema::compile(doc);
  EXPECT_TRUE(s.ok()) << s.status().toString();
  return s.ok() ? std::move(s).value() : CrdVersionSchema();
}

// A row of a validation table: the schema of property `f`, a value for it, the causes.
struct ValidationCase {
  const char* rule;
  const char* schema;  // the schema of property `f`, flow YAML
  const char* value;   // JSON of f
  std::vector<std::string> causes;
};

// ---------------------------------------------------------------------------------------------
// 1. CRD creation

TEST(CrdTest, AcceptsKubeopsAppCrdAndExposesItsServingFacts) {
  auto doc = fromYaml(kAppCrd);
  auto crd = parse(doc);
  EXPECT_THAT(texts(validateCrd(crd)), IsEmpty());
  EXPECT_EQ(crd.name, "apps.paas.kubeop.io");
  EXPECT_EQ(crd.group, "paas.kubeop.io");
  EXPECT_TRUE(crd.namespaced());
  EXPECT_EQ(crd.names.kind, "App");
  EXPECT_EQ(crd.names.listKind, "AppList");
  EXPECT_THAT(crd.names.shortNames, ElementsAre("kapp"));
  ASSERT_NE(crd.storageVersion(), nullptr);
  EXPECT_EQ(crd.storageVersion()->name, "v1alpha1");
  const CrdVersion* v = crd.version("v1alpha1");
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(v->served);
  EXPECT_TRUE(v->hasStatus());
  EXPECT_FALSE(v->scale().has_value());
  ASSERT_EQ(v->printerColumns().size(), 3u);
  EXPECT_EQ(v->printerColumns()[1].jsonPath, ".status.conditions[?(@.type==\"Ready\")].status");
  EXPECT_FALSE(v->schema.empty());
  EXPECT_EQ(crd.conversionStrategy, "None");
}

TEST(CrdTest, AcceptsTheExtensionShowcaseCrdAndReadsItsScaleSubresource) {
  auto doc = fromYaml(kGadgetCrd);
  auto crd = parse(doc);
  EXPECT_THAT(texts(validateCrd(crd)), IsEmpty());
  const CrdVersion* v = crd.version("v1");
  ASSERT_NE(v, nullptr);
  ASSERT_TRUE(v->scale().has_value());
  EXPECT_EQ(v->scale()->specReplicasPath, ".spec.replicas");
  EXPECT_EQ(v->scale()->statusReplicasPath, ".status.replicas");
  EXPECT_EQ(v->scale()->labelSelectorPath, ".status.selector");
}

TEST(CrdTest, AppliesTheV1DefaultsForSingularAndListKind) {
  // SetDefaults_CustomResourceDefinitionSpec: singular = lower(kind), listKind = kind + "List".
  auto doc = fromYaml(kWidgetCrd);
  auto crd = parse(doc);
  EXPECT_EQ(crd.names.singular, "widget");
  EXPECT_EQ(crd.names.listKind, "WidgetList");
}

struct CrdCase {
  const char* rule;  // the upstream rule pinned
  std::function<void(json::Document&)> mutate;
  std::vector<std::string> causes;
};

constexpr const char* kP = "spec.validation.openAPIV3Schema";

std::string at(std::string_view rest) { return std::string(kP) + std::string(rest); }

std::function<void(json::Document&)> schema(std::string yaml) {
  return [yaml](json::Document& d) { setAt(d, "spec.versions.0.schema.openAPIV3Schema", yaml); };
}

TEST(CrdTest, RefusesInvalidDefinitionsWithTheApiserversCauses) {
  const std::string dns1035 =
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
      "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation "
      "is '[a-z]([-a-z0-9]*[a-z0-9])?')";
  const std::vector<CrdCase> cases = {
      {"ValidateCustomResourceDefinition: metadata.name must be <plural>.<group>",
       [](json::Document& d) { setAt(d, "metadata.name", "gadgets.example.com"); },
       {R"(metadata.name: Invalid value: "gadgets.example.com": must be spec.names.plural+"."+spec.group)"}},
      {"spec.group must be a domain with at least one dot",
       [](json::Document& d) {
         setAt(d, "spec.group", "example");
         setAt(d, "metadata.name", "widgets.example");
       },
       {R"(spec.group: Invalid value: "example": should be a domain with at least one dot)"}},
      {"spec.scope is Cluster or Namespaced (validateEnumStrings)",
       [](json::Document& d) { setAt(d, "spec.scope", "Global"); },
       {R"(spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced")"}},
      {"spec.scope is required", [](json::Document& d) { removeAt(d, "spec.scope"); }, {"spec.scope: Required value"}},
      {"version names are DNS-1035 labels",
       [](json::Document& d) { setAt(d, "spec.versions.0.name", "V1"); },
       {R"(spec.versions[0].name: Invalid value: "V1": )" + dns1035}},
      {"every version needs a schema (requireOpenAPISchema)",
       [](json::Document& d) { removeAt(d, "spec.versions.0.schema"); },
       {"spec.versions[0].schema.openAPIV3Schema: Required value"}},
      {"names.kind is required; singular and listKind default from it",
       [](json::Document& d) { removeAt(d, "spec.names.kind"); },
       {"spec.names.singular: Required value", "spec.names.kind: Required value",
        "spec.names.listKind: Required value"}},
      {"kind and listKind may not be the same",
       [](json::Document& d) { setAt(d, "spec.names.listKind", "Widget"); },
       {R"(spec.names.listKind: Invalid value: "Widget": kind and listKind may not be the same)"}},
      {"short names are DNS-1035 labels",
       [](json::Document& d) { setAt(d, "spec.names.shortNames", "[w_1]"); },
       {R"(spec.names.shortNames[0]: Invalid value: "w_1": )" + dns1035}},
      {"protected groups need the api-approved annotation (validateAPIApproval)",
       [](json::Document& d) {
         setAt(d, "spec.group", "widgets.k8s.io");
         setAt(d, "metadata.name", "widgets.widgets.k8s.io");
       },
       {"metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups must have approval "
        "annotation \"api-approved.kubernetes.io\", see https://github.com/kubernetes/enhancements/pull/1111"}},
      {"the approval annotation is a URL or starts with \"unapproved\"",
       [](json::Document& d) {
         setAt(d, "spec.group", "widgets.k8s.io");
         setAt(d, "metadata.name", "widgets.widgets.k8s.io");
         setAt(d, "metadata.annotations", "{api-approved.kubernetes.io: approved}");
       },
       {"metadata.annotations[api-approved.kubernetes.io]: Invalid value: \"approved\": protected groups must have "
        "approval annotation \"api-approved.kubernetes.io\" with either a URL or a reason starting with "
        "\"unapproved\", see https://github.com/kubernetes/enhancements/pull/1111"}},
      {"preserveUnknownFields: true is refused in v1 (validatePreserveUnknownFields)",
       [](json::Document& d) { setAt(d, "spec.preserveUnknownFields", "true"); },
       {"spec.preserveUnknownFields: Invalid value: true: cannot set to true, set x-kubernetes-preserve-unknown-fields "
        "to true in spec.versions[*].schema instead"}},
      {"scale.specReplicasPath is a simple path under .spec",
       [](json::Document& d) {
         setAt(d, "spec.versions.0.subresources",
               "{scale: {specReplicasPath: .status.replicas, statusReplicasPath: .status.replicas}}");
       },
       {R"(spec.subresources.scale.specReplicasPath: Invalid value: ".status.replicas": )"
        "should be a json path under .spec"}},
      {"scale.statusReplicasPath is required",
       [](json::Document& d) {
         setAt(d, "spec.versions.0.subresources", "{scale: {specReplicasPath: .spec.replicas}}");
       },
       {"spec.subresources.scale.statusReplicasPath: Required value"}},
      {"printer columns: type from a fixed list, JSONPath starting with a dot",
       [](json::Document& d) {
         setAt(d, "spec.versions.0.additionalPrinterColumns", "[{name: Size, type: float, jsonPath: spec.size}]");
       },
       {R"(spec.additionalPrinterColumns[0].type: Invalid value: "float": )"
        "must be one of boolean,date,integer,number,string",
        R"(spec.additionalPrinterColumns[0].JSONPath: Invalid value: "spec.size": )"
        "must be a simple json path starting with ."}},
      {"printer columns need a name and a jsonPath",
       [](json::Document& d) { setAt(d, "spec.versions.0.additionalPrinterColumns", "[{type: string}]"); },
       {"spec.additionalPrinterColumns[0].name: Required value",
        "spec.additionalPrinterColumns[0].JSONPath: Required value"}},
      {"deprecationWarning only for deprecated versions",
       [](json::Document& d) { setAt(d, "spec.versions.0.deprecationWarning", "old"); },
       {R"(spec.versions[0].deprecationWarning: Invalid value: "old": can only be set for deprecated versions)"}},
      {"Webhook conversion needs a client config and review versions",
       [](json::Document& d) { setAt(d, "spec.conversion", "{strategy: Webhook}"); },
       {"spec.conversion.webhookClientConfig: Required value: required when strategy is set to Webhook",
        "spec.conversion.conversionReviewVersions: Required value"}},
      // Structural schema rules (pkg/apiserver/schema/validation.go). With one version the schema is
      // reported at spec.validation, as the v1 → internal conversion moves identical schemas there.
      {"every field has a type unless int-or-string or preserve-unknown-fields",
       schema("{type: object, properties: {spec: {properties: {size: {type: integer}}}}}"),
       {at(".properties[spec].type: Required value: must not be empty for specified object fields")}},
      {"array items need a type",
       schema("{type: object, properties: {list: {type: array, items: {}}}}"),
       {at(".properties[list].items.type: Required value: must not be empty for specified array items")}},
      {"arrays need items",
       schema("{type: object, properties: {list: {type: array}}}"),
       {at(".properties[list].items: Required value: must be specified")}},
      {"the root is an object",
       schema("{type: array, items: {type: string}}"),
       {at(".type: Invalid value: \"array\": must be object at the root")}},
      {"the root needs a type",
       schema("{properties: {a: {type: string}}}"),
       {at(".type: Required value: must not be empty at the root")}},
      {"additionalProperties and properties are mutually exclusive",
       schema("{type: object, properties: {m: {type: object, properties: {a: {type: string}}, "
              "additionalProperties: {type: string}}}}"),
       {at(".properties[m].additionalProperties: Forbidden: additionalProperties and properties are mutual "
           "exclusive")}},
      {"additionalProperties is forbidden at the root",
       schema("{type: object, additionalProperties: {type: string}}"),
       {at(".additionalProperties: Forbidden: must not be used at the root")}},
      {"metadata may only restrict name and generateName",
       schema("{type: object, properties: {metadata: {type: object, properties: {labels: {type: object}}}}}"),
       {at(".properties[metadata]: Forbidden: must not specify anything other than name and generateName, but "
           "metadata is implicitly specified")}},
      {"value validations (anyOf…) may not declare types",
       schema("{type: object, properties: {x: {type: object, anyOf: [{type: object}]}}}"),
       {at(".properties[x].anyOf[0].type: Forbidden: must be empty to be structural")}},
      {"metadata is forbidden in nested value validations",
       schema("{type: object, properties: {x: {type: object, allOf: [{properties: {metadata: {}}}]}}}"),
       {at(".properties[x].allOf[0].properties[metadata]: Forbidden: must not be specified in a nested context")}},
      {"fields named in anyOf must exist in the structural part (completeness)",
       schema("{type: object, properties: {spec: {type: object}}, anyOf: [{properties: {spec: {properties: {foo: "
              "{}}}}}]}"),
       {at(".properties[spec].properties[foo]: Required value: because it is defined in ") + kP +
        ".anyOf[0].properties[spec].properties[foo]"}},
      {"int-or-string excludes preserve-unknown-fields",
       schema("{type: object, properties: {p: {x-kubernetes-int-or-string: true, x-kubernetes-preserve-unknown-fields: "
              "true}}}"),
       {at(".properties[p].x-kubernetes-preserve-unknown-fields: Invalid value: true: must be false if "
           "x-kubernetes-int-or-string is true")}},
      {"embedded resources are objects",
       schema("{type: object, properties: {e: {type: string, x-kubernetes-embedded-resource: true, "
              "x-kubernetes-preserve-unknown-fields: true}}}"),
       {at(".properties[e].type: Invalid value: \"string\": must be object if x-kubernetes-embedded-resource is "
           "true")}},
      {"embedded resources declare properties or preserve unknown fields",
       schema("{type: object, properties: {e: {type: object, x-kubernetes-embedded-resource: true}}}"),
       {at(".properties[e].properties: Required value: must not be empty if x-kubernetes-embedded-resource is true "
           "without x-kubernetes-preserve-unknown-fields")}},
      {"patterns must compile",
       schema("{type: object, properties: {s: {type: string, pattern: '[a-z'}}}"),
       {at(".properties[s].pattern: Invalid value: \"[a-z\": must be a valid regular expression, but isn't: error "
           "parsing regexp: missing closing ]: `[a-z`")}},
      {"nullable cannot be true at the root",
       schema("{type: object, nullable: true}"),
       {at(".nullable: Forbidden: nullable cannot be true at the root")}},
      // Defaults (pkg/apiserver/schema/defaulting/validation.go).
      {"defaults validate against their schema (kube-openapi, path \"\")",
       schema("{type: object, properties: {size: {type: integer, default: big}}}"),
       {at(".properties[size].default: Invalid value: \"string\":  in body must be of type integer: \"string\"")}},
      {"defaults are pruned",
       schema("{type: object, properties: {spec: {type: object, default: {size: 1, color: red}, properties: {size: "
              "{type: integer}}}}}"),
       {at(".properties[spec].default: Invalid value: {\"color\":\"red\",\"size\":1}: must not have unknown fields")}},
      {"no defaults in top-level metadata",
       schema("{type: object, properties: {metadata: {type: object, default: {}}}}"),
       {at(".properties[metadata].default: Forbidden: must not be set in top-level metadata")}},
      // OpenAPI rules (ValidateCustomResourceDefinitionOpenAPISchema).
      {"uniqueItems is refused",
       schema("{type: object, properties: {l: {type: array, uniqueItems: true, items: {type: string}}}}"),
       {at(".properties[l].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity "
           "becomes quadratic")}},
      {"types are OpenAPI v3 types",
       schema("{type: object, properties: {f: {type: float}}}"),
       {at(".properties[f].type: Unsupported value: \"float\": supported values: \"array\", \"boolean\", \"integer\", "
           "\"number\", \"object\", \"string\"")}},
      {"$ref is not supported (and skips the structural checks)",
       schema("{type: object, properties: {r: {$ref: '#/definitions/x'}}}"),
       {at(".properties[r].$ref: Forbidden: $ref is not supported")}},
      {"x-kubernetes-preserve-unknown-fields is true or absent",
       schema("{type: object, properties: {o: {type: object, x-kubernetes-preserve-unknown-fields: false}}}"),
       {at(".properties[o].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined")}},
      {"list-type map needs map keys",
       schema("{type: object, properties: {l: {type: array, x-kubernetes-list-type: map, items: {type: object, "
              "properties: {name: {type: string}}}}}}"),
       {at(".properties[l].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is "
           "map")}},
      {"list map keys are required or defaulted",
       schema("{type: object, properties: {l: {type: array, x-kubernetes-list-type: map, x-kubernetes-list-map-keys: "
              "[name], items: {type: object, properties: {name: {type: string}}}}}}"),
       {at(".properties[l].items.properties[name].default: Required value: this property is in "
           "x-kubernetes-list-map-keys, so it must have a default or be a required property")}},
      {"list map keys name item properties",
       schema("{type: object, properties: {l: {type: array, x-kubernetes-list-type: map, x-kubernetes-list-map-keys: "
              "[id], items: {type: object, properties: {name: {type: string}}}}}}"),
       {at(".properties[l].x-kubernetes-list-map-keys: Invalid value: [\"id\"]: entries must all be names of item "
           "properties")}},
      {"x-kubernetes-list-type belongs on arrays",
       schema("{type: object, properties: {o: {type: object, x-kubernetes-list-type: set}}}"),
       {at(".properties[o].type: Invalid value: \"object\": must be array if x-kubernetes-list-type is specified")}},
      {"x-kubernetes-list-type is atomic, set or map",
       schema("{type: object, properties: {l: {type: array, x-kubernetes-list-type: bag, items: {type: string}}}}"),
       {at(".properties[l].x-kubernetes-list-type: Unsupported value: \"bag\": supported values: \"atomic\", \"set\", "
           "\"map\"")}},
      {"set items that are objects must be atomic maps",
       schema("{type: object, properties: {l: {type: array, x-kubernetes-list-type: set, items: {type: object, "
              "properties: {a: {type: string}}}}}}"),
       {at(".properties[l].items.x-kubernetes-map-type: Invalid value: null: must be atomic as item of a list with "
           "x-kubernetes-list-type=set")}},
      {"x-kubernetes-map-type is atomic or granular",
       schema("{type: object, properties: {m: {type: object, x-kubernetes-map-type: loose}}}"),
       {at(".properties[m].x-kubernetes-map-type: Unsupported value: \"loose\": supported values: \"atomic\", "
           "\"granular\"")}},
      {"x-kubernetes-validations rules are not empty",
       schema("{type: object, x-kubernetes-validations: [{rule: ''}]}"),
       {at(".x-kubernetes-validations[0].rule: Required value: rule is not specified")}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.rule);
    auto doc = fromYaml(kWidgetCrd);
    c.mutate(doc);
    auto crd = parseCrd(doc);
    ASSERT_TRUE(crd.ok()) << crd.status().toString();
    EXPECT_THAT(texts(validateCrd(*crd)), ElementsAreArray(c.causes));
  }
}

TEST(CrdTest, RefusesAnythingButExactlyOneStorageVersion) {
  // "must have exactly one version marked as storage version"; on create the status is reset to
  // the first storage version, so a CRD without one also fails status.storedVersions.
  auto doc = fromYaml(kWidgetCrd);
  setAt(doc, "spec.versions.0.storage", "false");
  auto causes = validateCrd(parse(doc));
  ASSERT_EQ(causes.size(), 2u);
  EXPECT_EQ(causes[0].field, "spec.versions");
  EXPECT_EQ(causes[0].type, "FieldValueInvalid");
  EXPECT_THAT(causes[0].message, StartsWith("Invalid value: [{\"Name\":\"v1\",\"Served\":true,\"Storage\":false"));
  EXPECT_THAT(causes[0].message, EndsWith(": must have exactly one version marked as storage version"));
  EXPECT_EQ(causes[1].toString(), "status.storedVersions: Invalid value: null: must have at least one stored version");

  auto two = fromYaml(kWidgetCrd);
  setAt(two, "spec.versions.1", "{name: v2, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}");
  auto causes2 = texts(validateCrd(parse(two)));
  ASSERT_EQ(causes2.size(), 2u);
  EXPECT_THAT(causes2[0], EndsWith(": must have exactly one version marked as storage version"));
  EXPECT_EQ(causes2[1], R"(status.storedVersions: Invalid value: ["v1"]: must have the storage version v2)");
}

TEST(CrdTest, ReportsDifferingPerVersionSchemasUnderTheirVersion) {
  // Only parts identical across versions move to spec.validation; others stay per version.
  auto doc = fromYaml(kWidgetCrd);
  setAt(doc, "spec.versions.0.storage", "false");
  setAt(doc, "spec.versions.1",
        "{name: v2, served: true, storage: true, schema: {openAPIV3Schema: {type: object, properties: {spec: "
        "{properties: {a: {type: string}}}}}}}");
  EXPECT_THAT(texts(validateCrd(parse(doc))),
              ElementsAre("spec.versions[1].schema.openAPIV3Schema.properties[spec].type: Required value: must not be "
                          "empty for specified object fields"));
}

TEST(CrdTest, RefusesNonRootFieldsAtTheRootWhenStatusIsASubresource) {
  // validateCustomResourceDefinitionValidation: with the status subresource only some fields may
  // sit at the root (status is validated as properties.status alone).
  auto doc = fromYaml(kWidgetCrd);
  setAt(doc, "spec.versions.0.subresources", "{status: {}}");
  setAt(doc, "spec.versions.0.schema.openAPIV3Schema.anyOf", "[{required: [spec]}]");
  auto causes = validateCrd(parse(doc));
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].field, "spec.validation.openAPIV3Schema");
  EXPECT_THAT(causes[0].message,
              EndsWith(": only [Description Type Format Title Maximum ExclusiveMaximum Minimum ExclusiveMinimum "
                       "MaxLength MinLength Pattern MaxItems MinItems UniqueItems MultipleOf Required Items Properties "
                       "ExternalDocs Example XPreserveUnknownFields XValidations] fields are allowed at the root of "
                       "the schema if the status subresource is enabled"));
}

TEST(CrdTest, AcceptsMetadataSchemasThatOnlyRestrictTheName) {
  // validateStructuralMetadataInvariants strips properties {name} / {generateName} / both.
  auto doc = fromYaml(kWidgetCrd);
  setAt(doc, "spec.versions.0.schema.openAPIV3Schema.properties.metadata",
        "{type: object, properties: {name: {type: string, maxLength: 20}}}");
  EXPECT_THAT(texts(validateCrd(parse(doc))), IsEmpty());
}

TEST(CrdTest, AcceptsProtectedGroupsWithAnApprovalUrlOrAnUnapprovedReason) {
  for (const char* annotation : {"https://github.com/kubernetes/enhancements/pull/1111", "unapproved, experimental"}) {
    SCOPED_TRACE(annotation);
    auto doc = fromYaml(kWidgetCrd);
    setAt(doc, "spec.group", "widgets.k8s.io");
    setAt(doc, "metadata.name", "widgets.widgets.k8s.io");
    json::setString(
        json::ensureObject(json::ensureObject(doc, "metadata", doc.GetAllocator()), "annotations", doc.GetAllocator()),
        "api-approved.kubernetes.io", annotation, doc.GetAllocator());
    EXPECT_THAT(texts(validateCrd(parse(doc))), IsEmpty());
  }
}

TEST(CrdTest, AdmitCrdReturnsTheApiserversInvalidMessage) {
  // errors.NewInvalid: `<Kind>.<group> "<name>" is invalid: [c1, c2]`.
  auto doc = fromYaml(kWidgetCrd);
  setAt(doc, "metadata.name", "foos.example.com");
  setAt(doc, "spec.scope", "Global");
  auto r = admitCrd(doc);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "CustomResourceDefinition.apiextensions.k8s.io \"foos.example.com\" is invalid: [metadata.name: Invalid "
            "value: \"foos.example.com\": must be spec.names.plural+\".\"+spec.group, spec.scope: Unsupported value: "
            "\"Global\": supported values: \"Cluster\", \"Namespaced\"]");
  auto ok = admitCrd(fromYaml(kAppCrd));
  EXPECT_TRUE(ok.ok()) << ok.status().toString();
}

TEST(CrdTest, ReportsAnEmptySpecInTheApiserversOrder) {
  // Seen from a real apiserver for `spec: {}`: group, scope, versions, names, then storedVersions.
  auto r =
      admitCrd(fromYaml("{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, metadata: "
                        "{name: widgets.example.com}, spec: {}}"));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(),
              HasSubstr("spec.group: Required value, spec.scope: Required value, spec.versions: Invalid value: null: "
                        "must have exactly one version marked as storage version, spec.names.plural: Required value, "
                        "spec.names.singular: Required value, spec.names.kind: Required value, spec.names.listKind: "
                        "Required value, status.storedVersions: Invalid value: null: must have at least one stored "
                        "version"));
}

TEST(CrdTest, RefusesFieldsOfTheWrongJsonTypeAsUndecodable) {
  // The apiserver cannot decode such a body and answers 400 before validating.
  auto doc = fromYaml(kWidgetCrd);
  setAt(doc, "spec.versions.0.served", "'yes'");
  auto r = parseCrd(doc);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(),
              HasSubstr("cannot unmarshal string into Go struct field CustomResourceDefinitionVersion.spec.versions."
                        "served of type bool"));

  auto bad = fromYaml(kWidgetCrd);
  setAt(bad, "spec.versions.0.schema.openAPIV3Schema.properties.spec.type", "5");
  auto r2 = parseCrd(bad);
  ASSERT_FALSE(r2.ok());
  EXPECT_THAT(r2.status().message(), HasSubstr("cannot unmarshal number into Go struct field JSONSchemaProps"));

  auto notAnObject = fromJson("[1, 2]");
  EXPECT_FALSE(parseCrd(notAnObject).ok());
  EXPECT_FALSE(CrdVersionSchema::compile(fromJson(R"({"type": "object", "properties": []})")).ok());
}

TEST(CrdTest, StatusReportsAcceptedNamesAndEstablished) {
  // NamingConditionController + EstablishingController: NamesAccepted/NoConflicts, then
  // Established/InitialNamesAccepted; storedVersions = [storage version].
  auto crd = parse(fromYaml(kAppCrd));
  auto status = crdStatus(crd, {}, "2024-05-01T10:00:00Z");
  EXPECT_EQ(json::write(status),
            R"({"conditions":[{"type":"NamesAccepted","status":"True","lastTransitionTime":"2024-05-01T10:00:00Z",)"
            R"("reason":"NoConflicts","message":"no conflicts found"},{"type":"Established","status":"True",)"
            R"("lastTransitionTime":"2024-05-01T10:00:00Z","reason":"InitialNamesAccepted","message":"the initial )"
            R"(names have been accepted"}],"acceptedNames":{"plural":"apps","singular":"app","shortNames":["kapp"],)"
            R"("kind":"App","listKind":"AppList","categories":["kubeop"]},"storedVersions":["v1alpha1"]})");
}

TEST(CrdTest, StatusWithholdsNamesOtherCrdsOfTheGroupAlreadyUse) {
  auto crd = parse(fromYaml(kAppCrd));
  AcceptedNamesInGroup taken;
  taken.resources = {"kapp"};
  auto status = crdStatus(crd, taken, "2024-05-01T10:00:00Z");
  const json::Value& conditions = *json::find(status, "conditions");
  EXPECT_EQ(json::getString(conditions[0], "status"), "False");
  EXPECT_EQ(json::getString(conditions[0], "reason"), "ShortNamesConflict");
  EXPECT_EQ(json::getString(conditions[0], "message"), "\"kapp\" is already in use");
  EXPECT_EQ(json::getString(conditions[1], "status"), "False");
  EXPECT_EQ(json::getString(conditions[1], "reason"), "NotAccepted");
  EXPECT_EQ(json::find(*json::find(status, "acceptedNames"), "shortNames"), nullptr);
}

TEST(CrdTest, RecordsCelRulesAndSkipsThoseOutsideTheSubset) {
  // The sandbox has no CEL engine: rules outside the small subset are kept for reporting and
  // objects they would refuse pass, as with no rule at all.
  auto s = fieldSchema(
      "{type: object, x-kubernetes-validations: [{rule: 'self.all(k, self[k] > 0)', message: 'all positive'}, "
      "{rule: 'self.min <= oldSelf.min'}], additionalProperties: {type: integer}}");
  ASSERT_EQ(s.celRules().size(), 2u);
  EXPECT_EQ(s.celRules()[0].rule, "self.all(k, self[k] > 0)");
  EXPECT_EQ(s.celRules()[0].message, "all positive");
  EXPECT_EQ(s.celRules()[0].schemaPath, "openAPIV3Schema.properties[f]");
  EXPECT_THAT(texts(s.validate(fromJson(R"({"f": {"min": -5}})"))), IsEmpty());
}

TEST(CrdTest, EvaluatesTheCelSubsetWithTheApiserversWording) {
  // pkg/apiserver/schema/cel/validation.go: `Invalid value: <detail>` with the value omitted for
  // objects and arrays, "failed rule: <rule>" without a message, reason and fieldPath honoured,
  // runtime errors as "<err> evaluating rule: <rule>".
  const std::vector<ValidationCase> cases = {
      {"kubeOP's App rule, failing",
       "{type: object, x-kubernetes-validations: [{rule: \"self.type != 'Image' || has(self.image)\", message: "
       "'spec.image is required when spec.type is Image'}], properties: {type: {type: string}, image: {type: string}}}",
       R"({"type": "Image"})",
       {"f: Invalid value: spec.image is required when spec.type is Image"}},
      {"kubeOP's App rule, passing",
       "{type: object, x-kubernetes-validations: [{rule: \"self.type != 'Image' || has(self.image)\"}], properties: "
       "{type: {type: string}, image: {type: string}}}",
       R"({"type": "Image", "image": "nginx"})",
       {}},
      {"no message: failed rule",
       "{type: object, x-kubernetes-validations: [{rule: 'self.min <= self.max'}], properties: {min: {type: integer}, "
       "max: {type: integer}}}",
       R"({"min": 5, "max": 1})",
       {"f: Invalid value: failed rule: self.min <= self.max"}},
      {"scalars show their value",
       "{type: string, x-kubernetes-validations: [{rule: \"self == 'x'\"}]}",
       R"("y")",
       {R"(f: Invalid value: "y": failed rule: self == 'x')"}},
      {"reason FieldValueForbidden",
       "{type: object, x-kubernetes-validations: [{rule: '!has(self.legacy)', message: 'legacy is gone', reason: "
       "FieldValueForbidden}], properties: {legacy: {type: string}}}",
       R"({"legacy": "x"})",
       {"f: Forbidden: legacy is gone"}},
      {"fieldPath moves the cause",
       "{type: object, x-kubernetes-validations: [{rule: 'self.min <= self.max', message: 'max below min', fieldPath: "
       "'.max'}], properties: {min: {type: integer}, max: {type: integer}}}",
       R"({"min": 5, "max": 1})",
       {"f.max: Invalid value: max below min"}},
      {"a missing field without has() is a runtime error",
       "{type: object, x-kubernetes-validations: [{rule: \"self.image == 'x'\"}], properties: {image: {type: string}}}",
       "{}",
       {R"(f: Invalid value: "object": no such key: image evaluating rule: self.image == 'x')"}},
      {"|| absorbs an error when the other side is true",
       "{type: object, x-kubernetes-validations: [{rule: \"self.image == 'x' || true\"}], properties: {image: {type: "
       "string}}}",
       "{}",
       {}},
      {"size() and in over lists",
       "{type: array, items: {type: string}, x-kubernetes-validations: [{rule: \"self.size() <= 2 && !('root' in "
       "self)\"}]}",
       R"(["a", "root"])",
       {R"(f: Invalid value: failed rule: self.size() <= 2 && !('root' in self))"}},
      {"string methods",
       "{type: string, x-kubernetes-validations: [{rule: \"self.startsWith('kubeop-') && !self.endsWith('-')\"}]}",
       R"("kubeop-x-")",
       {R"(f: Invalid value: "kubeop-x-": failed rule: self.startsWith('kubeop-') && !self.endsWith('-'))"}},
      {"rules in items run per item",
       "{type: array, items: {type: integer, x-kubernetes-validations: [{rule: 'self >= 0', message: 'negative'}]}}",
       "[1, -2]",
       {"f[1]: Invalid value: -2: negative"}},
      {"rules are not run on an object with blocking errors",
       "{type: object, x-kubernetes-validations: [{rule: 'self.min <= self.max'}], properties: {min: {type: integer}, "
       "max: {type: integer}}}",
       R"({"min": "5", "max": 1})",
       {R"(f.min: Invalid value: "string": f.min in body must be of type integer: "string")",
        "<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct "
        "the existing errors to complete validation"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.rule) + " — " + c.schema + " — " + c.value);
    auto s = fieldSchema(c.schema);
    EXPECT_THAT(texts(s.validate(fromJson(std::string(R"({"f": )") + c.value + "}"))), ElementsAreArray(c.causes));
  }
}

std::string readFile(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(CrdTest, AcceptsEveryCrdKubeopShipsAndItsExampleApps) {
  // deploy/crds is what `kubeop up` installs; the sandbox must serve all of it.
  const auto root = std::filesystem::path(test::sourceDir());
  std::map<std::string, CustomResourceDefinition> byKind;
  size_t n = 0;
  std::error_code ec;
  std::filesystem::directory_iterator dir(root / "deploy" / "crds", ec);
  ASSERT_FALSE(ec) << (root / "deploy" / "crds").string() << ": " << ec.message();
  for (const auto& entry : dir) {
    if (entry.path().extension() != ".yaml") continue;
    SCOPED_TRACE(entry.path().string());
    auto docs = yaml::parseStream(readFile(entry.path()));
    ASSERT_TRUE(docs.ok()) << docs.status().toString();
    for (const auto& d : *docs) {
      auto crd = admitCrd(d.doc);
      ASSERT_TRUE(crd.ok()) << crd.status().toString();
      ++n;
      byKind.emplace(crd->names.kind, std::move(crd).value());
    }
  }
  EXPECT_GE(n, 1u);
  ASSERT_TRUE(byKind.count("App"));
  const CrdVersion* app = byKind.at("App").storageVersion();
  ASSERT_NE(app, nullptr);
  for (const char* example : {"docs/examples/raw-app.yaml", "examples/hello-delivery/app.yaml"}) {
    SCOPED_TRACE(example);
    auto obj = yaml::parseOne(readFile(root / example));
    ASSERT_TRUE(obj.ok()) << obj.status().toString();
    app->schema.normalize(*obj, obj->GetAllocator());
    EXPECT_THAT(texts(app->schema.validate(*obj)), IsEmpty());
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Pruning (pkg/apiserver/schema/pruning/algorithm.go)

struct JsonCase {
  const char* rule;
  const char* in;
  const char* out;
};

TEST(CrdPruneTest, RemovesWhatTheSchemaDoesNotSpecify) {
  auto s = versionSchema(kGadgetCrd, "v1");
  const std::vector<JsonCase> cases = {
      {"unknown root fields go; apiVersion, kind and metadata stay",
       R"({"apiVersion":"example.com/v1","kind":"Gadget","metadata":{"name":"g"},"bogus":1,"spec":{}})",
       R"({"apiVersion":"example.com/v1","kind":"Gadget","metadata":{"name":"g"},"spec":{}})"},
      {"unknown nested fields go, known ones stay in order", R"({"spec":{"replicas":2,"colour":"red","paused":true}})",
       R"({"spec":{"replicas":2,"paused":true}})"},
      {"x-kubernetes-preserve-unknown-fields keeps unknown fields, known ones are still pruned",
       R"({"spec":{"extra":{"anything":{"deep":[1,{"x":2}]},"known":{"keep":"a","drop":"b"}}}})",
       R"({"spec":{"extra":{"anything":{"deep":[1,{"x":2}]},"known":{"keep":"a"}}}})"},
      {"additionalProperties maps keep every key and prune each value by the map's schema",
       R"({"spec":{"labels":{"a":"1","b":"2"},"env":{"HOME":{"value":"/root","secret":true}}}})",
       R"({"spec":{"labels":{"a":"1","b":"2"},"env":{"HOME":{"value":"/root"}}}})"},
      {"array items are pruned by items", R"({"spec":{"ports":[{"name":"http","port":80,"x":1}]}})",
       R"({"spec":{"ports":[{"name":"http","port":80}]}})"},
      {"embedded resources keep apiVersion, kind and metadata (and unknown fields when preserved)",
       R"({"spec":{"template":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","bogus":1},"spec":{"x":1}}}})",
       R"({"spec":{"template":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"x":1}}}})"},
      {"root metadata loses fields ObjectMeta does not have",
       R"({"metadata":{"name":"g","labels":{"a":"b"},"bogus":true},"status":{"replicas":1,"other":2}})",
       R"({"metadata":{"name":"g","labels":{"a":"b"}},"status":{"replicas":1}})"},
      {"a field of an unexpected type is pruned by the schema it has", R"({"spec":{"labels":[{"x":1},"y"]}})",
       R"({"spec":{"labels":[{},"y"]}})"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.rule);
    auto doc = fromJson(c.in);
    s.prune(doc);
    EXPECT_EQ(json::write(doc), c.out);
  }
}

TEST(CrdPruneTest, WithoutASchemaKeepsOnlyTypeMetaAndMetadata) {
  CrdVersionSchema none;
  auto doc = fromJson(R"({"apiVersion":"a/v1","kind":"K","metadata":{"name":"x"},"spec":{"a":1},"data":[{"b":1}]})");
  none.prune(doc);
  EXPECT_EQ(json::write(doc), R"({"apiVersion":"a/v1","kind":"K","metadata":{"name":"x"}})");
}

TEST(CrdPruneTest, PreserveUnknownFieldsAtTheRootKeepsEverything) {
  auto s = CrdVersionSchema::compile(fromYaml("{type: object, x-kubernetes-preserve-unknown-fields: true}"));
  ASSERT_TRUE(s.ok());
  auto doc = fromJson(R"({"spec":{"a":1},"other":"x"})");
  s->prune(doc);
  EXPECT_EQ(json::write(doc), R"({"spec":{"a":1},"other":"x"})");
}

// ---------------------------------------------------------------------------------------------
// 3. Defaulting (pkg/apiserver/schema/defaulting/algorithm.go, prunenulls.go)

TEST(CrdDefaultTest, FillsDefaultsAsTheApiserverDoes) {
  auto s = versionSchema(kGadgetCrd, "v1");
  const std::vector<JsonCase> cases = {
      {"missing fields get their defaults, applied recursively into defaulted objects", R"({"spec":{}})",
       R"({"spec":{"replicas":1,"port":"http","strategy":{"type":"Rolling"},"mode":"auto"}})"},
      {"present values are kept", R"({"spec":{"replicas":3,"port":8080,"strategy":{"type":"Recreate"},"mode":"m"}})",
       R"({"spec":{"replicas":3,"port":8080,"strategy":{"type":"Recreate"},"mode":"m"}})"},
      {"a null in a non-nullable defaulted field takes the default", R"({"spec":{"mode":null,"replicas":null}})",
       R"({"spec":{"mode":"auto","replicas":1,"port":"http","strategy":{"type":"Rolling"}}})"},
      {"defaults apply inside array items", R"({"spec":{"ports":[{"name":"http"},{"name":"dns","protocol":"UDP"}]}})",
       R"({"spec":{"ports":[{"name":"http","protocol":"TCP"},{"name":"dns","protocol":"UDP"}],"replicas":1,)"
       R"("port":"http","strategy":{"type":"Rolling"},"mode":"auto"}})"},
      {"defaults apply inside additionalProperties values", R"({"spec":{"env":{"A":{}}}})",
       R"({"spec":{"env":{"A":{"value":""}},"replicas":1,"port":"http","strategy":{"type":"Rolling"},"mode":"auto"}})"},
      {"no spec, no defaults below it", R"({"metadata":{"name":"g"}})", R"({"metadata":{"name":"g"}})"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.rule);
    auto doc = fromJson(c.in);
    s.applyDefaults(doc, doc.GetAllocator());
    EXPECT_EQ(json::write(doc), c.out);
  }
}

TEST(CrdDefaultTest, DropsNullsTheSchemaNeitherAllowsNorDefaults) {
  // PruneNonNullableNullsWithoutDefaults runs at decode, before defaulting.
  auto s = versionSchema(kGadgetCrd, "v1");
  auto doc = fromJson(R"({"spec":{"size":null,"note":null,"mode":null,"labels":{"a":null}}})");
  s.dropNonNullableNulls(doc);
  EXPECT_EQ(json::write(doc), R"({"spec":{"note":null,"mode":null,"labels":{}}})");
}

TEST(CrdDefaultTest, NormalizePrunesDropsNullsThenDefaults) {
  auto s = versionSchema(kGadgetCrd, "v1");
  auto doc = fromJson(R"({"apiVersion":"example.com/v1","kind":"Gadget","metadata":{"name":"g"},)"
                      R"("spec":{"bogus":1,"size":null,"replicas":2}})");
  s.normalize(doc, doc.GetAllocator());
  EXPECT_EQ(json::write(doc),
            R"({"apiVersion":"example.com/v1","kind":"Gadget","metadata":{"name":"g"},"spec":{"replicas":2,)"
            R"("port":"http","strategy":{"type":"Rolling"},"mode":"auto"}})");
  EXPECT_THAT(texts(s.validate(doc)), IsEmpty());
}

// ---------------------------------------------------------------------------------------------
// 4. Validation: every keyword, in the apiserver's words (kube-openapi pkg/validation/validate and
// errors, converted by kubeOpenAPIResultToFieldErrors).

TEST(CrdValidationTest, ReportsEveryKeywordWithTheApiserversMessage) {
  const std::vector<ValidationCase> cases = {
      // type (typeValidator): the bad value is the type name the value has
      {"type integer",
       "{type: integer}",
       R"("abc")",
       {R"(f: Invalid value: "string": f in body must be of type integer: "string")"}},
      {"type string",
       "{type: string}",
       "[]",
       {R"(f: Invalid value: "array": f in body must be of type string: "array")"}},
      {"type number",
       "{type: number}",
       "true",
       {R"(f: Invalid value: "boolean": f in body must be of type number: "boolean")"}},
      {"type boolean",
       "{type: boolean}",
       "1",
       {R"(f: Invalid value: "integer": f in body must be of type boolean: "integer")"}},
      {"type object",
       "{type: object}",
       R"("x")",
       {R"(f: Invalid value: "string": f in body must be of type object: "string")"}},
      {"type array",
       "{type: array, items: {type: string}}",
       "{}",
       {R"(f: Invalid value: "object": f in body must be of type array: "object")"}},
      {"integer refuses fractions, and the range check says so too",
       "{type: integer}",
       "1.5",
       {R"(f: Invalid value: "number": f in body must be of type integer: "number")",
        R"(<nil>: Invalid value: "": Checked value must be of type integer (default format) in f)"}},
      {"integer accepts an integral float", "{type: integer}", "2.0", {}},
      {"number accepts an integer", "{type: number}", "2", {}},
      {"null is refused unless nullable",
       "{type: string}",
       "null",
       {R"(f: Invalid value: "null": f in body must be of type string: "null")"}},
      {"nullable allows null", "{type: string, nullable: true}", "null", {}},
      // int-or-string
      {"int-or-string accepts an integer", "{x-kubernetes-int-or-string: true}", "8080", {}},
      {"int-or-string accepts a string", "{x-kubernetes-int-or-string: true}", R"("http")", {}},
      {"int-or-string refuses the rest",
       "{x-kubernetes-int-or-string: true}",
       "true",
       {R"(f: Invalid value: "boolean": f in body must be of type integer,string: "boolean")"}},
      {"int-or-string refuses fractions",
       "{x-kubernetes-int-or-string: true}",
       "1.2",
       {R"(f: Invalid value: "number": f in body must be of type integer,string: "number")"}},
      // enum (basicCommonValidator → field.NotSupported)
      {"enum of strings",
       "{type: string, enum: [a, b]}",
       R"("x")",
       {R"(f: Unsupported value: "x": supported values: "a", "b")"}},
      {"enum of integers lists them quoted",
       "{type: integer, enum: [1, 2]}",
       "3",
       {R"(f: Unsupported value: 3: supported values: "1", "2")"}},
      {"enum with a value of another type reports both",
       "{type: string, enum: [a, b]}",
       "true",
       {R"(f: Invalid value: "boolean": f in body must be of type string: "boolean")",
        R"(f: Unsupported value: true: supported values: "a", "b")"}},
      {"enum matches integers against integral floats", "{type: number, enum: [1, 2.5]}", "1.0", {}},
      // strings (stringValidator)
      {"pattern",
       "{type: string, pattern: '^[a-z]+$'}",
       R"("ABC")",
       {R"(f: Invalid value: "ABC": f in body should match '^[a-z]+$')"}},
      {"pattern searches, unanchored", "{type: string, pattern: '[0-9]'}", R"("abc1def")", {}},
      {"maxLength (field.TooLong)",
       "{type: string, maxLength: 2}",
       R"("abc")",
       {"f: Too long: may not be more than 2 bytes"}},
      {"maxLength counts characters, not bytes", "{type: string, maxLength: 3}", R"("héé")", {}},
      {"minLength",
       "{type: string, minLength: 3}",
       R"("ab")",
       {R"(f: Invalid value: "ab": f in body should be at least 3 chars long)"}},
      // numbers (numberValidator)
      {"minimum",
       "{type: integer, minimum: 0}",
       "-1",
       {"f: Invalid value: -1: f in body should be greater than or equal to 0"}},
      {"maximum",
       "{type: integer, maximum: 10}",
       "11",
       {"f: Invalid value: 11: f in body should be less than or equal to 10"}},
      {"exclusiveMinimum",
       "{type: integer, minimum: 0, exclusiveMinimum: true}",
       "0",
       {"f: Invalid value: 0: f in body should be greater than 0"}},
      {"exclusiveMaximum",
       "{type: integer, maximum: 10, exclusiveMaximum: true}",
       "10",
       {"f: Invalid value: 10: f in body should be less than 10"}},
      {"maximum of a number prints floats as Go's %v",
       "{type: number, maximum: 1000000}",
       "2500000.5",
       {"f: Invalid value: 2.5000005e+06: f in body should be less than or equal to 1e+06"}},
      {"fractional maximum",
       "{type: number, maximum: 1.5}",
       "2.5",
       {"f: Invalid value: 2.5: f in body should be less than or equal to 1.5"}},
      {"small floats switch to exponents below 1e-4",
       "{type: number, maximum: 0.00001}",
       "0.0001",
       {"f: Invalid value: 0.0001: f in body should be less than or equal to 1e-05"}},
      {"multipleOf an integer",
       "{type: integer, multipleOf: 5}",
       "7",
       {"f: Invalid value: 7: f in body should be a multiple of 5"}},
      {"multipleOf a fraction",
       "{type: number, multipleOf: 0.25}",
       "0.3",
       {"f: Invalid value: 0.3: f in body should be a multiple of 0.25"}},
      {"a fractional multipleOf on an integer is itself reported",
       "{type: integer, multipleOf: 0.5}",
       "3",
       {R"(<nil>: Invalid value: "": MultipleOf value must be of type integer (default format) in f)"}},
      {"format int32 bounds the value",
       "{type: integer, format: int32}",
       "2147483648",
       {R"(<nil>: Invalid value: "": Checked value must be of type integer with format int32 in f)"}},
      {"format int64 accepts int64", "{type: integer, format: int64}", "9223372036854775807", {}},
      // arrays (schemaSliceValidator)
      {"items",
       "{type: array, items: {type: integer}}",
       R"([1, "x"])",
       {R"(f[1]: Invalid value: "string": f[1] in body must be of type integer: "string")"}},
      {"minItems",
       "{type: array, minItems: 2, items: {type: integer}}",
       "[1]",
       {"f: Invalid value: 1: f in body should have at least 2 items"}},
      {"maxItems (field.TooMany)",
       "{type: array, maxItems: 2, items: {type: integer}}",
       "[1, 2, 3]",
       {"f: Too many: 3: must have at most 2 items"}},
      {"uniqueItems",
       "{type: array, uniqueItems: true, items: {type: integer}}",
       "[1, 2, 1]",
       {R"(f: Invalid value: "": f in body shouldn't contain duplicates)"}},
      // objects (objectValidator)
      {"required", "{type: object, required: [a], properties: {a: {type: string}}}", "{}", {"f.a: Required value"}},
      {"required counts explicit nulls as present",
       "{type: object, required: [a], properties: {a: {type: string, nullable: true}}}",
       R"({"a": null})",
       {}},
      {"minProperties",
       "{type: object, minProperties: 1, additionalProperties: {type: string}}",
       "{}",
       {"f: Invalid value: 0: f in body should have at least 1 properties"}},
      {"maxProperties (field.TooMany, in items)",
       "{type: object, maxProperties: 1, additionalProperties: {type: string}}",
       R"({"a": "1", "b": "2"})",
       {"f: Too many: 2: must have at most 1 item"}},
      {"additionalProperties schema",
       "{type: object, additionalProperties: {type: string}}",
       R"({"a": "x", "b": 1})",
       {R"(f.b: Invalid value: "integer": f.b in body must be of type string: "integer")"}},
      {"additionalProperties false",
       "{type: object, additionalProperties: false}",
       R"({"x": 1})",
       {R"(f: Invalid value: "x": f.x in body is a forbidden property)"}},
      {"nested paths",
       "{type: object, properties: {a: {type: array, items: {type: object, properties: {b: {type: integer}}}}}}",
       R"({"a": [{"b": 1}, {"b": "2"}]})",
       {R"(f.a[1].b: Invalid value: "string": f.a[1].b in body must be of type integer: "string")"}},
      // formats (strfmt through the apiserver's supported list)
      {"format date-time",
       "{type: string, format: date-time}",
       R"("yesterday")",
       {R"(f: Invalid value: "yesterday": f in body must be of type date-time: "yesterday")"}},
      {"format date-time accepts RFC 3339",
       "{type: string, format: date-time}",
       R"("2024-05-01T10:00:00.5+02:00")",
       {}},
      {"format date",
       "{type: string, format: date}",
       R"("2024-02-30")",
       {R"(f: Invalid value: "2024-02-30": f in body must be of type date: "2024-02-30")"}},
      {"format byte",
       "{type: string, format: byte}",
       R"("not base64!")",
       {R"(f: Invalid value: "not base64!": f in body must be of type byte: "not base64!")"}},
      {"format byte accepts base64", "{type: string, format: byte}", R"("aGVsbG8=")", {}},
      {"format uuid",
       "{type: string, format: uuid}",
       R"("1234")",
       {R"(f: Invalid value: "1234": f in body must be of type uuid: "1234")"}},
      {"format ipv4",
       "{type: string, format: ipv4}",
       R"("10.0.0.256")",
       {R"(f: Invalid value: "10.0.0.256": f in body must be of type ipv4: "10.0.0.256")"}},
      {"format cidr accepts v6", "{type: string, format: cidr}", R"("fd00::/64")", {}},
      {"format k8s-short-name",
       "{type: string, format: k8s-short-name}",
       R"("a-")",
       {R"(f: Invalid value: "a-": f in body must be of type k8s-short-name: "a-")"}},
      {"unsupported formats are stripped, not enforced", "{type: string, format: my-format}", R"("anything")", {}},
      // junctors (schemaPropsValidator): their own errors carry no field path
      {"anyOf",
       "{type: integer, anyOf: [{minimum: 10}, {maximum: 0}]}",
       "5",
       {R"(<nil>: Invalid value: "": "f" must validate at least one schema (anyOf))",
        "f: Invalid value: 5: f in body should be greater than or equal to 10"}},
      {"oneOf with two matches",
       "{type: integer, oneOf: [{minimum: 0}, {maximum: 10}]}",
       "5",
       {R"(<nil>: Invalid value: "": "f" must validate one and only one schema (oneOf). Found 2 valid alternatives)"}},
      {"oneOf with none",
       "{type: integer, oneOf: [{minimum: 10}, {maximum: 0}]}",
       "5",
       {R"(<nil>: Invalid value: "": "f" must validate one and only one schema (oneOf). Found none valid)",
        "f: Invalid value: 5: f in body should be greater than or equal to 10"}},
      {"allOf",
       "{type: integer, allOf: [{minimum: 0}, {maximum: 10}]}",
       "11",
       {"f: Invalid value: 11: f in body should be less than or equal to 10",
        R"(<nil>: Invalid value: "": "f" must validate all the schemas (allOf))"}},
      {"not",
       "{type: string, not: {enum: [forbidden]}}",
       R"("forbidden")",
       {R"(<nil>: Invalid value: "": "f" must not validate the schema (not))"}},
      // list types (pkg/apiserver/schema/listtype): field.Duplicate at the second occurrence
      {"x-kubernetes-list-type set",
       "{type: array, x-kubernetes-list-type: set, items: {type: string}}",
       R"(["a", "b", "a", "a"])",
       {R"(f[2]: Duplicate value: "a")"}},
      {"x-kubernetes-list-type set compares objects by content",
       "{type: array, x-kubernetes-list-type: set, items: {type: object, x-kubernetes-map-type: atomic, "
       "x-kubernetes-preserve-unknown-fields: true}}",
       R"([{"a": 1, "b": 2}, {"b": 2, "a": 1}])",
       {R"(f[1]: Duplicate value: {"a":1,"b":2})"}},
      {"x-kubernetes-list-type map with one key",
       "{type: array, x-kubernetes-list-type: map, x-kubernetes-list-map-keys: [name], items: {type: object, required: "
       "[name], properties: {name: {type: string}, v: {type: integer}}}}",
       R"([{"name": "a", "v": 1}, {"name": "a", "v": 2}])",
       {R"(f[1]: Duplicate value: {"name":"a"})"}},
      {"x-kubernetes-list-type map with two keys",
       "{type: array, x-kubernetes-list-type: map, x-kubernetes-list-map-keys: [name, protocol], items: {type: object, "
       "required: [name, protocol], properties: {name: {type: string}, protocol: {type: string}}}}",
       R"([{"name": "a", "protocol": "TCP"}, {"name": "a", "protocol": "UDP"}, {"name": "a", "protocol": "TCP"}])",
       {R"(f[2]: Duplicate value: {"name":"a","protocol":"TCP"})"}},
      {"x-kubernetes-list-type map items are objects",
       "{type: array, x-kubernetes-list-type: map, x-kubernetes-list-map-keys: [name], items: {type: object, required: "
       "[name], properties: {name: {type: string}}}}",
       R"(["x"])",
       {R"(f[0]: Invalid value: "string": f[0] in body must be of type object: "string")",
        R"(f[0]: Invalid value: "x": must be an object for an array of list-type map)"}},
      {"x-kubernetes-map-type does not validate",
       "{type: object, x-kubernetes-map-type: atomic, additionalProperties: {type: string}}",
       R"({"a": "b"})",
       {}},
      {"list types inside maps use field.Path keys",
       "{type: object, additionalProperties: {type: array, x-kubernetes-list-type: set, items: {type: string}}}",
       R"({"k": ["a", "a"]})",
       {R"(f[k][1]: Duplicate value: "a")"}},
      // embedded resources (pkg/apiserver/schema/objectmeta)
      {"embedded resources need apiVersion and kind",
       "{type: object, x-kubernetes-embedded-resource: true, x-kubernetes-preserve-unknown-fields: true}",
       "{}",
       {"f.apiVersion: Required value", "f.kind: Required value"}},
      {"embedded apiVersion and kind are well formed",
       "{type: object, x-kubernetes-embedded-resource: true, x-kubernetes-preserve-unknown-fields: true}",
       R"({"apiVersion": "a/b/c", "kind": "my_kind", "metadata": {"name": "a/b"}})",
       {R"(f.apiVersion: Invalid value: "a/b/c": unexpected GroupVersion string: a/b/c)",
        R"(f.kind: Invalid value: "my_kind": may have mixed case, but should otherwise match: a DNS-1035 label )"
        R"(must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and )"
        R"(end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is )"
        R"('[a-z]([-a-z0-9]*[a-z0-9])?'))",
        R"(f.metadata.name: Invalid value: "a/b": may not contain '/')"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.rule) + " — " + c.schema + " — " + c.value);
    auto s = fieldSchema(c.schema);
    auto obj = fromJson(std::string(R"({"f": )") + c.value + "}");
    EXPECT_THAT(texts(s.validate(obj)), ElementsAreArray(c.causes));
  }
}

TEST(CrdValidationTest, MatchesUpstreamForIntOrStringWithAnExplicitAnyOf) {
  // apiserver/validation TestValidateCustomResource "nullable, x-kubernetes-int-or-string and
  // user-provided anyOf": the type error, the anyOf error and the first branch's errors.
  auto s = fieldSchema("{nullable: true, x-kubernetes-int-or-string: true, anyOf: [{type: integer}, {type: string}]}");
  EXPECT_THAT(texts(s.validate(fromJson(R"({"f": 1.2})"))),
              UnorderedElementsAreArray({
                  R"(<nil>: Invalid value: "": "f" must validate at least one schema (anyOf))",
                  R"(f: Invalid value: "number": f in body must be of type integer,string: "number")",
                  R"(f: Invalid value: "number": f in body must be of type integer: "number")",
                  R"(<nil>: Invalid value: "": Checked value must be of type integer (default format) in f)",
              }));
  EXPECT_THAT(texts(s.validate(fromJson(R"({"f": null})"))), IsEmpty());
}

TEST(CrdValidationTest, RequiredAtTheRootNamesTheField) {
  // The validator's path is ".spec" at the root; the apiserver trims the dot.
  auto s = CrdVersionSchema::compile(fromYaml("{type: object, required: [spec], properties: {spec: {type: object}}}"));
  ASSERT_TRUE(s.ok());
  auto causes = s->validate(fromJson("{}"));
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].type, "FieldValueRequired");
  EXPECT_EQ(causes[0].toString(), "spec: Required value");
}

TEST(CrdValidationTest, CauseTypesFollowTheFieldErrorTypes) {
  auto s = fieldSchema(
      "{type: object, properties: {a: {type: integer}, b: {type: string, enum: [x]}, c: {type: string, "
      "maxLength: 1}, d: {type: array, maxItems: 0, items: {type: string}}, e: {type: integer, minimum: 1}}}");
  auto causes = s.validate(fromJson(R"({"f": {"a": "1", "b": "y", "c": "zz", "d": ["q"], "e": 0}})"));
  std::vector<std::string> types;
  for (const auto& c : causes) types.push_back(c.field + "=" + c.type);
  EXPECT_THAT(types, ElementsAre("f.a=FieldValueTypeInvalid", "f.b=FieldValueNotSupported", "f.c=FieldValueTooLong",
                                 "f.d=FieldValueTooMany", "f.e=FieldValueInvalid"));
}

TEST(CrdValidationTest, ValidatesKubeopsAppLikeTheApiserver) {
  auto s = versionSchema(kAppCrd, "v1alpha1");
  auto good = fromYaml(R"(
apiVersion: paas.kubeop.io/v1alpha1
kind: App
metadata: {name: web, namespace: team-a}
spec:
  type: Raw
  rawManifests: |
    apiVersion: v1
    kind: ConfigMap
  config: {anything: [1, 2]}
status:
  observedGeneration: 2
  conditions:
  - {type: Ready, status: "True", reason: Delivered, lastTransitionTime: "2024-05-01T10:00:00Z"}
)");
  s.normalize(good, good.GetAllocator());
  EXPECT_EQ(json::getString(*json::find(good, "spec"), "type"), "Raw");
  EXPECT_EQ(json::find(*json::find(good, "spec"), "replicas")->GetInt64(), 1) << "defaulted";
  EXPECT_THAT(texts(s.validate(good)), IsEmpty());

  auto bad = fromJson(R"({"apiVersion":"paas.kubeop.io/v1alpha1","kind":"App","metadata":{"name":"web"},)"
                      R"("spec":{"replicas":"three","image":""},"status":{"conditions":[)"
                      R"({"type":"Ready","status":"Maybe"},{"type":"Ready","status":"True"}]}})");
  s.normalize(bad, bad.GetAllocator());
  auto causes = s.validate(bad);
  EXPECT_THAT(
      texts(causes),
      ElementsAre(
          R"(spec.image: Invalid value: "": spec.image in body should be at least 1 chars long)",
          R"(spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string")",
          "spec.type: Required value",
          R"(status.conditions[0].status: Unsupported value: "Maybe": supported values: "True", "False", "Unknown")",
          R"(status.conditions[1]: Duplicate value: {"type":"Ready"})"));
  // errors.NewInvalid for the custom resource.
  EXPECT_EQ(invalidMessage("paas.kubeop.io", "App", "web", {causes[2]}),
            R"(App.paas.kubeop.io "web" is invalid: spec.type: Required value)");
  EXPECT_EQ(
      invalidMessage("paas.kubeop.io", "App", "web", {causes[1], causes[2]}),
      R"(App.paas.kubeop.io "web" is invalid: [spec.replicas: Invalid value: "string": spec.replicas in body must )"
      R"(be of type integer: "string", spec.type: Required value])");
}

TEST(CrdValidationTest, ValidatesTheStatusSubresourceAgainstPropertiesStatus) {
  // ValidateStatusUpdate: the status schema alone, rooted at field path "status" — the message
  // names the path inside status, as upstream.
  auto s = versionSchema(kAppCrd, "v1alpha1");
  auto status = fromJson(
      R"({"observedGeneration":"x","conditions":[{"type":"A","status":"True"},{"type":"A","status":"False"}]})");
  EXPECT_THAT(
      texts(s.validateStatus(status)),
      ElementsAre(R"(status.observedGeneration: Invalid value: "string": observedGeneration in body must be of type )"
                  R"(integer: "string")",
                  R"(status.conditions[1]: Duplicate value: {"type":"A"})"));
}

TEST(CrdValidationTest, ChecksScaleReplicasPaths) {
  // customResourceValidator.ValidateScaleSpec/Status: int64, non-negative, within int32.
  auto s = versionSchema(kGadgetCrd, "v1");
  EXPECT_THAT(
      texts(s.validate(fromJson(R"({"spec":{"replicas":-1}})"))),
      ElementsAre("spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0",
                  ".spec.replicas: Invalid value: -1: should be a non-negative integer"));
  EXPECT_THAT(
      texts(s.validate(fromJson(R"({"spec":{"replicas":"two"}})"))),
      ElementsAre(R"(spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string")",
                  ".spec.replicas: Invalid value: 0: .spec.replicas accessor error: two is of the type string, "
                  "expected int64"));
  EXPECT_THAT(texts(s.validate(fromJson(R"({"status":{"replicas":3000000000,"selector":"app=x"}})"))),
              ElementsAre(".status.replicas: Invalid value: 3000000000: should be less than or equal to 2147483647"));
  EXPECT_THAT(
      texts(s.validate(fromJson(R"({"status":"broken"})"))),
      ElementsAre(
          R"(status: Invalid value: "string": status in body must be of type object: "string")",
          ".status.replicas: Invalid value: 0: .status.replicas accessor error: broken is of the type "
          "string, expected map[string]interface{}",
          R"(.status.selector: Invalid value: "": .status.selector accessor error: broken is of the type string, )"
          "expected map[string]interface{}"));
}

TEST(CrdValidationTest, NeverCrashesOnHostileInput) {
  auto s = versionSchema(kGadgetCrd, "v1");
  // Not an object, scalars where objects belong, deep nesting, long strings against a pattern.
  for (const char* text : {"[]", "null", "42", R"({"spec": 5})", R"({"spec": {"ports": 7, "env": [], "tags": {}}})",
                           R"({"metadata": "x", "spec": {"template": []}})"}) {
    auto doc = fromJson(text);
    s.normalize(doc, doc.GetAllocator());
    (void)s.validate(doc);
    (void)s.validateStatus(doc);
  }
  std::string deep;
  for (int i = 0; i < 500; ++i) deep += R"({"a":[)";
  for (int i = 0; i < 500; ++i) deep += "]}";
  auto deepDoc = fromJson(R"({"spec": {"extra": )" + deep + R"(, "labels": )" + deep + "}}");
  s.normalize(deepDoc, deepDoc.GetAllocator());
  (void)s.validate(deepDoc);

  auto p = fieldSchema("{type: string, pattern: '^[a-z]+$'}");
  auto longValue = json::Document();
  longValue.SetObject();
  json::setString(longValue, "f", std::string(200000, 'a'), longValue.GetAllocator());
  EXPECT_THAT(texts(p.validate(longValue)), IsEmpty());
  json::setString(longValue, "f", std::string(200000, 'a') + "B", longValue.GetAllocator());
  EXPECT_EQ(p.validate(longValue).size(), 1u);

  // Format checkers see hostile lengths too.
  auto duration = fieldSchema("{type: string, format: duration}");
  json::setString(
      longValue, "f",
      [] {
        std::string d;
        for (int i = 0; i < 50000; ++i) d += "1h";
        return d;
      }(),
      longValue.GetAllocator());
  EXPECT_THAT(texts(duration.validate(longValue)), IsEmpty());
  auto dateTime = fieldSchema("{type: string, format: date-time}");
  json::setString(longValue, "f", "2024-05-01T10:00:00." + std::string(100000, '1') + "Z", longValue.GetAllocator());
  EXPECT_THAT(texts(dateTime.validate(longValue)), IsEmpty());

  // Backreferences are RE2-invalid and refused, not executed.
  auto crd = fromYaml(kWidgetCrd);
  setAt(crd, "spec.versions.0.schema.openAPIV3Schema.properties.spec.properties.s",
        "{type: string, pattern: '(a)\\1'}");
  auto causes = texts(validateCrd(parse(crd)));
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_THAT(causes[0], HasSubstr("must be a valid regular expression, but isn't: error parsing regexp"));
}

TEST(CrdValidationTest, InvalidStatusBodyIsAMetaV1Status) {
  std::vector<Cause> causes = {Cause{"FieldValueRequired", "spec.type", "Required value"}};
  auto body = invalidStatusBody("paas.kubeop.io", "App", "web", causes);
  EXPECT_EQ(
      json::write(body),
      R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"App.paas.kubeop.io \"web\" )"
      R"(is invalid: spec.type: Required value","reason":"Invalid","details":{"name":"web","group":"paas.kubeop.io",)"
      R"("kind":"App","causes":[{"reason":"FieldValueRequired","message":"Required value","field":"spec.type"}]},)"
      R"("code":422})");
  auto st = invalidStatus("paas.kubeop.io", "App", "web", causes);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(invalidMessage("", "Pod", "p", {}), R"(Pod "p" is invalid)");
  EXPECT_EQ(invalidMessage("", "Pod", "p", {causes[0], causes[0]}), R"(Pod "p" is invalid: spec.type: Required value)")
      << "repeated causes are listed once";
}

// ---------------------------------------------------------------------------------------------
// 5. Printer columns (registry/customresource/tableconvertor) and JSONPath

using Clock = std::chrono::system_clock;

Clock::time_point timeAt(std::string_view rfc3339) {
  auto t = parseRfc3339(rfc3339);
  EXPECT_TRUE(t.has_value()) << rfc3339;
  return t.value_or(Clock::time_point());
}

TEST(CrdColumnsTest, EvaluatesTheAppColumnsAsKubectlShowsThem) {
  auto s = versionSchema(kAppCrd, "v1alpha1");
  auto app = fromJson(
      R"({"metadata":{"name":"web","creationTimestamp":"2024-05-01T10:00:00Z"},"spec":{"type":"Git"},)"
      R"("status":{"conditions":[{"type":"Progressing","status":"False"},{"type":"Ready","status":"True"}]}})");
  const auto& cols = s.printerColumns();
  ASSERT_EQ(cols.size(), 3u);
  auto now = timeAt("2024-05-01T10:05:00Z");
  EXPECT_EQ(evaluateColumn(cols[0], app, now).text(), "Git");
  EXPECT_EQ(evaluateColumn(cols[1], app, now).text(), "True");
  EXPECT_EQ(evaluateColumn(cols[2], app, now).text(), "5m");
  EXPECT_EQ(evaluateColumn(cols[2], app, timeAt("2024-05-01T13:00:00Z")).text(), "3h");
  auto fresh = fromJson(R"({"metadata":{"name":"web"},"spec":{"type":"Helm"}})");
  EXPECT_TRUE(evaluateColumn(cols[1], fresh, now).isNull()) << "missing status: an empty cell";
  EXPECT_EQ(evaluateColumn(cols[1], fresh, now).text(), "");
}

struct ColumnCase {
  const char* rule;
  PrinterColumn column;
  const char* object;
  ColumnCell::Kind kind;
  const char* text;
};

TEST(CrdColumnsTest, FormatsCellsPerColumnType) {
  auto now = timeAt("2024-05-10T12:00:00Z");
  const std::vector<ColumnCase> cases = {
      {"integer from an integer",
       {"R", "integer", "", "", ".spec.replicas", 0},
       R"({"spec":{"replicas":3}})",
       ColumnCell::Kind::kInteger,
       "3"},
      {"integer from a float truncates",
       {"R", "integer", "", "", ".spec.replicas", 0},
       R"({"spec":{"replicas":2.7}})",
       ColumnCell::Kind::kInteger,
       "2"},
      {"integer from a string is empty",
       {"R", "integer", "", "", ".spec.replicas", 0},
       R"({"spec":{"replicas":"3"}})",
       ColumnCell::Kind::kNull,
       ""},
      {"number",
       {"W", "number", "", "", ".spec.weight", 0},
       R"({"spec":{"weight":0.25}})",
       ColumnCell::Kind::kNumber,
       "0.25"},
      {"number from an integer",
       {"W", "number", "", "", ".spec.weight", 0},
       R"({"spec":{"weight":2}})",
       ColumnCell::Kind::kNumber,
       "2"},
      {"boolean",
       {"P", "boolean", "", "", ".spec.paused", 0},
       R"({"spec":{"paused":false}})",
       ColumnCell::Kind::kBoolean,
       "false"},
      {"string prints objects as JSON",
       {"L", "string", "", "", ".spec.labels", 0},
       R"({"spec":{"labels":{"b":"2","a":"1"}}})",
       ColumnCell::Kind::kString,
       R"({"a":"1","b":"2"})"},
      {"string prints numbers as Go does",
       {"S", "string", "", "", ".spec.n", 0},
       R"({"spec":{"n":1000000.0}})",
       ColumnCell::Kind::kString,
       "1e+06"},
      {"date as an age",
       {"A", "date", "", "", ".status.since", 0},
       R"({"status":{"since":"2024-05-08T08:00:00Z"}})",
       ColumnCell::Kind::kString,
       "2d4h"},
      {"date that does not parse",
       {"A", "date", "", "", ".status.since", 0},
       R"({"status":{"since":"soon"}})",
       ColumnCell::Kind::kString,
       "<invalid>"},
      {"the zero time is unknown",
       {"A", "date", "", "", ".status.since", 0},
       R"({"status":{"since":"0001-01-01T00:00:00Z"}})",
       ColumnCell::Kind::kString,
       "<unknown>"},
      {"ages saturate like time.Since",
       {"A", "date", "", "", ".status.since", 0},
       R"({"status":{"since":"0002-01-01T00:00:00Z"}})",
       ColumnCell::Kind::kString,
       "292y"},
      {"a future date beyond two seconds",
       {"A", "date", "", "", ".status.since", 0},
       R"({"status":{"since":"2024-05-10T12:01:00Z"}})",
       ColumnCell::Kind::kString,
       "<invalid>"},
      {"null is an empty cell",
       {"A", "string", "", "", ".spec.x", 0},
       R"({"spec":{"x":null}})",
       ColumnCell::Kind::kNull,
       ""},
      {"the first match of a filter",
       {"T", "string", "", "", R"(.items[?(@.n > 1)].name)", 0},
       R"({"items":[{"n":1,"name":"a"},{"n":2,"name":"b"},{"n":3,"name":"c"}]})",
       ColumnCell::Kind::kString,
       "b"},
      {"a malformed path is an empty cell",
       {"T", "string", "", "", ".items[?(@.n", 0},
       R"({"items":[]})",
       ColumnCell::Kind::kNull,
       ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.rule);
    auto obj = fromJson(c.object);
    auto cell = evaluateColumn(c.column, obj, now);
    EXPECT_EQ(cell.kind, c.kind);
    EXPECT_EQ(cell.text(), c.text);
  }
  json::Document d;
  auto& a = d.GetAllocator();
  ColumnCell i;
  i.kind = ColumnCell::Kind::kInteger;
  i.integer = 7;
  EXPECT_EQ(json::write(i.toJson(a)), "7");
  EXPECT_TRUE(ColumnCell().toJson(a).IsNull());
}

TEST(CrdColumnsTest, EvaluatesClientGoJsonPath) {
  auto obj = fromJson(R"({"metadata":{"annotations":{"a.b/c":"v"}},"spec":{"list":[{"n":"x","v":1},{"n":"y","v":2},)"
                      R"({"n":"z","v":3}],"nested":{"deep":{"n":"w"}},"flag":true}})");
  struct PathCase {
    const char* path;
    std::vector<std::string> values;
  };
  const std::vector<PathCase> cases = {
      {".spec.flag", {"true"}},
      {"{.spec.flag}", {"true"}},
      {".spec.list[0].n", {"\"x\""}},
      {".spec.list[-1].n", {"\"z\""}},
      {".spec.list[*].v", {"1", "2", "3"}},
      {".spec.list[0:2].n", {"\"x\"", "\"y\""}},
      {".spec.list[?(@.n=='y')].v", {"2"}},
      {".spec.list[?(@.v!=2)].n", {"\"x\"", "\"z\""}},
      {".spec.list[?(@.v>=2)].n", {"\"y\"", "\"z\""}},
      {".spec.list[?(@.missing)].n", {}},
      {".spec..n", {"\"x\"", "\"y\"", "\"z\"", "\"w\""}},
      {".metadata.annotations['a.b/c']", {"\"v\""}},
      {".metadata.annotations.a\\.b/c", {"\"v\""}},
      {".spec.absent.x", {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path);
    auto r = evaluateJsonPath(obj, c.path);
    ASSERT_TRUE(r.ok()) << r.status().toString();
    std::vector<std::string> got;
    for (const auto* v : *r) got.push_back(json::write(*v));
    EXPECT_THAT(got, ElementsAreArray(c.values));
  }
  for (const char* bad : {".spec[", ".spec.list[?(@.v ==)]", ".spec.list[x]", "spec"}) {
    SCOPED_TRACE(bad);
    auto r = evaluateJsonPath(obj, bad);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(CrdColumnsTest, HumanDurationMatchesKubectlAges) {
  using std::chrono::hours;
  using std::chrono::minutes;
  using std::chrono::seconds;
  struct DurationCase {
    std::chrono::nanoseconds d;
    const char* text;
  };
  const std::vector<DurationCase> cases = {
      {seconds(-5), "<invalid>"}, {seconds(-1), "0s"},     {seconds(0), "0s"},          {seconds(59), "59s"},
      {seconds(119), "119s"},     {minutes(2), "2m"},      {seconds(330), "5m30s"},     {minutes(10), "10m"},
      {minutes(179), "179m"},     {hours(3), "3h"},        {minutes(479), "7h59m"},     {hours(8), "8h"},
      {hours(47), "47h"},         {hours(48), "2d"},       {hours(52), "2d4h"},         {hours(24 * 8), "8d"},
      {hours(24 * 729), "729d"},  {hours(24 * 730), "2y"}, {hours(24 * 830), "2y100d"}, {hours(24 * 365 * 9), "9y"},
  };
  for (const auto& c : cases) EXPECT_EQ(humanDuration(c.d), c.text) << c.d.count();
}

TEST(CrdColumnsTest, ParsesRfc3339Timestamps) {
  EXPECT_EQ(timeAt("2024-05-01T12:00:00+02:00"), timeAt("2024-05-01T10:00:00Z"));
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(timeAt("2024-05-01T10:00:00.250Z") -
                                                                  timeAt("2024-05-01T10:00:00Z"))
                .count(),
            250);
  EXPECT_EQ(Clock::to_time_t(timeAt("1970-01-02T00:00:00Z")), 86400);
  for (const char* bad :
       {"2024-05-01", "2024-13-01T00:00:00Z", "2024-02-30T00:00:00Z", "2024-05-01T10:00:00", "2024-05-01 10:00:00Z"}) {
    EXPECT_FALSE(parseRfc3339(bad).has_value()) << bad;
  }
}

TEST(CrdColumnsTest, ReadsAndWritesScalePaths) {
  auto obj = fromJson(R"({"spec":{"replicas":3},"status":"x"})");
  const json::Value* r = findSimpleJsonPath(obj, ".spec.replicas");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->GetInt64(), 3);
  EXPECT_EQ(findSimpleJsonPath(obj, ".status.replicas"), nullptr);
  json::Value five(5);
  ASSERT_TRUE(setSimpleJsonPath(obj, ".status2.nested.replicas", five, obj.GetAllocator()).isOk());
  EXPECT_EQ(json::write(obj), R"({"spec":{"replicas":3},"status":"x","status2":{"nested":{"replicas":5}}})");
  json::Value six(6);
  EXPECT_EQ(setSimpleJsonPath(obj, ".status.replicas", six, obj.GetAllocator()).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(setSimpleJsonPath(obj, "spec", six, obj.GetAllocator()).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kubeop::sandbox
