#include "kubeop/kube/managed_fields.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kubeop::kube {
namespace {

constexpr const char* kT0 = "2024-05-01T10:00:00Z";
constexpr const char* kT1 = "2024-05-01T11:00:00Z";
constexpr const char* kT2 = "2024-05-01T12:00:00Z";

json::Document parse(std::string_view text) {
  auto d = json::parse(text);
  EXPECT_TRUE(d.ok()) << d.status().toString() << " in " << text;
  return d.ok() ? std::move(d).value() : json::Document();
}

void expectJson(const json::Value& got, std::string_view want, const std::string& what) {
  json::Document w = parse(want);
  EXPECT_TRUE(got == w) << what << "\n got: " << json::write(got) << "\nwant: " << json::write(w);
}

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

const json::Value* entry(const json::Value& obj, std::string_view manager, std::string_view operation) {
  const json::Value* mf = json::findPath(obj, {"metadata", "managedFields"});
  if (!mf || !mf->IsArray()) return nullptr;
  for (const auto& e : mf->GetArray()) {
    if (json::getString(e, "manager") == manager && json::getString(e, "operation") == operation) return &e;
  }
  return nullptr;
}

// The fieldsV1 of a manager's entry, or "<none>".
std::string fieldsOf(const json::Value& obj, std::string_view manager, std::string_view operation = "Apply") {
  const json::Value* e = entry(obj, manager, operation);
  const json::Value* f = e ? json::find(*e, "fieldsV1") : nullptr;
  return f ? json::write(*f) : "<none>";
}

size_t entryCount(const json::Value& obj) {
  const json::Value* mf = json::findPath(obj, {"metadata", "managedFields"});
  return mf && mf->IsArray() ? mf->Size() : 0;
}

const PatchMeta* deployments() { return patchMetaFor("apps", "Deployment"); }

// A Deployment as an apply body, with `spec` spliced in.
std::string deployment(std::string_view spec, std::string_view metadataExtra = "") {
  return std::string(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"shop")") +
         std::string(metadataExtra) + R"(},"spec":)" + std::string(spec) + "}";
}

ApplyResult mustApply(const json::Value* live, std::string_view body, std::string_view manager, bool force = false,
                      const PatchMeta* meta = deployments(), std::string_view now = kT0,
                      const ApplyOptions& options = {}) {
  json::Document applied = parse(body);
  auto r = apply(live, applied, manager, force, meta, now, options);
  EXPECT_TRUE(r.ok()) << r.status().toString();
  return r.ok() ? std::move(r).value() : ApplyResult{};
}

json::Document mustUpdate(const json::Value* live, std::string_view body, std::string_view manager,
                          const PatchMeta* meta = deployments(), std::string_view now = kT0,
                          const ApplyOptions& options = {}) {
  json::Document updated = parse(body);
  auto r = recordUpdate(live, updated, manager, meta, now, options);
  EXPECT_TRUE(r.ok()) << r.status().toString();
  return r.ok() ? std::move(r).value() : json::Document();
}

// ---------------------------------------------------------------------------------------------
// The FieldsV1 format

TEST(ApplyTest, CreatesTheObjectAndRecordsTheAppliedFieldsInFieldsV1) {
  // fieldmanager: an Apply entry {manager, operation, apiVersion, time, fieldsType, fieldsV1};
  // structured-merge-diff ToFieldSet: struct fields through their leaves, map entries (labels)
  // and list items ("k:{...}" with ".") owned themselves; an atomic LabelSelector as one leaf;
  // ports keyed by containerPort+protocol with protocol defaulting to TCP; identity fields
  // (apiVersion, kind, metadata.name/namespace) stripped.
  auto r = mustApply(nullptr,
                     deployment(R"({"replicas":2,"selector":{"matchLabels":{"app":"web"}},
      "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"web:1",
      "ports":[{"containerPort":8080}],"env":[{"name":"A","value":"1"}]}]}}})",
                                R"(,"labels":{"app":"web"})"),
                     "kubeop");
  EXPECT_TRUE(r.changed);
  const json::Value* mf = json::findPath(r.object, {"metadata", "managedFields"});
  ASSERT_NE(mf, nullptr);
  expectJson(*mf, R"([{"manager":"kubeop","operation":"Apply","apiVersion":"apps/v1","time":"2024-05-01T10:00:00Z",
    "fieldsType":"FieldsV1","fieldsV1":{
      "f:metadata":{"f:labels":{"f:app":{}}},
      "f:spec":{"f:replicas":{},"f:selector":{},"f:template":{
        "f:metadata":{"f:labels":{"f:app":{}}},
        "f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:env":{"k:{\"name\":\"A\"}":{".":{},"f:name":{},"f:value":{}}},
          "f:image":{},"f:name":{},
          "f:ports":{"k:{\"containerPort\":8080,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}}}}])",
             "managedFields");
  // The object is the applied configuration.
  EXPECT_EQ(json::write(*json::findPath(r.object, {"spec", "replicas"})), "2");
  EXPECT_EQ(json::getString(*json::findPath(r.object, {"metadata"}), "name"), "web");
}

TEST(ApplyTest, SerializesFieldsV1KeysInStructuredMergeDiffOrder) {
  // fieldpath serialize: "." first, then path elements sorted (fields by name, keys by field list).
  auto r = mustApply(nullptr, deployment(R"({"template":{"spec":{"containers":[{"name":"b"},{"name":"a","image":"x"}]}},
                                             "paused":false})"),
                     "m");
  EXPECT_EQ(fieldsOf(r.object, "m"),
            R"({"f:spec":{"f:paused":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"a\"}":{".":{},)"
            R"("f:image":{},"f:name":{}},"k:{\"name\":\"b\"}":{".":{},"f:name":{}}}}}}})");
}

