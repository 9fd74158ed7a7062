#include "kubeop/kube/patch.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kubeop::kube {
namespace {

json::Document parse(std::string_view text) {
  auto d = json::parse(text);
  EXPECT_TRUE(d.ok()) << d.status().toString() << " in " << text;
  return d.ok() ? std::move(d).value() : json::Document();
}

// Compares as JSON values (member order aside), printing both on failure.
void expectJson(const json::Value& got, std::string_view want, const std::string& rule) {
  json::Document w = parse(want);
  EXPECT_TRUE(got == w) << rule << "\n got: " << json::write(got) << "\nwant: " << json::write(w);
}

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

// ---------------------------------------------------------------------------------------------
// JSON Patch

struct PatchCase {
  const char* rule;  // the upstream rule the case pins
  const char* doc;
  const char* patch;
  const char* want;
};

TEST(JsonPatchTest, AppliesEveryOperationAsRfc6902Specifies) {
  const PatchCase cases[] = {
      {"RFC 6902 A.1: add an object member", R"({"foo":"bar"})", R"([{"op":"add","path":"/baz","value":"qux"}])",
       R"({"baz":"qux","foo":"bar"})"},
      {"RFC 6902 A.2: add inserts before the array index", R"({"foo":["bar","baz"]})",
       R"([{"op":"add","path":"/foo/1","value":"qux"}])", R"({"foo":["bar","qux","baz"]})"},
      {"RFC 6902 4.1: add at index == length appends", R"({"foo":["a"]})", R"([{"op":"add","path":"/foo/1","value":"b"}])",
       R"({"foo":["a","b"]})"},
      {"RFC 6902 4.1: '-' appends to an array", R"({"foo":[1,2]})", R"([{"op":"add","path":"/foo/-","value":3}])",
       R"({"foo":[1,2,3]})"},
      {"RFC 6902 4.1: add replaces an existing member", R"({"a":1})", R"([{"op":"add","path":"/a","value":{"b":2}}])",
       R"({"a":{"b":2}})"},
      {"RFC 6902 A.3: remove an object member", R"({"baz":"qux","foo":"bar"})", R"([{"op":"remove","path":"/baz"}])",
       R"({"foo":"bar"})"},
      {"RFC 6902 A.4: remove shifts later array elements", R"({"foo":["bar","qux","baz"]})",
       R"([{"op":"remove","path":"/foo/1"}])", R"({"foo":["bar","baz"]})"},
      {"RFC 6902 A.5: replace a value", R"({"baz":"qux","foo":"bar"})",
       R"([{"op":"replace","path":"/baz","value":"boo"}])", R"({"baz":"boo","foo":"bar"})"},
      {"RFC 6902 A.6: move a value", R"({"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}})",
       R"([{"op":"move","from":"/foo/waldo","path":"/qux/thud"}])",
       R"({"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}})"},
      {"RFC 6902 A.7: move an array element", R"({"foo":["all","grass","cows","eat"]})",
       R"([{"op":"move","from":"/foo/1","path":"/foo/3"}])", R"({"foo":["all","cows","eat","grass"]})"},
      {"RFC 6902 4.5: copy a value", R"({"a":{"b":[1]}})", R"([{"op":"copy","from":"/a/b","path":"/c"}])",
       R"({"a":{"b":[1]},"c":[1]})"},
      {"RFC 6902 A.8: a passing test changes nothing", R"({"baz":"qux","foo":["a",2,"c"]})",
       R"([{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}])",
       R"({"baz":"qux","foo":["a",2,"c"]})"},
      {"RFC 6902 4.6: numbers are equal when numerically equal", R"({"n":1})",
       R"([{"op":"test","path":"/n","value":1.0}])", R"({"n":1})"},
      {"RFC 6902 A.10: add a nested member object", R"({"foo":"bar"})",
       R"([{"op":"add","path":"/child","value":{"grandchild":{}}}])", R"({"foo":"bar","child":{"grandchild":{}}})"},
      {"RFC 6901: ~1 decodes to '/' (annotation keys with slashes)", R"({"metadata":{"annotations":{}}})",
       R"([{"op":"add","path":"/metadata/annotations/example.com~1team","value":"x"}])",
       R"({"metadata":{"annotations":{"example.com/team":"x"}}})"},
      {"RFC 6901: ~0 decodes to '~'", R"({"a~b":1})", R"([{"op":"replace","path":"/a~0b","value":2}])",
       R"({"a~b":2})"},
      {"RFC 6901: the empty pointer is the whole document", R"({"a":1})", R"([{"op":"replace","path":"","value":[1]}])",
       R"([1])"},
      {"RFC 6902 5: operations apply in order on the running result", R"({"replicas":1})",
       R"([{"op":"test","path":"/replicas","value":1},{"op":"replace","path":"/replicas","value":3},
           {"op":"test","path":"/replicas","value":3}])",
       R"({"replicas":3})"},
  };
  for (const auto& c : cases) {
    json::Document doc = parse(c.doc);
    json::Document patch = parse(c.patch);
    auto out = jsonPatch(doc, patch);
    ASSERT_TRUE(out.ok()) << c.rule << ": " << out.status().toString();
    expectJson(*out, c.want, c.rule);
  }
}

