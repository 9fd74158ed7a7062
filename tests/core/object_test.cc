#include "kubeop/core/object.h"

#include <gtest/gtest.h>

#include <string>

#include "kubeop/core/json.h"

namespace kubeop {
namespace {

TEST(ObjectTest, ReadsMetadataOfAParsedObject) {
  auto o = Object::fromJson(R"({"apiVersion":"apps/v1","kind":"Deployment",
    "metadata":{"name":"web","namespace":"shop","uid":"u1","resourceVersion":"42","generation":3,
                "labels":{"app":"web"},"annotations":{"a":"b"}}})");
  ASSERT_TRUE(o.ok()) << o.status().toString();
  EXPECT_EQ(o->name(), "web");
  EXPECT_EQ(o->namespace_(), "shop");
  EXPECT_EQ(o->uid(), "u1");
  EXPECT_EQ(o->resourceVersion(), "42");
  EXPECT_EQ(o->generation(), 3);
  EXPECT_EQ(o->gvk().group, "apps");
  EXPECT_EQ(o->gvk().version, "v1");
  EXPECT_EQ(o->label("app"), "web");
  EXPECT_EQ(o->annotation("a"), "b");
  EXPECT_FALSE(o->label("missing").has_value());
  EXPECT_EQ(o->describe(), "Deployment shop/web");
}

TEST(ObjectTest, CoreGroupHasEmptyGroup) {
  auto g = GroupVersionKind::parse("v1", "ConfigMap");
  EXPECT_EQ(g.group, "");
  EXPECT_EQ(g.version, "v1");
  EXPECT_EQ(g.apiVersion(), "v1");
}

TEST(ObjectTest, MistypedMetadataReadsAsEmptyInsteadOfCrashing) {
  auto o = Object::fromJson(R"({"kind":7,"metadata":{"name":["x"],"labels":"nope","generation":"3"}})");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->kind(), "");
  EXPECT_EQ(o->name(), "");
  EXPECT_TRUE(o->labels().empty());
  EXPECT_EQ(o->generation(), 0);
  o->setLabel("a", "b");  // replaces the mistyped labels with a map
  EXPECT_EQ(o->label("a"), "b");
}

TEST(ObjectTest, RejectsNonObjectsAndInvalidJsonWithPosition) {
  auto arr = Object::fromJson("[1,2]");
  ASSERT_FALSE(arr.ok());
  EXPECT_NE(arr.status().message().find("expected a JSON object, got array"), std::string::npos);
  auto bad = Object::fromJson("{\n  \"a\": 1,\n  \"b\" 2\n}");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 3"), std::string::npos) << bad.status().message();
}

TEST(ObjectTest, SettersCreateMetadataAndOwnerReferencesAreReplacedByUid) {
  Object o;
  o.setApiVersion("v1");
  o.setKind("ConfigMap");
  o.setName("cfg");
  o.setNamespace("ns");
  o.setAnnotation("kubeop.io/revision", "abc");
  o.addOwnerReference({"paas.kubeop.io/v1alpha1", "App", "web", "uid-1", true, true});
  o.addOwnerReference({"paas.kubeop.io/v1alpha1", "App", "web2", "uid-1", true, false});
  o.addOwnerReference({"v1", "ConfigMap", "other", "uid-2", false, false});
  auto refs = o.ownerReferences();
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[0].name, "web2");
  EXPECT_TRUE(refs[0].controller);
  EXPECT_EQ(refs[1].uid, "uid-2");
  auto again = Object::fromJson(o.toJson());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->annotation("kubeop.io/revision"), "abc");
  EXPECT_EQ(again->namespace_(), "ns");
}

TEST(ObjectTest, CopiesAreDeep) {
  Object a;
  a.setName("a");
  Object b = a;
  b.setName("b");
  EXPECT_EQ(a.name(), "a");
  EXPECT_EQ(b.name(), "b");
}

// Memory: a cache holds thousands of objects, so what one small object costs matters.
TEST(ObjectTest, ASmallObjectTakesAboutItsSizeNotRapidJsonsFirstChunk) {
  std::string text = R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings","namespace":"shop"},)"
                     R"("data":{"mode":"production","replicas":"3"}})";
  auto parsed = Object::fromJson(text);
  ASSERT_TRUE(parsed.ok());
  EXPECT_LT(parsed->memoryBytes(), 2048u) << "RapidJSON's default pool takes 64 KiB for any object";
  EXPECT_EQ(parsed->toJson(), text);
  auto copied = Object::fromValue(parsed->root());
  ASSERT_TRUE(copied.ok());
  EXPECT_LT(copied->memoryBytes(), 2048u);
  EXPECT_EQ(copied->toJson(), text);
  // Still an ordinary, growable object.
  copied->setLabel("tier", std::string(300, 'x'));
  EXPECT_EQ(copied->label("tier").value_or(""), std::string(300, 'x'));
}

TEST(ObjectTest, ACompactedCopyDoesNotKeepWhatWasRemovedFromTheSource) {
  Object o;
  o.setName("big");
  json::setString(o.root(), "payload", std::string(200000, 'p'), o.allocator());
  json::removeMember(o.root(), "payload");  // RapidJSON's pool does not give this back
  ASSERT_GT(o.memoryBytes(), 200000u);
  Object c = Object::compacted(o);
  EXPECT_LT(c.memoryBytes(), 1024u);
  EXPECT_EQ(c.toJson(), o.toJson());
  Object moved = std::move(c);
  EXPECT_EQ(moved.name(), "big");
}

}  // namespace
}  // namespace kubeop