// ---------------------------------------------------------------------------------------------
// Ownership and conflicts

TEST(ApplyTest, ApplyingTheSameValueAsAnotherManagerSharesOwnership) {
  // merge.Updater: only modified or added fields conflict; an equal value is shared, no conflict.
  auto created = mustUpdate(nullptr, deployment(R"({"replicas":3})"), "kubectl-client-side-apply");
  auto r = mustApply(&created, deployment(R"({"replicas":3})"), "kubeop", false, deployments(), kT1);
  EXPECT_FALSE(r.changed);
  EXPECT_TRUE(contains(fieldsOf(r.object, "kubeop"), R"("f:replicas":{})"));
  EXPECT_TRUE(contains(fieldsOf(r.object, "kubectl-client-side-apply", "Update"), R"("f:replicas":{})"));
}

TEST(ApplyTest, ADifferentValueForAFieldAnotherManagerOwnsIsAConflict) {
  // managedfields/internal/conflict.go: one conflict reads
  // `Apply failed with 1 conflict: conflict with "<manager>" using <apiVersion>: <path>`.
  auto created = mustUpdate(nullptr, deployment(R"({"replicas":3,"paused":false})"), "kubectl-client-side-apply");
  json::Document applied = parse(deployment(R"({"replicas":5,"paused":false})"));
  std::vector<FieldConflict> conflicts;
  ApplyOptions options;
  options.conflicts = &conflicts;
  auto r = apply(&created, applied, "kubeop", false, deployments(), kT1, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kAborted);
  EXPECT_EQ(r.status().message(),
            R"(Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas)");
  ASSERT_EQ(conflicts.size(), 1u);
  EXPECT_EQ(conflicts[0].manager, "kubectl-client-side-apply");
  EXPECT_EQ(conflicts[0].message, R"(conflict with "kubectl-client-side-apply" using apps/v1)");
  EXPECT_EQ(conflicts[0].field, ".spec.replicas");
}

TEST(ApplyTest, ForceTakesOwnershipOfConflictingFields) {
  // merge.Updater.update with force: conflicting fields leave their previous owners.
  auto created = mustUpdate(nullptr, deployment(R"({"replicas":3,"paused":false})"), "kubectl-client-side-apply");
  auto r = mustApply(&created, deployment(R"({"replicas":5})"), "kubeop", /*force=*/true, deployments(), kT1);
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(json::write(*json::findPath(r.object, {"spec", "replicas"})), "5");
  std::string kubectl = fieldsOf(r.object, "kubectl-client-side-apply", "Update");
  EXPECT_FALSE(contains(kubectl, "f:replicas")) << kubectl;
  EXPECT_TRUE(contains(kubectl, "f:paused")) << kubectl;
  EXPECT_TRUE(contains(fieldsOf(r.object, "kubeop"), "f:replicas"));
  // And now the forced value is kubeop's: the other manager's next update takes it back silently.
  auto edited = mustUpdate(&r.object, deployment(R"({"replicas":7,"paused":false})"), "kubectl-edit",
                           deployments(), kT2);
  EXPECT_FALSE(contains(fieldsOf(edited, "kubeop"), "f:replicas"));
}

TEST(ApplyTest, TwoAppliersConflictAndAppliersArePrintedWithoutAVersion) {
  // printManager: Apply managers print as their quoted name only.
  auto first = mustApply(nullptr, deployment(R"({"replicas":2})"), "team-a");
  json::Document applied = parse(deployment(R"({"replicas":3})"));
  auto r = apply(&first.object, applied, "team-b", false, deployments(), kT1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), R"(Apply failed with 1 conflict: conflict with "team-a": .spec.replicas)");
}