struct ErrorCase {
  const char* rule;
  const char* doc;
  const char* patch;
  const char* message;  // a part of the expected message
};

TEST(JsonPatchTest, RejectsMalformedPatchesAndFailedTestsNamingTheOperation) {
  const ErrorCase cases[] = {
      {"a JSON patch is an array", R"({})", R"({"op":"add"})", "must be a JSON array of operations, got object"},
      {"each operation is an object", R"({})", R"([1])", "json patch operation 0: an operation must be an object"},
      {"op is required", R"({})", R"([{"path":"/a"}])", "json patch operation 0: missing \"op\""},
      {"unknown ops are errors", R"({})", R"([{"op":"frobnicate","path":"/a"}])", "unknown op \"frobnicate\""},
      {"path is required", R"({})", R"([{"op":"remove"}])", "missing \"path\""},
      {"add needs a value", R"({})", R"([{"op":"add","path":"/a"}])", "(add \"/a\"): missing \"value\""},
      {"move needs from", R"({"a":1})", R"([{"op":"move","path":"/b"}])", "missing \"from\""},
      {"RFC 6901: pointers start with '/'", R"({"spec":{}})", R"([{"op":"add","path":"spec","value":1}])",
       "must be empty or start with '/'"},
      {"RFC 6901: '~' must be followed by 0 or 1", R"({})", R"([{"op":"add","path":"/a~2","value":1}])",
       "invalid escape in JSON pointer"},
      {"RFC 6902 4.2: remove needs an existing target", R"({"spec":{}})",
       R"([{"op":"test","path":"/spec","value":{}},{"op":"remove","path":"/spec/missing"}])",
       "json patch operation 1 (remove \"/spec/missing\"): path not found"},
      {"RFC 6902 4.3: replace needs an existing target", R"({})", R"([{"op":"replace","path":"/a","value":1}])",
       "path not found"},
      {"RFC 6902 4.1: add needs an existing parent", R"({})", R"([{"op":"add","path":"/a/b","value":1}])",
       "path not found: no member \"a\""},
      {"RFC 6902 4.1: an index past the end is an error", R"({"items":[1]})",
       R"([{"op":"add","path":"/items/5","value":1}])", "index 5 is out of range"},
      {"RFC 6901: array indexes have no leading zeros", R"({"items":[1,2]})", R"([{"op":"remove","path":"/items/01"}])",
       "invalid array index \"01\""},
      {"RFC 6902 4.2: '-' names no element to remove", R"({"items":[1]})", R"([{"op":"remove","path":"/items/-"}])",
       "invalid array index \"-\""},
      {"RFC 6902 4.4: from must not be a prefix of path", R"({"a":{"b":1}})",
       R"([{"op":"move","from":"/a","path":"/a/b/c"}])", "into one of its own children"},
      {"RFC 6902 4.6: a failed test fails the whole patch", R"({"spec":{"replicas":3}})",
       R"([{"op":"replace","path":"/spec/replicas","value":4},{"op":"test","path":"/spec/replicas","value":5}])",
       "json patch operation 1 (test \"/spec/replicas\"): test failed: the value is 4, expected 5"},
      {"traversal through a scalar is an error", R"({"a":"s"})", R"([{"op":"add","path":"/a/b/c","value":1}])",
       "cannot look up \"b\" in a string"},
      {"add into a scalar is an error", R"({"a":"s"})", R"([{"op":"add","path":"/a/b","value":1}])",
       "cannot add a member to a string"},
  };
  for (const auto& c : cases) {
    json::Document doc = parse(c.doc);
    json::Document patch = parse(c.patch);
    auto out = jsonPatch(doc, patch);
    ASSERT_FALSE(out.ok()) << c.rule;
    EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument) << c.rule;
    EXPECT_TRUE(contains(out.status().message(), c.message)) << c.rule << ": " << out.status().message();
  }
}

TEST(JsonPatchTest, LeavesItsInputUntouchedWhenAnOperationFails) {
  // apiserver: a JSON patch applies atomically; the stored object never sees half a patch.
  json::Document doc = parse(R"({"a":1,"b":[1,2]})");
  json::Document patch = parse(R"([{"op":"remove","path":"/a"},{"op":"test","path":"/b/0","value":9}])");
  auto out = jsonPatch(doc, patch);
  ASSERT_FALSE(out.ok());
  expectJson(doc, R"({"a":1,"b":[1,2]})", "input is not modified");
}

