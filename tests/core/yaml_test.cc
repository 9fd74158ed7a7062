// Pins how kubeop reads manifests: the rules of sigs.k8s.io/yaml over go-yaml v2 (YAML 1.1
// scalar resolution), which is what kubectl applies.
#include "kubeop/core/yaml.h"

#include <gtest/gtest.h>

namespace kubeop::yaml {
namespace {

json::Document one(std::string_view text) {
  auto d = parseOne(text);
  EXPECT_TRUE(d.ok()) << d.status().toString();
  return d.ok() ? std::move(d).value() : json::Document();
}

TEST(YamlTest, MultiDocumentStreamWithCommentsAndEmptyDocuments) {
  auto docs = parseStream(
      "# leading comment\n"
      "---\n"
      "apiVersion: v1\nkind: ConfigMap   # trailing comment\nmetadata: {name: a}\n"
      "---\n"
      "---\n"
      "# only a comment\n"
      "---\n"
      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n");
  ASSERT_TRUE(docs.ok()) << docs.status().toString();
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ(json::getString((*docs)[0].doc, "kind"), "ConfigMap");
  EXPECT_EQ(json::getString((*docs)[1].doc, "kind"), "Secret");
  EXPECT_GT((*docs)[1].index, (*docs)[0].index + 1) << "empty documents still count in the index";
}

TEST(YamlTest, QuotedScalarsStayStringsPlainOnesResolve) {
  auto d = one(
      "mode: \"0755\"\n"
      "octal: 0755\n"
      "flag: \"true\"\n"
      "yes_: yes\n"
      "on_: on\n"
      "off_: OFF\n"
      "n_: n\n"
      "int: 42\n"
      "neg: -7\n"
      "hex: 0x1F\n"
      "o: 0o17\n"
      "bin: 0b101\n"
      "under: 1_000\n"
      "float: 1.5\n"
      "exp: 1e3\n"
      "nul: ~\n"
      "empty:\n"
      "str: hello world\n"
      "version: 1.10\n"
      "single: 'on'\n");
  EXPECT_TRUE(d["mode"].IsString());
  EXPECT_EQ(json::view(d["mode"]), "0755");
  ASSERT_TRUE(d["octal"].IsInt64());
  EXPECT_EQ(d["octal"].GetInt64(), 493);  // Go's base-0 rule: leading 0 means octal
  EXPECT_TRUE(d["flag"].IsString());
  EXPECT_TRUE(d["yes_"].IsBool() && d["yes_"].GetBool());
  EXPECT_TRUE(d["on_"].IsBool() && d["on_"].GetBool());
  EXPECT_TRUE(d["off_"].IsBool() && !d["off_"].GetBool());
  EXPECT_TRUE(d["n_"].IsBool() && !d["n_"].GetBool());
  EXPECT_EQ(d["int"].GetInt64(), 42);
  EXPECT_EQ(d["neg"].GetInt64(), -7);
  EXPECT_EQ(d["hex"].GetInt64(), 31);
  EXPECT_EQ(d["o"].GetInt64(), 15);
  EXPECT_EQ(d["bin"].GetInt64(), 5);
  EXPECT_EQ(d["under"].GetInt64(), 1000);
  EXPECT_DOUBLE_EQ(d["float"].GetDouble(), 1.5);
  EXPECT_DOUBLE_EQ(d["exp"].GetDouble(), 1000.0);
  EXPECT_TRUE(d["nul"].IsNull());
  EXPECT_TRUE(d["empty"].IsNull());
  EXPECT_EQ(json::view(d["str"]), "hello world");
  EXPECT_DOUBLE_EQ(d["version"].GetDouble(), 1.1);  // the classic trap: unquoted 1.10 is a float
  EXPECT_EQ(json::view(d["single"]), "on");
}

TEST(YamlTest, LargeIntegersKeepFullPrecision) {
  auto d = one("max: 9223372036854775807\nmin: -9223372036854775808\nu: 18446744073709551615\nbig: "
               "18446744073709551616\n");
  EXPECT_EQ(d["max"].GetInt64(), INT64_MAX);
  EXPECT_EQ(d["min"].GetInt64(), INT64_MIN);
  ASSERT_TRUE(d["u"].IsUint64());
  EXPECT_EQ(d["u"].GetUint64(), UINT64_MAX);
  ASSERT_TRUE(d["big"].IsDouble());  // beyond uint64: a float, as go-yaml v2 does
  EXPECT_DOUBLE_EQ(d["big"].GetDouble(), 18446744073709551616.0);
}

TEST(YamlTest, ExplicitTagsWin) {
  auto d = one("a: !!str 123\nb: !!int \"12\"\nc: !!float 3\nd: !!bool \"yes\"\n");
  EXPECT_EQ(json::view(d["a"]), "123");
  EXPECT_EQ(d["b"].GetInt64(), 12);
  EXPECT_DOUBLE_EQ(d["c"].GetDouble(), 3.0);
  EXPECT_TRUE(d["d"].GetBool());
  auto bad = parseOne("x: !!int abc\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("cannot decode \"abc\" as !!int"), std::string::npos);
}

TEST(YamlTest, BlockScalarsKeepTheirText) {
  auto d = one("literal: |\n  line one\n  line two\nfolded: >\n  a\n  b\nkeep: |+\n  x\n\nstrip: |-\n  y\n");
  EXPECT_EQ(json::view(d["literal"]), "line one\nline two\n");
  EXPECT_EQ(json::view(d["folded"]), "a b\n");
  EXPECT_EQ(json::view(d["keep"]), "x\n\n");
  EXPECT_EQ(json::view(d["strip"]), "y");
}

TEST(YamlTest, AnchorsAliasesAndMergeKeys) {
  auto d = one(
      "base: &base\n  cpu: 100m\n  memory: 64Mi\n"
      "copy: *base\n"
      "merged:\n  <<: *base\n  memory: 128Mi\n"
      "multi:\n  <<: [{a: 1}, {a: 2, b: 2}]\n");
  EXPECT_EQ(json::view(d["copy"]["cpu"]), "100m");
  EXPECT_EQ(json::view(d["merged"]["cpu"]), "100m");
  EXPECT_EQ(json::view(d["merged"]["memory"]), "128Mi") << "explicit keys override merged ones";
  EXPECT_FALSE(d["merged"].HasMember("<<"));
  EXPECT_EQ(d["multi"]["a"].GetInt64(), 1) << "earlier merge sources win";
  EXPECT_EQ(d["multi"]["b"].GetInt64(), 2);
}

TEST(YamlTest, NonStringKeysBecomeTheirJsonText) {
  // sigs.k8s.io/yaml: `on:` is the bool true, so its JSON key is "true".
  auto d = one("on: push\n1: one\nname: x\n");
  EXPECT_TRUE(d.HasMember("true"));
  EXPECT_TRUE(d.HasMember("1"));
  EXPECT_TRUE(d.HasMember("name"));
}

TEST(YamlTest, ErrorsNameSourceDocumentLineAndColumn) {
  ParseOptions o;
  o.source = "app.yaml";
  auto r = parseStream("a: 1\n---\nb: 2\n---\nkind: x\nmetadata:\n  name: [unclosed\n", o);
  ASSERT_FALSE(r.ok());
  const std::string m = r.status().message();
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(m.find("app.yaml: document 2"), std::string::npos) << m;
  EXPECT_NE(m.find("line "), std::string::npos) << m;
  EXPECT_NE(m.find("column "), std::string::npos) << m;
}

TEST(YamlTest, DuplicateKeysAreAnErrorWithTheirPosition) {
  auto r = parseOne("metadata:\n  name: a\n  name: b\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("duplicate key \"name\""), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("line 3, column 3"), std::string::npos) << r.status().message();
}

TEST(YamlTest, AliasToAnAnchorOfAnEarlierDocumentIsAnError) {
  auto r = parseStream("a: &x 1\n---\nb: *x\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("document 1"), std::string::npos) << r.status().message();
}

TEST(YamlTest, InfinityAndNanCannotBecomeJson) {
  auto r = parseOne("x: .inf\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not representable in JSON"), std::string::npos);
}

TEST(YamlTest, OversizedAndTooDeepInputIsRefusedNotCrashed) {
  ParseOptions o;
  o.max_bytes = 16;
  auto big = parseStream("a: 01234567890123456789\n", o);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), StatusCode::kPayloadTooLarge);
  std::string deep(1000, '[');
  auto d = parseStream(deep);
  ASSERT_FALSE(d.ok());
}

TEST(YamlTest, ParseOneWantsExactlyOneDocument) {
  EXPECT_FALSE(parseOne("").ok());
  EXPECT_FALSE(parseOne("a: 1\n---\nb: 2\n").ok());
}

TEST(YamlTest, EmitQuotesStringsThatWouldChangeTypeAndRoundTrips) {
  auto d = one(
      "s1: \"yes\"\ns2: \"0755\"\ns3: \"\"\ns4: \"1e3\"\ns5: \"null\"\nplain: web\nn: 5\nb: true\n"
      "multi: \"a\\nb\\n\"\nlist: [1, \"2\"]\nnested: {k: v}\nemptyList: []\nemptyMap: {}\n");
  std::string y = toYaml(d);
  EXPECT_NE(y.find("s1: \"yes\""), std::string::npos) << y;
  EXPECT_NE(y.find("s2: \"0755\""), std::string::npos) << y;
  EXPECT_NE(y.find("plain: web"), std::string::npos) << y;
  auto back = parseOne(y);
  ASSERT_TRUE(back.ok()) << back.status().toString() << "\n" << y;
  EXPECT_EQ(json::write(*back), json::write(d)) << y;
}

}  // namespace
}  // namespace kubeop::yaml