TEST(ApplyTest, ListsEveryConflictGroupedBySortedManager) {
  // conflict.go getConflictMessage: N conflicts, grouped per manager in sorted order, each path
  // on its own "- " line, paths in field-set order.
  auto a = mustApply(nullptr, deployment(R"({"replicas":2})"), "a");
  auto b = mustUpdate(&a.object, deployment(R"({"replicas":2,"paused":false})", R"(,"labels":{"x":"1"})"), "b",
                      deployments(), kT1);
  json::Document applied = parse(deployment(R"({"replicas":4,"paused":true})", R"(,"labels":{"x":"2"})"));
  auto r = apply(&b, applied, "c", false, deployments(), kT2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "Apply failed with 3 conflicts: conflicts with \"a\":\n- .spec.replicas\n"
            "conflicts with \"b\" using apps/v1:\n- .metadata.labels.x\n- .spec.paused");
}

TEST(ApplyTest, AnUpdateTakesFieldsFromAppliersAndTheirNextApplyConflicts) {
  // Update operations force: the updater owns what it changed; the applier must force or agree.
  auto a = mustApply(nullptr, deployment(R"({"replicas":2})"), "kubeop");
  auto scaled = mustUpdate(&a.object, deployment(R"({"replicas":9})"), "kubectl-scale", deployments(), kT1);
  EXPECT_FALSE(contains(fieldsOf(scaled, "kubeop"), "f:replicas"));
  EXPECT_TRUE(contains(fieldsOf(scaled, "kubectl-scale", "Update"), "f:replicas"));
  json::Document again = parse(deployment(R"({"replicas":2})"));
  auto r = apply(&scaled, again, "kubeop", false, deployments(), kT2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            R"(Apply failed with 1 conflict: conflict with "kubectl-scale" using apps/v1: .spec.replicas)");
}

TEST(ApplyTest, AttributesAnUntrackedLiveObjectToBeforeFirstApply) {
  // skipNonAppliedManager: a live object without managedFields is first recorded as an Update by
  // "before-first-apply", so applying other values conflicts.
  json::Document live = parse(deployment(R"({"replicas":1})"));
  json::Document applied = parse(deployment(R"({"replicas":2})"));
  auto r = apply(&live, applied, "kubeop", false, deployments(), kT1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            R"(Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas)");
  auto same = mustApply(&live, deployment(R"({"replicas":1})"), "kubeop", false, deployments(), kT1);
  EXPECT_TRUE(contains(fieldsOf(same.object, "before-first-apply", "Update"), "f:replicas"));
}

// ---------------------------------------------------------------------------------------------
// Pruning what a manager stops applying

TEST(ApplyTest, RemovesFieldsAManagerStopsApplyingUnlessAnotherManagerOwnsThem) {
  // merge.Updater.prune: a field goes iff the applier applied it last time, not this time, and
  // nobody else owns it.
  auto first = mustApply(nullptr, deployment(R"({"replicas":2,"paused":true})", R"(,"labels":{"a":"1","b":"2"})"),
                         "kubeop");
  auto second = mustApply(&first.object, deployment(R"({"replicas":2})", R"(,"labels":{"a":"1"})"), "kubeop", false,
                          deployments(), kT1);
  EXPECT_EQ(json::findPath(second.object, {"spec", "paused"}), nullptr);
  EXPECT_EQ(json::findPath(second.object, {"metadata", "labels", "b"}), nullptr);
  EXPECT_NE(json::findPath(second.object, {"metadata", "labels", "a"}), nullptr);

  // Another manager shares label c and sets label d: dropping c from kubeop's config keeps it.
  auto shared = mustApply(&second.object, deployment(R"({"replicas":2})", R"(,"labels":{"a":"1","c":"3"})"), "kubeop",
                          false, deployments(), kT1);
  auto other = mustUpdate(&shared.object, deployment(R"({"replicas":2})", R"(,"labels":{"a":"1","c":"3","d":"4"})"),
                          "labeler", deployments(), kT1);
  auto third = mustApply(&other, deployment(R"({"replicas":2})"), "kubeop", false, deployments(), kT2);
  const json::Value* labels = json::findPath(third.object, {"metadata", "labels"});
  ASSERT_NE(labels, nullptr);
  expectJson(*labels, R"({"d":"4"})", "only the labeler's label survives");
}

TEST(ApplyTest, SharedOwnershipKeepsAFieldWhenOneOwnerStopsApplyingIt) {
  // merge.Updater.prune + addBackOwnedItems: a co-owned field survives one owner dropping it.
  auto a = mustApply(nullptr, deployment(R"({"replicas":2})"), "a");
  auto b = mustApply(&a.object, deployment(R"({"replicas":2})"), "b", false, deployments(), kT1);
  auto aDrops = mustApply(&b.object, deployment(R"({"paused":false})"), "a", false, deployments(), kT2);
  EXPECT_NE(json::findPath(aDrops.object, {"spec", "replicas"}), nullptr);
  EXPECT_FALSE(contains(fieldsOf(aDrops.object, "a"), "f:replicas"));
  EXPECT_TRUE(contains(fieldsOf(aDrops.object, "b"), "f:replicas"));
}