TEST(JsonPatchTest, RefusesMoreOperationsThanTheApiserverAllows) {
  // apiserver patch handler: more than maxJSONPatchOperations (10000) is 413 RequestEntityTooLarge.
  std::string ops = "[";
  for (int i = 0; i < 10001; ++i) ops += std::string(i ? "," : "") + R"({"op":"test","path":"","value":{}})";
  ops += "]";
  json::Document doc = parse("{}");
  json::Document patch = parse(ops);
  auto out = jsonPatch(doc, patch);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kPayloadTooLarge);
  EXPECT_EQ(out.status().message(), "The allowed maximum operations in a JSON patch is 10000, got 10001");
}

// ---------------------------------------------------------------------------------------------
// JSON merge patch

TEST(MergePatchTest, FollowsTheRfc7386Examples) {
  const PatchCase cases[] = {
      {"RFC 7386 A: replace a member", R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
      {"RFC 7386 A: add a member", R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
      {"RFC 7386 A: null deletes", R"({"a":"b"})", R"({"a":null})", R"({})"},
      {"RFC 7386 A: null deletes only its member", R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
      {"RFC 7386 A: a scalar replaces an array", R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
      {"RFC 7386 A: an array replaces a scalar", R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
      {"RFC 7386 A: objects merge recursively", R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})",
       R"({"a":{"b":"d"}})"},
      {"RFC 7386 A: arrays are replaced, never merged", R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
      {"RFC 7386 A: existing nulls are untouched", R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
      {"RFC 7386 A: a non-object target becomes an object", R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
      {"RFC 7386 A: nulls inside new objects are dropped", R"({})", R"({"a":{"bb":{"ccc":null}}})",
       R"({"a":{"bb":{}}})"},
      {"kubectl patch --type merge: labels merge, containers are replaced",
       R"({"metadata":{"labels":{"a":"1","b":"2"}},"spec":{"containers":[{"name":"a"},{"name":"b"}]}})",
       R"({"metadata":{"labels":{"b":null,"c":"3"}},"spec":{"containers":[{"name":"c"}]}})",
       R"({"metadata":{"labels":{"a":"1","c":"3"}},"spec":{"containers":[{"name":"c"}]}})"},
  };
  for (const auto& c : cases) {
    json::Document doc = parse(c.doc);
    json::Document patch = parse(c.patch);
    auto out = mergePatch(doc, patch);
    ASSERT_TRUE(out.ok()) << c.rule << ": " << out.status().toString();
    expectJson(*out, c.want, c.rule);
  }
}

TEST(MergePatchTest, RejectsAPatchThatIsNotAnObject) {
  // A PATCH body for a Kubernetes object must be an object (RFC 7386 would replace the target).
  for (const char* p : {"[1]", "\"x\"", "null", "3"}) {
    json::Document doc = parse("{}");
    json::Document patch = parse(p);
    auto out = mergePatch(doc, patch);
    ASSERT_FALSE(out.ok()) << p;
    EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(contains(out.status().message(), "a merge patch must be a JSON object")) << out.status().message();
  }
}

// ---------------------------------------------------------------------------------------------
// Strategic merge patch

struct SmpCase {
  const char* rule;
  const char* group;
  const char* kind;
  const char* doc;
  const char* patch;
  const char* want;
};

void runSmp(const SmpCase& c) {
  const PatchMeta* meta = patchMetaFor(c.group, c.kind);
  ASSERT_NE(meta, nullptr) << c.group << "/" << c.kind;
  json::Document doc = parse(c.doc);
  json::Document patch = parse(c.patch);
  auto out = strategicMergePatch(doc, patch, meta);
  ASSERT_TRUE(out.ok()) << c.rule << ": " << out.status().toString();
  expectJson(*out, c.want, c.rule);
}

TEST(StrategicMergePatchTest, MergesListsByTheirPatchMergeKey) {
  const SmpCase cases[] = {
      {"strategicpatch: list of maps with patchMergeKey name merges by name (PodSpec.containers)", "", "Pod",
       R"({"spec":{"containers":[{"name":"app","image":"app:1","args":["a"]},{"name":"side","image":"side:1"}]}})",
       R"({"spec":{"containers":[{"name":"app","image":"app:2"}]}})",
       R"({"spec":{"containers":[{"name":"app","image":"app:2","args":["a"]},{"name":"side","image":"side:1"}]}})"},
      {"strategicpatch: containers under a Deployment's pod template merge by name", "apps", "Deployment",
       R"({"spec":{"replicas":1,"template":{"spec":{"containers":[{"name":"web","image":"web:1"}]}}}})",
       R"({"spec":{"template":{"spec":{"containers":[{"name":"web","image":"web:2"}]}}}})",
       R"({"spec":{"replicas":1,"template":{"spec":{"containers":[{"name":"web","image":"web:2"}]}}}})"},
      {"strategicpatch: items new to a merging list come before server-only items (mergeSortedSlice)", "", "Pod",
       R"({"spec":{"containers":[{"name":"a"},{"name":"b"}]}})", R"({"spec":{"containers":[{"name":"c"}]}})",
       R"({"spec":{"containers":[{"name":"c"},{"name":"a"},{"name":"b"}]}})"},
      {"strategicpatch: server-only items keep their place before later patched items", "", "Pod",
       R"({"spec":{"containers":[{"name":"a"},{"name":"b"},{"name":"c"}]}})",
       R"({"spec":{"containers":[{"name":"b","image":"x"},{"name":"d"}]}})",
       R"({"spec":{"containers":[{"name":"a"},{"name":"b","image":"x"},{"name":"d"},{"name":"c"}]}})"},
      {"core/v1 Container.env: patchMergeKey name", "apps", "StatefulSet",
       R"({"spec":{"template":{"spec":{"initContainers":[{"name":"init","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]}]}}}})",
       R"({"spec":{"template":{"spec":{"initContainers":[{"name":"init","env":[{"name":"B","value":"3"}]}]}}}})",
       R"({"spec":{"template":{"spec":{"initContainers":[{"name":"init","env":[{"name":"A","value":"1"},{"name":"B","value":"3"}]}]}}}})"},
      {"core/v1 Container.ports: patchMergeKey containerPort", "", "Pod",
       R"({"spec":{"containers":[{"name":"a","ports":[{"containerPort":80,"name":"http"},{"containerPort":443}]}]}})",
       R"({"spec":{"containers":[{"name":"a","ports":[{"containerPort":80,"name":"web"}]}]}})",
       R"({"spec":{"containers":[{"name":"a","ports":[{"containerPort":80,"name":"web"},{"containerPort":443}]}]}})"},
      {"core/v1 PodSpec.volumes by name, Container.volumeMounts by mountPath", "batch", "Job",
       R"({"spec":{"template":{"spec":{"volumes":[{"name":"v1","emptyDir":{}}],"containers":[{"name":"a","volumeMounts":[{"name":"v1","mountPath":"/a"}]}]}}}})",
       R"({"spec":{"template":{"spec":{"volumes":[{"name":"v2","emptyDir":{}}],"containers":[{"name":"a","volumeMounts":[{"name":"v2","mountPath":"/a"}]}]}}}})",
       R"({"spec":{"template":{"spec":{"volumes":[{"name":"v2","emptyDir":{}},{"name":"v1","emptyDir":{}}],"containers":[{"name":"a","volumeMounts":[{"name":"v2","mountPath":"/a"}]}]}}}})"},
      {"core/v1 PodSpec.imagePullSecrets: patchMergeKey name", "", "Pod",
       R"({"spec":{"imagePullSecrets":[{"name":"a"}]}})", R"({"spec":{"imagePullSecrets":[{"name":"b"}]}})",
       R"({"spec":{"imagePullSecrets":[{"name":"b"},{"name":"a"}]}})"},
      {"core/v1 ServiceSpec.ports: patchMergeKey port", "", "Service",
       R"({"spec":{"ports":[{"port":80,"targetPort":8080},{"port":443,"targetPort":8443}]}})",
       R"({"spec":{"ports":[{"port":443,"targetPort":9443}]}})",
       R"({"spec":{"ports":[{"port":80,"targetPort":8080},{"port":443,"targetPort":9443}]}})"},
      {"batch/v1 CronJob: the job template's pod spec merges like any pod spec", "batch", "CronJob",
       R"({"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"1"},{"name":"b"}]}}}}}})",
       R"({"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"2"}]}}}}}})",
       R"({"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"2"},{"name":"b"}]}}}}}})"},
      {"metav1 ObjectMeta.finalizers: patchStrategy merge on scalars is a set union", "", "ConfigMap",
       R"({"metadata":{"finalizers":["a","b"]}})", R"({"metadata":{"finalizers":["b","c"]}})",
       R"({"metadata":{"finalizers":["a","b","c"]}})"},
      {"metav1 ObjectMeta.ownerReferences: patchMergeKey uid", "apps", "ReplicaSet",
       R"({"metadata":{"ownerReferences":[{"uid":"1","name":"a"}]}})",
       R"({"metadata":{"ownerReferences":[{"uid":"1","name":"b"}]}})",
       R"({"metadata":{"ownerReferences":[{"uid":"1","name":"b"}]}})"},
      {"status conditions merge by type", "apps", "Deployment",
       R"({"status":{"conditions":[{"type":"Available","status":"False"},{"type":"Progressing","status":"True"}]}})",
       R"({"status":{"conditions":[{"type":"Available","status":"True"}]}})",
       R"({"status":{"conditions":[{"type":"Available","status":"True"},{"type":"Progressing","status":"True"}]}})"},
      {"merge keys compare as JSON numbers: 80 and 80.0 are one port", "", "Pod",
       R"({"spec":{"containers":[{"name":"a","ports":[{"containerPort":80}]}]}})",
       R"({"spec":{"containers":[{"name":"a","ports":[{"containerPort":80.0,"name":"http"}]}]}})",
       R"({"spec":{"containers":[{"name":"a","ports":[{"containerPort":80,"name":"http"}]}]}})"},
  };
  for (const auto& c : cases) runSmp(c);
}