// ---------------------------------------------------------------------------------------------
// Associative lists, sets and granular maps

TEST(ApplyTest, MergesAssociativeListsItemByItem) {
  // +listType=map +listMapKey=name: each manager owns its own containers.
  auto a = mustApply(nullptr, deployment(R"({"template":{"spec":{"containers":[{"name":"app","image":"app:1"}]}}})"),
                     "app-team");
  auto b = mustApply(&a.object,
                     deployment(R"({"template":{"spec":{"containers":[{"name":"proxy","image":"envoy:1"}]}}})"),
                     "mesh", false, deployments(), kT1);
  const json::Value* containers = json::findPath(b.object, {"spec", "template", "spec", "containers"});
  ASSERT_NE(containers, nullptr);
  expectJson(*containers, R"([{"name":"app","image":"app:1"},{"name":"proxy","image":"envoy:1"}])", "both kept");

  // The app team updates its image; the proxy stays.
  auto c = mustApply(&b.object, deployment(R"({"template":{"spec":{"containers":[{"name":"app","image":"app:2"}]}}})"),
                     "app-team", false, deployments(), kT2);
  containers = json::findPath(c.object, {"spec", "template", "spec", "containers"});
  expectJson(*containers, R"([{"name":"app","image":"app:2"},{"name":"proxy","image":"envoy:1"}])", "app updated");

  // Touching the other team's container with another value conflicts on that item's field.
  json::Document steal = parse(deployment(R"({"template":{"spec":{"containers":[{"name":"proxy","image":"envoy:2"}]}}})"));
  auto r = apply(&c.object, steal, "app-team", false, deployments(), kT2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "Apply failed with 1 conflict: conflict with \"mesh\": "
                                  ".spec.template.spec.containers[name=\"proxy\"].image");

  // The app team stops applying containers: its container goes, the mesh's stays.
  auto d = mustApply(&c.object, deployment(R"({"replicas":1})"), "app-team", false, deployments(), kT2);
  containers = json::findPath(d.object, {"spec", "template", "spec", "containers"});
  ASSERT_NE(containers, nullptr);
  expectJson(*containers, R"([{"name":"proxy","image":"envoy:1"}])", "app container pruned");
}

TEST(ApplyTest, KeysPortsByContainerPortAndProtocolWithTheSchemaDefault) {
  // core/v1 ContainerPort: +listMapKey=containerPort +listMapKey=protocol, protocol defaults TCP.
  auto r = mustApply(nullptr, deployment(R"({"template":{"spec":{"containers":[{"name":"dns","ports":[
      {"containerPort":53,"protocol":"UDP"},{"containerPort":53}]}]}}})"),
                     "kubeop");
  std::string f = fieldsOf(r.object, "kubeop");
  EXPECT_TRUE(contains(f, R"(k:{\"containerPort\":53,\"protocol\":\"TCP\"})")) << f;
  EXPECT_TRUE(contains(f, R"(k:{\"containerPort\":53,\"protocol\":\"UDP\"})")) << f;
  json::Document dup = parse(deployment(R"({"template":{"spec":{"containers":[{"name":"dns","ports":[
      {"containerPort":53,"protocol":"TCP"},{"containerPort":53}]}]}}})"));
  auto bad = apply(nullptr, dup, "kubeop", false, deployments(), kT0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(contains(bad.status().message(), "duplicate entries for key [containerPort=53,protocol=\"TCP\"]"))
      << bad.status().message();
}

TEST(ApplyTest, OwnsSetItemsOneByOne) {
  // metav1 ObjectMeta.finalizers: +listType=set, items "v:<value>".
  auto a = mustApply(nullptr, deployment("{}", R"(,"finalizers":["a.io/x"])"), "a");
  auto b = mustApply(&a.object, deployment("{}", R"(,"finalizers":["b.io/y"])"), "b", false, deployments(), kT1);
  const json::Value* f = json::findPath(b.object, {"metadata", "finalizers"});
  ASSERT_NE(f, nullptr);
  expectJson(*f, R"(["a.io/x","b.io/y"])", "union of both appliers' finalizers");
  EXPECT_TRUE(contains(fieldsOf(b.object, "b"), R"("v:\"b.io/y\"":{})")) << fieldsOf(b.object, "b");
  auto aDrops = mustApply(&b.object, deployment("{}"), "a", false, deployments(), kT2);
  expectJson(*json::findPath(aDrops.object, {"metadata", "finalizers"}), R"(["b.io/y"])", "a's finalizer pruned");
}

TEST(ApplyTest, TreatsLabelsAndAnnotationsAsGranularMaps) {
  // metadata.labels/annotations are map[string]string: each key has its own owner.
  auto a = mustApply(nullptr, deployment("{}", R"(,"labels":{"x":"1"},"annotations":{"n":"1"})"), "a");
  auto b = mustApply(&a.object, deployment("{}", R"(,"labels":{"y":"2"},"annotations":{"m":"2"})"), "b", false,
                     deployments(), kT1);
  expectJson(*json::findPath(b.object, {"metadata", "labels"}), R"({"x":"1","y":"2"})", "labels merged");
  expectJson(*json::findPath(b.object, {"metadata", "annotations"}), R"({"n":"1","m":"2"})", "annotations merged");
}

TEST(ApplyTest, OwnsAtomicFieldsWhole) {
  // LabelSelector is +structType=atomic and tolerations +listType=atomic: one leaf each.
  auto a = mustApply(nullptr, deployment(R"({"selector":{"matchLabels":{"app":"a"}},
      "template":{"spec":{"tolerations":[{"key":"k"}]}}})"),
                     "a");
  json::Document b = parse(deployment(R"({"selector":{"matchLabels":{"app":"a","tier":"x"}}})"));
  auto r = apply(&a.object, b, "b", false, deployments(), kT1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "Apply failed with 1 conflict: conflict with \"a\": .spec.selector");
  auto forced = mustApply(&a.object, deployment(R"({"selector":{"matchLabels":{"tier":"x"}}})"), "b", true,
                          deployments(), kT1);
  expectJson(*json::findPath(forced.object, {"spec", "selector"}), R"({"matchLabels":{"tier":"x"}})",
             "an atomic value is replaced, not merged");
  EXPECT_TRUE(contains(fieldsOf(a.object, "a"), R"("f:tolerations":{})"));
}

TEST(ApplyTest, TreatsCustomResourceListsAsAtomic) {
  // A kind without a table (meta == nullptr): lists atomic, objects structs, metadata as usual.
  const char* body = R"({"apiVersion":"paas.kubeop.io/v1","kind":"App","metadata":{"name":"x","labels":{"a":"1"}},
                         "spec":{"domains":["a.example"],"size":{"cpu":1}}})";
  auto a = mustApply(nullptr, body, "kubeop", false, nullptr);
  EXPECT_EQ(fieldsOf(a.object, "kubeop"),
            R"({"f:metadata":{"f:labels":{"f:a":{}}},"f:spec":{"f:domains":{},"f:size":{"f:cpu":{}}}})");
  json::Document other = parse(R"({"apiVersion":"paas.kubeop.io/v1","kind":"App","metadata":{"name":"x"},
                                   "spec":{"domains":["a.example","b.example"]}})");
  auto r = apply(&a.object, other, "someone", false, nullptr, kT1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "Apply failed with 1 conflict: conflict with \"kubeop\": .spec.domains");
}

// ---------------------------------------------------------------------------------------------
// Status, subresources and request validation

TEST(ApplyTest, IgnoresStatusOnTheMainResourceAndSpecOnTheStatusSubresource) {
  // Strategy reset fields: the main resource resets status, the status subresource resets spec.
  json::Document live = parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web",
      "managedFields":[{"manager":"kube-controller-manager","operation":"Update","apiVersion":"apps/v1",
      "time":"2024-05-01T09:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:status":{"f:replicas":{}}},
      "subresource":"status"}]},"spec":{"replicas":1},"status":{"replicas":1}})");
  json::Document withStatus =
      parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":1},
                "status":{"replicas":7}})");
  auto r = apply(&live, withStatus, "kubeop", false, deployments(), kT1);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(json::write(*json::findPath(r->object, {"status", "replicas"})), "1");
  EXPECT_FALSE(contains(fieldsOf(r->object, "kubeop"), "f:status"));

  ApplyOptions status;
  status.subresource = Subresource::kStatus;
  json::Document statusBody =
      parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":5},
                "status":{"replicas":2}})");
  auto s = apply(&live, statusBody, "my-controller", false, deployments(), kT1, status);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "Apply failed with 1 conflict: conflict with \"kube-controller-manager\" with "
                                  "subresource \"status\" using apps/v1: .status.replicas");
  auto forced = apply(&live, statusBody, "my-controller", true, deployments(), kT1, status);
  ASSERT_TRUE(forced.ok()) << forced.status().toString();
  EXPECT_EQ(json::write(*json::findPath(forced->object, {"spec", "replicas"})), "1");
  EXPECT_EQ(json::write(*json::findPath(forced->object, {"status", "replicas"})), "2");
  const json::Value* e = entry(forced->object, "my-controller", "Apply");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(json::getString(*e, "subresource"), "status");
}

TEST(ApplyTest, TreatsStatusAsAnOrdinaryFieldWithoutAStatusSubresource) {
  // apiextensions: a custom resource without the status subresource has no reset fields.
  ApplyOptions plain;
  plain.hasStatusSubresource = false;
  json::Document body = parse(R"({"apiVersion":"x.io/v1","kind":"Thing","metadata":{"name":"t"},"status":{"ok":true}})");
  auto r = apply(nullptr, body, "m", false, nullptr, kT0, plain);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_NE(json::findPath(r->object, {"status", "ok"}), nullptr);
  EXPECT_TRUE(contains(fieldsOf(r->object, "m"), "f:status"));
}