TEST(StrategicMergePatchTest, ReplacesListsWithoutAMergeStrategyAndDeletesNulls) {
  const SmpCase cases[] = {
      {"strategicpatch: lists of scalars without patchStrategy are replaced (Container.args)", "", "Pod",
       R"({"spec":{"containers":[{"name":"a","args":["x","y"]}]}})",
       R"({"spec":{"containers":[{"name":"a","args":["z"]}]}})",
       R"({"spec":{"containers":[{"name":"a","args":["z"]}]}})"},
      {"core/v1 PodSpec.tolerations has no patch strategy: replaced", "apps", "DaemonSet",
       R"({"spec":{"template":{"spec":{"tolerations":[{"key":"a"},{"key":"b"}]}}}})",
       R"({"spec":{"template":{"spec":{"tolerations":[{"key":"c"}]}}}})",
       R"({"spec":{"template":{"spec":{"tolerations":[{"key":"c"}]}}}})"},
      {"strategicpatch: null deletes a field", "apps", "Deployment",
       R"({"spec":{"replicas":3,"paused":true}})", R"({"spec":{"paused":null}})", R"({"spec":{"replicas":3}})"},
      {"strategicpatch: null for an absent field is ignored (IgnoreUnmatchedNulls)", "", "ConfigMap",
       R"({"data":{"a":"1"}})", R"({"data":{"b":null}})", R"({"data":{"a":"1"}})"},
      {"strategicpatch: maps merge key by key (labels)", "", "ConfigMap",
       R"({"metadata":{"labels":{"a":"1","b":"2"}}})", R"({"metadata":{"labels":{"b":null,"c":"3"}}})",
       R"({"metadata":{"labels":{"a":"1","c":"3"}}})"},
      {"strategicpatch: a value of another type replaces the original", "", "ConfigMap", R"({"data":{"a":"1"}})",
       R"({"data":"x"})", R"({"data":"x"})"},
      {"strategicpatch: nulls and directives inside new subtrees do not leak into the object", "", "Pod",
       R"({"spec":{}})", R"({"spec":{"containers":[{"name":"a","image":null},{"name":"b","$patch":"delete"}]}})",
       R"({"spec":{"containers":[{"name":"a"}]}})"},
      {"policy/v1 PodDisruptionBudget.spec.selector: patchStrategy replace", "policy", "PodDisruptionBudget",
       R"({"spec":{"selector":{"matchLabels":{"a":"1"}}}})", R"({"spec":{"selector":{"matchLabels":{"b":"2"}}}})",
       R"({"spec":{"selector":{"matchLabels":{"b":"2"}}}})"},
  };
  for (const auto& c : cases) runSmp(c);
}