TEST(ApplyTest, RejectsMalformedApplyBodies) {
  struct Case {
    const char* rule;
    const char* body;
    const char* message;
  } cases[] = {
      {"an apply body is an object", "[1]", "an apply patch must be an object, got array"},
      {"apply needs apiVersion and kind", R"({"metadata":{"name":"x"}})", "must set apiVersion and kind"},
      {"structuredmerge.go: managedFields may not be applied",
       R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","managedFields":[]}})",
       "metadata.managedFields must be nil"},
      {"typed: associative list items need their keys",
       R"({"apiVersion":"apps/v1","kind":"Deployment","spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}})",
       "associative list with keys has an element that omits all key fields [name]"},
      {"typed: duplicate keys in an applied list",
       R"({"apiVersion":"apps/v1","kind":"Deployment","spec":{"template":{"spec":{"containers":[{"name":"a"},{"name":"a"}]}}}})",
       ".spec.template.spec.containers[name=\"a\"]: duplicate entries for key [name=\"a\"]"},
  };
  for (const auto& c : cases) {
    json::Document body = parse(c.body);
    auto r = apply(nullptr, body, "m", false, deployments(), kT0);
    ASSERT_FALSE(r.ok()) << c.rule;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.rule;
    EXPECT_TRUE(contains(r.status().message(), c.message)) << c.rule << ": " << r.status().message();
  }
  json::Document live = parse(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x",
      "managedFields":[{"manager":"m","operation":"Patch","apiVersion":"v1","fieldsType":"FieldsV1"}]}})");
  json::Document body = parse(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}})");
  auto r = apply(&live, body, "m", false, patchMetaFor("", "ConfigMap"), kT0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
  EXPECT_TRUE(contains(r.status().message(), "failed to decode managed fields")) << r.status().message();
}

TEST(ApplyTest, NeverAssertsOnMistypedObjectsOrManagedFields) {
  // Mistyped live objects, bodies and managedFields are values or errors, never assertions.
  const char* lives[] = {
      R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":"x","finalizers":[{}]},
          "spec":{"template":{"spec":{"containers":"x"}}}})",
      R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"managedFields":[{"manager":"m","operation":"Update",
          "apiVersion":"apps/v1","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"k:{bad":{}}}}]}})",
      R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"managedFields":[{"manager":"m","operation":"Update",
          "apiVersion":"apps/v1","fieldsType":"FieldsV1","fieldsV1":{"f:spec":[],"i:x":{},"z:future":{}}}]}})",
      R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"managedFields":"nope"},"spec":[1]})",
      R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"managedFields":[{"manager":"m","operation":"Update",
          "apiVersion":"apps/v1","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"v:[1,{}]":{},"i:3":{}}}}]},"spec":{}})",
  };
  const char* bodies[] = {
      R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"labels":{"a":null}},"spec":{"template":{"spec":
          {"containers":[{"name":"a","ports":[{"protocol":"UDP"}],"env":[{"name":null}]}]}}}})",
      R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"finalizers":[{"a":1}]},"spec":{"selector":[]}})",
      R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":5,"spec":{"template":{"spec":{"containers":[null]}}}})",
      R"({"apiVersion":"apps/v1","kind":"Deployment","status":{"x":1},"spec":{"template":"x"}})",
  };
  for (const char* l : lives) {
    json::Document live = parse(l);
    for (const char* b : bodies) {
      json::Document body = parse(b);
      auto r = apply(&live, body, "m", true, deployments(), kT0);
      if (!r.ok()) {
        EXPECT_TRUE(r.status().code() == StatusCode::kInvalidArgument || r.status().code() == StatusCode::kInternal)
            << r.status().toString();
      }
      EXPECT_TRUE(recordUpdate(&live, body, "u", deployments(), kT0).ok()) << l << " + " << b;
    }
  }
}

TEST(ApplyTest, ANoOpApplyReportsNoChangeAndKeepsTheEntryTime) {
  // managedFieldsUpdater: the applier's time moves only when the object changed.
  auto a = mustApply(nullptr, deployment(R"({"replicas":2})"), "kubeop", false, deployments(), kT0);
  auto again = mustApply(&a.object, deployment(R"({"replicas":2})"), "kubeop", false, deployments(), kT1);
  EXPECT_FALSE(again.changed);
  EXPECT_EQ(json::getString(*entry(again.object, "kubeop", "Apply"), "time"), kT0);
  auto changed = mustApply(&again.object, deployment(R"({"replicas":3})"), "kubeop", false, deployments(), kT2);
  EXPECT_TRUE(changed.changed);
  EXPECT_EQ(json::getString(*entry(changed.object, "kubeop", "Apply"), "time"), kT2);
}

TEST(ApplyTest, NullInAnAppliedConfigUnsetsTheFieldAndKeepsIdentityFields) {
  // typed merge keeps the applied null, which the typed object drops: the field is unset. The
  // apiserver restores identity metadata (creationTimestamp: null from kubectl) from the live object.
  auto a = mustApply(nullptr, deployment(R"({"replicas":2,"paused":true})"), "kubeop");
  json::Value& md = a.object["metadata"];
  json::setString(md, "uid", "u-1", a.object.GetAllocator());
  json::setString(md, "creationTimestamp", kT0, a.object.GetAllocator());
  auto b = mustApply(&a.object, deployment(R"({"replicas":2,"paused":null})", R"(,"creationTimestamp":null)"),
                     "kubeop", false, deployments(), kT1);
  EXPECT_EQ(json::findPath(b.object, {"spec", "paused"}), nullptr);
  EXPECT_EQ(json::getString(*json::findPath(b.object, {"metadata"}), "creationTimestamp"), kT0);
  EXPECT_EQ(json::getString(*json::findPath(b.object, {"metadata"}), "uid"), "u-1");

  // Unsetting a field another manager owns is a change to it: a conflict.
  auto owned = mustUpdate(&b.object, deployment(R"({"replicas":2,"paused":true})"), "kubectl-edit", deployments(),
                          kT1);
  json::Document unset = parse(deployment(R"({"replicas":2,"paused":null})"));
  auto r = apply(&owned, unset, "kubeop", false, deployments(), kT2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            R"(Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.paused)");
}

// ---------------------------------------------------------------------------------------------
// Updates (create, update, non-apply patches)

TEST(RecordUpdateTest, CreateRecordsAnUpdateEntryOwningEveryField) {
  // typed.Compare: a map added by the write is owned itself too ("." under f:labels).
  auto created = mustUpdate(nullptr, R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c",
      "labels":{"app":"web"}},"data":{"k":"v"}})",
                            "kubectl-create", patchMetaFor("", "ConfigMap"));
  const json::Value* mf = json::findPath(created, {"metadata", "managedFields"});
  ASSERT_NE(mf, nullptr);
  expectJson(*mf, R"([{"manager":"kubectl-create","operation":"Update","apiVersion":"v1","time":"2024-05-01T10:00:00Z",
      "fieldsType":"FieldsV1","fieldsV1":{"f:data":{".":{},"f:k":{}},"f:metadata":{"f:labels":{".":{},"f:app":{}}}}}])",
             "create");
}

TEST(RecordUpdateTest, OwnsOnlyWhatAWriteChangedAndDropsRemovedFieldsFromEveryone) {
  auto a = mustApply(nullptr, deployment(R"({"replicas":2,"paused":false})", R"(,"labels":{"a":"1"})"), "kubeop");
  auto u = mustUpdate(&a.object, deployment(R"({"replicas":2})", R"(,"labels":{"a":"1","b":"2"})"), "labeler",
                      deployments(), kT1);
  EXPECT_EQ(fieldsOf(u, "labeler", "Update"), R"({"f:metadata":{"f:labels":{"f:b":{}}}})");
  // paused was removed by the update: kubeop no longer owns it.
  EXPECT_FALSE(contains(fieldsOf(u, "kubeop"), "f:paused")) << fieldsOf(u, "kubeop");
  EXPECT_TRUE(contains(fieldsOf(u, "kubeop"), "f:replicas"));
  // A write that changes nothing adds no entry and keeps times.
  auto same = mustUpdate(&u, deployment(R"({"replicas":2})", R"(,"labels":{"a":"1","b":"2"})"), "noop",
                         deployments(), kT2);
  EXPECT_EQ(entry(same, "noop", "Update"), nullptr);
  EXPECT_EQ(json::getString(*entry(same, "labeler", "Update"), "time"), kT1);
}

TEST(RecordUpdateTest, HonoursManagedFieldsSentInTheRequestAndTheirReset) {
  // FieldManager.decodeLiveOrNew: valid request managedFields win; [] resets tracking.
  auto a = mustApply(nullptr, deployment(R"({"replicas":2})"), "kubeop");
  json::Document reset = parse(deployment(R"({"replicas":2})", R"(,"managedFields":[])"));
  auto cleared = recordUpdate(&a.object, reset, "kubectl-edit", deployments(), kT1);
  ASSERT_TRUE(cleared.ok());
  EXPECT_EQ(json::findPath(*cleared, {"metadata", "managedFields"}), nullptr);
  // An existing object nobody tracks stays untracked by updates (skipNonAppliedManager).
  auto untracked = mustUpdate(&*cleared, deployment(R"({"replicas":4})"), "kubectl-edit", deployments(), kT2);
  EXPECT_EQ(json::findPath(untracked, {"metadata", "managedFields"}), nullptr);
  // Request managedFields replace the live ones.
  json::Document replaced = parse(deployment(R"({"replicas":2})", R"(,"managedFields":[{"manager":"x",
      "operation":"Update","apiVersion":"apps/v1","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:replicas":{}}}}])"));
  auto r = recordUpdate(&a.object, replaced, "kubectl-edit", deployments(), kT1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(entry(*r, "kubeop", "Apply"), nullptr);
  EXPECT_NE(entry(*r, "x", "Update"), nullptr);
}