TEST(StrategicMergePatchTest, HonoursPatchDirectives) {
  const SmpCase cases[] = {
      {"strategicpatch: $patch delete in a list item deletes by merge key", "", "Pod",
       R"({"spec":{"containers":[{"name":"a"},{"name":"b"}]}})",
       R"({"spec":{"containers":[{"name":"a","$patch":"delete"}]}})", R"({"spec":{"containers":[{"name":"b"}]}})"},
      {"strategicpatch: $patch replace in a list replaces the list with the other items", "", "Pod",
       R"({"spec":{"containers":[{"name":"a","image":"1"},{"name":"b"}]}})",
       R"({"spec":{"containers":[{"$patch":"replace"},{"name":"c"}]}})", R"({"spec":{"containers":[{"name":"c"}]}})"},
      {"strategicpatch: $patch replace on a map replaces the map", "", "ConfigMap",
       R"({"metadata":{"labels":{"a":"1","b":"2"}}})", R"({"metadata":{"labels":{"$patch":"replace","c":"3"}}})",
       R"({"metadata":{"labels":{"c":"3"}}})"},
      {"strategicpatch: $patch delete on a map empties it", "apps", "Deployment",
       R"({"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}}}})",
       R"({"spec":{"strategy":{"$patch":"delete"}}})", R"({"spec":{"strategy":{}}})"},
      {"strategicpatch: $retainKeys clears the fields it does not list (DeploymentSpec.strategy)", "apps",
       "Deployment", R"({"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}}}})",
       R"({"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}}})",
       R"({"spec":{"strategy":{"type":"Recreate"}}})"},
      {"strategicpatch: $retainKeys on a volume switches its source", "", "Pod",
       R"({"spec":{"volumes":[{"name":"v","emptyDir":{},"hostPath":{"path":"/x"}}]}})",
       R"({"spec":{"volumes":[{"name":"v","$retainKeys":["name","configMap"],"configMap":{"name":"c"}}]}})",
       R"({"spec":{"volumes":[{"name":"v","configMap":{"name":"c"}}]}})"},
      {"strategicpatch: $deleteFromPrimitiveList removes values from a merging scalar list", "", "Secret",
       R"({"metadata":{"finalizers":["a","b","c"]}})", R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["b"]}})",
       R"({"metadata":{"finalizers":["a","c"]}})"},
      {"strategicpatch: $deleteFromPrimitiveList works on lists without merge strategy too", "", "Pod",
       R"({"spec":{"containers":[{"name":"a","args":["1","2","3"]}]}})",
       R"({"spec":{"containers":[{"name":"a","$deleteFromPrimitiveList/args":["2"]}]}})",
       R"({"spec":{"containers":[{"name":"a","args":["1","3"]}]}})"},
      {"strategicpatch: $deleteFromPrimitiveList on an absent list adds nothing", "", "Secret", R"({"metadata":{}})",
       R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["b"]}})", R"({"metadata":{}})"},
      {"strategicpatch: $setElementOrder orders the merged list (upstream 'set elements order in a list with "
       "server-only items 3')",
       "", "Pod",
       R"({"spec":{"containers":[{"name":"1","x":"a"},{"name":"2"},{"name":"7"},{"name":"9"},{"name":"8"},{"name":"3"},{"name":"4"}]}})",
       R"({"spec":{"$setElementOrder/containers":[{"name":"2"},{"name":"1"},{"name":"4"},{"name":"3"}]}})",
       R"({"spec":{"containers":[{"name":"2"},{"name":"1","x":"a"},{"name":"7"},{"name":"9"},{"name":"8"},{"name":"4"},{"name":"3"}]}})"},
      {"strategicpatch: $setElementOrder with a patch list (upstream 'merge lists of maps')", "", "Pod",
       R"({"spec":{"containers":[{"name":"1","other":"a"},{"name":"2","value":"2","other":"b"}]}})",
       R"({"spec":{"$setElementOrder/containers":[{"name":"4"},{"name":"1"},{"name":"2"},{"name":"3"}],
                   "containers":[{"name":"4","value":"4"},{"name":"3","value":"3"}]}})",
       R"({"spec":{"containers":[{"name":"4","value":"4"},{"name":"1","other":"a"},{"name":"2","value":"2","other":"b"},{"name":"3","value":"3"}]}})"},
      {"strategicpatch: $setElementOrder with $deleteFromPrimitiveList (upstream 'delete items in lists of "
       "scalars')",
       "", "Node", R"({"spec":{"podCIDRs":["1","2","3","4"]}})",
       R"({"spec":{"$setElementOrder/podCIDRs":["1","2"],"$deleteFromPrimitiveList/podCIDRs":["3"]}})",
       R"({"spec":{"podCIDRs":["1","2","4"]}})"},
      {"strategicpatch: a list replacing a non-list is taken as it stands, $setElementOrder aside", "", "Pod",
       R"({"spec":{"containers":"junk"}})",
       R"({"spec":{"$setElementOrder/containers":[{"name":"a"}],"containers":[{"name":"a"}]}})",
       R"({"spec":{"containers":[{"name":"a"}]}})"},
  };
  for (const auto& c : cases) runSmp(c);
}