TEST(RecordUpdateTest, KeepsAtMostTenUpdateManagersFoldingTheOldestIntoAncientChanges) {
  // capManagersManager: DefaultMaxUpdateManagers = 10; the oldest entries of an apiVersion fold
  // into "ancient-changes".
  json::Document obj = mustUpdate(nullptr, deployment(R"({"replicas":0})"), "m00", deployments(), "2024-05-01T00:00:00Z");
  std::string labels;
  for (int i = 1; i <= 11; ++i) {
    std::string n = (i < 10 ? "0" : "") + std::to_string(i);
    labels += std::string(i > 1 ? "," : "") + R"("l)" + n + R"(":"x")";
    obj = mustUpdate(&obj, deployment(R"({"replicas":0})", R"(,"labels":{)" + labels + "}"), "m" + n, deployments(),
                     "2024-05-01T00:00:" + n + "Z");
  }
  EXPECT_EQ(entryCount(obj), 10u);
  EXPECT_EQ(fieldsOf(obj, "ancient-changes", "Update"),
            R"({"f:metadata":{"f:labels":{".":{},"f:l01":{},"f:l02":{}}},"f:spec":{".":{},"f:replicas":{}}})");
  EXPECT_EQ(entry(obj, "m00", "Update"), nullptr);
  EXPECT_EQ(entry(obj, "m02", "Update"), nullptr);
  EXPECT_EQ(fieldsOf(obj, "m11", "Update"), R"({"f:metadata":{"f:labels":{"f:l11":{}}}})");
}

TEST(RecordUpdateTest, NeverFailsAWriteOverBookkeeping) {
  // FieldManager.UpdateNoErrors: when ownership cannot be computed (a container without its
  // name key), the live managedFields carry over and the write goes on to validation.
  auto a = mustApply(nullptr, deployment(R"({"template":{"spec":{"containers":[{"name":"a"}]}}})"), "kubeop");
  json::Document broken = parse(deployment(R"({"template":{"spec":{"containers":[{"image":"x"}]}}})"));
  auto r = recordUpdate(&a.object, broken, "kubectl-edit", deployments(), kT1);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_NE(entry(*r, "kubeop", "Apply"), nullptr);
  EXPECT_EQ(entry(*r, "kubectl-edit", "Update"), nullptr);
  json::Document notAnObject = parse("[]");
  EXPECT_FALSE(recordUpdate(&a.object, notAnObject, "m", deployments(), kT1).ok());
}

TEST(RecordUpdateTest, RecordsStatusWritesAsTheStatusSubresource) {
  // buildManagerInfoManager: entries of subresource writes carry "subresource"; status strategies
  // reset spec, so a status write owns only status fields.
  ApplyOptions status;
  status.subresource = Subresource::kStatus;
  auto a = mustApply(nullptr, deployment(R"({"replicas":2})"), "kubeop");
  auto s = mustUpdate(&a.object, R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web",
      "namespace":"shop"},"spec":{"replicas":2},"status":{"readyReplicas":2}})",
                      "kube-controller-manager", deployments(), kT1, status);
  const json::Value* e = entry(s, "kube-controller-manager", "Update");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(json::getString(*e, "subresource"), "status");
  EXPECT_EQ(fieldsOf(s, "kube-controller-manager", "Update"), R"({"f:status":{".":{},"f:readyReplicas":{}}})");
}

TEST(ApplyTest, HandlesHundredsOfListItemsQuickly) {
  // Indexes keyed by path element keep merge, compare and prune near-linear.
  std::string containers;
  for (int i = 0; i < 400; ++i) {
    containers += std::string(i ? "," : "") + R"({"name":"c)" + std::to_string(i) + R"(","image":"x","env":[{"name":"A","value":"1"}]})";
  }
  auto a = mustApply(nullptr, deployment(R"({"template":{"spec":{"containers":[)" + containers + "]}}}"), "kubeop");
  auto b = mustApply(&a.object, deployment(R"({"template":{"spec":{"containers":[)" + containers + "]}}}"), "other",
                     false, deployments(), kT1);
  auto c = mustApply(&b.object, deployment(R"({"replicas":1})"), "kubeop", false, deployments(), kT2);
  EXPECT_EQ(json::findPath(c.object, {"spec", "template", "spec", "containers"})->Size(), 400u);
}

}  // namespace
}  // namespace kubeop::kube