TEST(StrategicMergePatchTest, RejectsBrokenPatchesWithAClearMessage) {
  const SmpCase cases[] = {
      {"strategicpatch: a merging list item without its merge key", "", "Pod",
       R"({"spec":{"containers":[{"name":"a"}]}})", R"({"spec":{"containers":[{"image":"x"}]}})",
       "does not contain declared merge key: name"},
      {"strategicpatch: $patch merge is not supported in lists", "", "Pod", R"({"spec":{"containers":[]}})",
       R"({"spec":{"containers":[{"name":"a"},{"$patch":"merge"}]}})",
       "merging lists cannot yet be specified in the patch"},
      {"strategicpatch: $patch in a map is replace or delete (ErrBadPatchType)", "", "ConfigMap", R"({"data":{}})",
       R"({"data":{"$patch":"merge"}})", "unknown patch type: merge in map"},
      {"strategicpatch: unknown $patch values", "", "Pod", R"({"spec":{"containers":[{"name":"a"}]}})",
       R"({"spec":{"containers":[{"name":"a","$patch":"explode"}]}})", "unknown patch type"},
      {"strategicpatch: $retainKeys must list every field the patch sets", "apps", "Deployment",
       R"({"spec":{"strategy":{}}})", R"({"spec":{"strategy":{"$retainKeys":["type"],"rollingUpdate":{}}}})",
       "invalid patch format of retainKeys"},
      {"strategicpatch: $retainKeys must be a list", "apps", "Deployment", R"({"spec":{}})",
       R"({"spec":{"$retainKeys":"type"}})", "invalid patch format of retainKeys"},
      {"strategicpatch: $deleteFromPrimitiveList must hold a list", "", "ConfigMap", R"({"metadata":{}})",
       R"({"metadata":{"$deleteFromPrimitiveList/finalizers":"a"}})", "invalid patch format of primitive list"},
      {"strategicpatch: $setElementOrder must match the patch list's order", "", "Pod",
       R"({"spec":{"containers":[{"name":"a"},{"name":"b"}]}})",
       R"({"spec":{"$setElementOrder/containers":[{"name":"a"},{"name":"b"}],"containers":[{"name":"b"},{"name":"a"}]}})",
       "doesn't match its $setElementOrder list"},
      {"strategicpatch: lists of lists are not supported", "", "ConfigMap", R"({"metadata":{"finalizers":["a"]}})",
       R"({"metadata":{"finalizers":[["b"]]}})", "lists of lists are not supported"},
      {"strategicpatch: list element types must be identical", "", "ConfigMap",
       R"({"metadata":{"finalizers":["a"]}})", R"({"metadata":{"finalizers":[1]}})",
       "list element types are not identical"},
  };
  for (const auto& c : cases) {
    json::Document doc = parse(c.doc);
    json::Document patch = parse(c.patch);
    auto out = strategicMergePatch(doc, patch, patchMetaFor(c.group, c.kind));
    ASSERT_FALSE(out.ok()) << c.rule;
    EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument) << c.rule;
    EXPECT_TRUE(contains(out.status().message(), c.want)) << c.rule << ": " << out.status().message();
  }
  json::Document doc = parse("{}");
  json::Document notObject = parse("[]");
  auto out = strategicMergePatch(doc, notObject, patchMetaFor("", "Pod"));
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(contains(out.status().message(), "must be a JSON object, got array"));
}

TEST(StrategicMergePatchTest, NeverAssertsOnMistypedDocumentsOrPatches) {
  // Input from users and clusters is never asserted on: every combination is a value or an error.
  const char* docs[] = {
      R"({})",
      R"({"metadata":5,"spec":{"containers":"x","volumes":[1,2]}})",
      R"({"metadata":{"finalizers":[{},[]],"labels":"x"},"spec":{"containers":[{"name":1},{"ports":{}}]}})",
      R"({"spec":{"containers":[{"name":"a","env":[{"value":"no name"}],"ports":[{"containerPort":"80"}]}]}})",
  };
  const char* patches[] = {
      R"({"metadata":{"finalizers":["a"],"$deleteFromPrimitiveList/finalizers":[{}],"$setElementOrder/finalizers":[[]]}})",
      R"({"spec":{"containers":[{"name":"a","env":[{"name":"E"}],"ports":[{"containerPort":80}]}]}})",
      R"({"spec":{"$setElementOrder/containers":[1,{"name":"a"}],"containers":{"name":"a"}}})",
      R"({"spec":{"$retainKeys":[1],"$patch":7}})",
      R"({"spec":{"containers":[{"$patch":["delete"]},{"$patch":"delete"}],"volumes":null}})",
      R"({"$patch":"replace","metadata":{"$patch":"delete"},"spec":[1]})",
      R"({"spec":{"$setElementOrder/":[],"$deleteFromPrimitiveList/":[]}})",
  };
  for (const char* d : docs) {
    for (const char* p : patches) {
      json::Document doc = parse(d);
      json::Document patch = parse(p);
      auto out = strategicMergePatch(doc, patch, patchMetaFor("", "Pod"));
      if (!out.ok()) {
        EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument) << d << " + " << p;
      }
    }
  }
}

TEST(StrategicMergePatchTest, IsRefusedForCustomResourcesAsTheApiserverRefusesIt) {
  // apiextensions-apiserver serves PATCH for custom resources with json, merge and apply patches
  // only: a strategic merge patch is 415 UnsupportedMediaType with this wording.
  const std::string want =
      "the body of the request was in an unknown format - accepted media types include: "
      "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";
  EXPECT_EQ(patchMetaFor("paas.kubeop.io", "App"), nullptr);
  json::Document doc = parse(R"({"spec":{}})");
  json::Document patch = parse(R"({"spec":{"a":1}})");
  auto out = strategicMergePatch(doc, patch, nullptr);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kUnimplemented);
  EXPECT_EQ(out.status().message(), want);

  auto type = patchTypeFromContentType("application/strategic-merge-patch+json; charset=utf-8", false);
  ASSERT_FALSE(type.ok());
  EXPECT_EQ(type.status().message(), want);
  auto viaBody = applyPatch(PatchType::kStrategicMerge, doc, R"({"spec":{}})", nullptr);
  ASSERT_FALSE(viaBody.ok());
  EXPECT_EQ(viaBody.status().code(), StatusCode::kUnimplemented);
}

TEST(PatchTypeTest, ParsesTheContentTypesTheApiserverAccepts) {
  // apiserver patch handler: the Content-Type picks the patch type, parameters after ';' aside;
  // anything else is 415 listing the accepted types.
  struct Case {
    const char* header;
    bool builtIn;
    PatchType want;
  } cases[] = {
      {"application/json-patch+json", true, PatchType::kJson},
      {"application/merge-patch+json", false, PatchType::kMerge},
      {"application/strategic-merge-patch+json", true, PatchType::kStrategicMerge},
      {"application/apply-patch+yaml; charset=utf-8", false, PatchType::kApply},
  };
  for (const auto& c : cases) {
    auto t = patchTypeFromContentType(c.header, c.builtIn);
    ASSERT_TRUE(t.ok()) << c.header;
    EXPECT_EQ(*t, c.want) << c.header;
    EXPECT_TRUE(contains(c.header, contentTypeFor(*t)));
  }
  auto bad = patchTypeFromContentType("application/json", true);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, "
            "application/apply-patch+yaml");
}

TEST(ApplyPatchTest, DispatchesOnThePatchTypeAndReportsBodyParseErrors) {
  // The same body means different things per patch type: merge patch replaces containers,
  // strategic merge patch merges them by name; a body that is not JSON is a 400 with its position.
  json::Document doc = parse(R"({"metadata":{"labels":{"a":"1"}},"spec":{"containers":[{"name":"a"}]}})");
  const PatchMeta* pod = patchMetaFor("", "Pod");
  auto json = applyPatch(PatchType::kJson, doc, R"([{"op":"remove","path":"/metadata/labels/a"}])", pod);
  ASSERT_TRUE(json.ok()) << json.status().toString();
  expectJson(*json, R"({"metadata":{"labels":{}},"spec":{"containers":[{"name":"a"}]}})", "json patch");
  auto merge = applyPatch(PatchType::kMerge, doc, R"({"spec":{"containers":[{"name":"b"}]}})", pod);
  ASSERT_TRUE(merge.ok());
  expectJson(*merge, R"({"metadata":{"labels":{"a":"1"}},"spec":{"containers":[{"name":"b"}]}})", "merge patch");
  auto smp = applyPatch(PatchType::kStrategicMerge, doc, R"({"spec":{"containers":[{"name":"b"}]}})", pod);
  ASSERT_TRUE(smp.ok());
  expectJson(*smp, R"({"metadata":{"labels":{"a":"1"}},"spec":{"containers":[{"name":"b"},{"name":"a"}]}})",
             "strategic merge patch");
  auto broken = applyPatch(PatchType::kMerge, doc, R"({"spec":)", pod);
  ASSERT_FALSE(broken.ok());
  EXPECT_TRUE(contains(broken.status().message(), "invalid JSON at line 1"));
  EXPECT_FALSE(applyPatch(PatchType::kApply, doc, "{}", pod).ok());
}

TEST(StrategicMergePatchTest, MergesLongListsWithoutQuadraticBlowUp) {
  // A few thousand env entries merge through indexes keyed by merge key; this stays fast.
  std::string env, patchEnv;
  for (int i = 0; i < 3000; ++i) {
    env += std::string(i ? "," : "") + R"({"name":"V)" + std::to_string(i) + R"(","value":"a"})";
    if (i % 2 == 0) patchEnv += std::string(i ? "," : "") + R"({"name":"V)" + std::to_string(i) + R"(","value":"b"})";
  }
  json::Document doc = parse(R"({"spec":{"containers":[{"name":"a","env":[)" + env + "]}]}}");
  json::Document patch = parse(R"({"spec":{"containers":[{"name":"a","env":[)" + patchEnv + "]}]}}");
  auto out = strategicMergePatch(doc, patch, patchMetaFor("", "Pod"));
  ASSERT_TRUE(out.ok()) << out.status().toString();
  const json::Value& merged = (*out)["spec"]["containers"][0]["env"];
  ASSERT_EQ(merged.Size(), 3000u);
  int b = 0;
  for (const auto& e : merged.GetArray()) b += json::getString(e, "value") == "b";
  EXPECT_EQ(b, 1500);
}

}  // namespace
}  // namespace kubeop::kube
