// Label and field selectors: the syntax, matching and error wording of apimachinery's
// labels.Parse, metav1.LabelSelectorAsSelector and fields.ParseSelector.
#include "kubeop/sandbox/selectors.h"

#include <gtest/gtest.h>

#include "kubeop/sandbox/resources.h"

namespace kubeop::sandbox {
namespace {

constexpr const char* kNamePartMsg =
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
constexpr const char* kLabelValueMsg =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start "
    "and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
    "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

struct ParseCase {
  const char* input;
  const char* canonical;  // LabelSelector::toString() of the parse
};

// labels.Parse accepts the documented grammar; requirements come back sorted by key and
// set values sorted, as labels.Selector.String() prints them.
TEST(LabelSelectorTest, ParsesTheQueryStringGrammar) {
  const ParseCase cases[] = {
      {"", ""},
      {"x=a", "x=a"},
      {"x==a", "x==a"},
      {"x!=a", "x!=a"},
      {"x in (a,b)", "x in (a,b)"},
      {"x notin (b,a)", "x notin (a,b)"},
      {"x", "x"},
      {"!x", "!x"},
      {"x>1", "x>1"},
      {"x<10", "x<10"},
      {"b=1,a=2", "a=2,b=1"},
      {"  x  =  a  ,  y  ", "x=a,y"},
      {"x=", "x="},
      {"x in (in)", "x in (in)"},  // keywords are identifiers where a value is expected
      {"x in (foo,,baz),y,z notin ()", "x in (,baz,foo),y,z notin ()"},
      {"example.com/app=web", "example.com/app=web"},
  };
  for (const auto& c : cases) {
    auto s = LabelSelector::parse(c.input);
    ASSERT_TRUE(s.ok()) << c.input << ": " << s.status().toString();
    EXPECT_EQ(s->toString(), c.canonical) << c.input;
  }
}

struct MatchCase {
  const char* selector;
  std::map<std::string, std::string> labels;
  bool matches;
};

// Requirement.Matches: NotIn/!= match a missing key, In/= do not; Gt/Lt compare integers.
TEST(LabelSelectorTest, MatchesAsRequirementMatchesDoes) {
  const MatchCase cases[] = {
      {"", {}, true},
      {"app=web", {{"app", "web"}}, true},
      {"app=web", {{"app", "db"}}, false},
      {"app=web", {}, false},
      {"app!=web", {}, true},
      {"app!=web", {{"app", "web"}}, false},
      {"app in (web,db)", {{"app", "db"}}, true},
      {"app notin (web,db)", {}, true},
      {"app notin (web,db)", {{"app", "db"}}, false},
      {"app", {{"app", ""}}, true},
      {"!app", {{"app", ""}}, false},
      {"!app", {{"tier", "x"}}, true},
      {"n>5", {{"n", "6"}}, true},
      {"n>5", {{"n", "5"}}, false},
      {"n<5", {{"n", "x"}}, false},
      {"app=web,tier=fe", {{"app", "web"}, {"tier", "fe"}}, true},
      {"app=web,tier=fe", {{"app", "web"}, {"tier", "be"}}, false},
  };
  for (const auto& c : cases) {
    auto s = LabelSelector::parse(c.selector);
    ASSERT_TRUE(s.ok()) << c.selector;
    EXPECT_EQ(s->matches(c.labels), c.matches) << c.selector;
  }
}

struct ErrorCase {
  std::string input;
  std::string message;
};

// The errors are the apiserver's words, so kubectl users see the same text.
TEST(LabelSelectorTest, RejectsBadSelectorsWithTheApiserverWording) {
  const ErrorCase cases[] = {
      {"x y", "unable to parse requirement: found 'y', expected: in, notin, =, ==, !=, gt, lt"},
      {"x=a b", "found 'b', expected: ',' or 'end of string'"},
      {"x=a,", "found '', expected: identifier after ','"},
      {",x", "found ',', expected: !, identifier, or 'end of string'"},
      {"x in a", "unable to parse requirement: found 'a' expected: '('"},
      {"x in (a", "unable to parse requirement: found '', expected: ',' or ')'"},
      {"-x=a", std::string("unable to parse requirement: <nil>: Invalid value: \"-x\": ") + kNamePartMsg},
      {"x=-a", std::string("unable to parse requirement: values[0][x]: Invalid value: \"-a\": ") + kLabelValueMsg},
      {"x>a", "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value "
              "must be an integer"},
      {"/x", "unable to parse requirement: <nil>: Invalid value: \"/x\": prefix part must be non-empty"},
      {std::string(64, 'a'),
       "unable to parse requirement: <nil>: Invalid value: \"" + std::string(64, 'a') +
           "\": name part must be no more than 63 bytes"},
  };
  for (const auto& c : cases) {
    auto s = LabelSelector::parse(c.input);
    ASSERT_FALSE(s.ok()) << c.input;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(s.status().message(), c.message) << c.input;
  }
}

// metav1.LabelSelectorAsSelector: nil selects nothing, {} everything, matchLabels and
// matchExpressions are ANDed.
TEST(LabelSelectorTest, ConvertsTheMetaV1JsonForm) {
  EXPECT_TRUE(LabelSelector::fromJson(nullptr)->matchesNothing());
  auto empty = json::parse("{}");
  EXPECT_TRUE(LabelSelector::fromJson(&*empty)->empty());

  auto doc = json::parse(R"({"matchLabels":{"app":"web"},"matchExpressions":[
      {"key":"tier","operator":"In","values":["fe","be"]},
      {"key":"canary","operator":"DoesNotExist"},
      {"key":"team","operator":"Exists"},
      {"key":"env","operator":"NotIn","values":["prod"]}]})");
  auto s = LabelSelector::fromJson(&*doc);
  ASSERT_TRUE(s.ok()) << s.status().toString();
  EXPECT_EQ(s->toString(), "app=web,!canary,env notin (prod),team,tier in (be,fe)");
  EXPECT_TRUE(s->matches({{"app", "web"}, {"tier", "fe"}, {"team", "a"}}));
  EXPECT_FALSE(s->matches({{"app", "web"}, {"tier", "fe"}, {"team", "a"}, {"canary", "1"}}));
  EXPECT_FALSE(s->matches({{"app", "web"}, {"tier", "fe"}}));
}

TEST(LabelSelectorTest, RejectsBadMetaV1SelectorsAsTheApiserverDoes) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"matchExpressions":[{"key":"a","operator":"Foo"}]})", "\"Foo\" is not a valid label selector operator"},
      {R"({"matchExpressions":[{"key":"a","operator":"In"}]})",
       "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty"},
      {R"({"matchExpressions":[{"key":"a","operator":"Exists","values":["x"]}]})",
       "values: Invalid value: [\"x\"]: values set must be empty for exists and does not exist"},
  };
  for (const auto& [input, message] : cases) {
    auto doc = json::parse(input);
    auto s = LabelSelector::fromJson(&*doc);
    ASSERT_FALSE(s.ok()) << input;
    EXPECT_EQ(s.status().message(), message);
  }
}

// fields.ParseSelector: =, == and != terms, backslash escapes in values.
TEST(FieldSelectorTest, ParsesTermsAndUnescapesValues) {
  auto s = FieldSelector::parse("metadata.name=a,metadata.namespace!=b,spec.nodeName==n\\,1");
  ASSERT_TRUE(s.ok()) << s.status().toString();
  ASSERT_EQ(s->requirements().size(), 3u);
  EXPECT_EQ(s->toString(), "metadata.name=a,metadata.namespace!=b,spec.nodeName=n\\,1");
  std::map<std::string, std::string> fields = {{"metadata.name", "a"}, {"metadata.namespace", "c"},
                                               {"spec.nodeName", "n,1"}};
  auto value = [&](std::string_view l) { return fields[std::string(l)]; };
  EXPECT_TRUE(s->matches(value));
  fields["metadata.namespace"] = "b";
  EXPECT_FALSE(s->matches(value));
  EXPECT_EQ(s->requiresExactMatch("metadata.name"), "a");
  EXPECT_FALSE(s->requiresExactMatch("metadata.namespace").has_value());
  EXPECT_TRUE(FieldSelector::parse("")->empty());
}

TEST(FieldSelectorTest, RejectsBadSelectorsWithTheApiserverWording) {
  const std::pair<const char*, const char*> cases[] = {
      {"abc", "invalid selector: 'abc'; can't understand 'abc'"},
      {"a=b,cd", "invalid selector: 'a=b,cd'; can't understand 'cd'"},
      {"x=a=b", "invalid field selector: unescaped character in value: 61"},
      {"x=a\\q", "invalid field selector: invalid escape sequence: \\q"},
      {"x=a\\", "invalid field selector: invalid escape sequence: \\"},
  };
  for (const auto& [input, message] : cases) {
    auto s = FieldSelector::parse(input);
    ASSERT_FALSE(s.ok()) << input;
    EXPECT_EQ(s.status().message(), message);
  }
}

// Each kind's field label conversion func: unknown labels are "field label not supported".
TEST(FieldSelectorTest, AcceptsOnlyTheLabelsEachKindSupports) {
  ResourceRegistry reg;
  struct Case {
    const char* plural;
    const char* group;
    const char* selector;
    bool ok;
  };
  const Case cases[] = {
      {"configmaps", "", "metadata.name=a,metadata.namespace=b", true},
      {"configmaps", "", "spec.foo=a", false},
      {"pods", "", "spec.nodeName=n,status.phase=Running", true},
      {"pods", "", "spec.host=n", true},  // legacy alias of spec.nodeName
      {"namespaces", "", "status.phase=Active", true},
      {"namespaces", "", "metadata.namespace=x", false},
      {"events", "", "involvedObject.name=p,involvedObject.uid=u,reason=Started", true},
      {"secrets", "", "type=Opaque", true},
      {"replicasets", "apps", "status.replicas=0", true},
  };
  for (const auto& c : cases) {
    auto s = FieldSelector::parse(c.selector);
    ASSERT_TRUE(s.ok());
    Status st = s->validateFor(*reg.findGroupResource(c.group, c.plural));
    EXPECT_EQ(st.isOk(), c.ok) << c.plural << " " << c.selector << ": " << st.toString();
  }
  auto bad = FieldSelector::parse("spec.foo=a");
  EXPECT_EQ(bad->validateFor(*reg.findGroupResource("", "configmaps")).message(), "field label not supported: spec.foo");
  auto host = FieldSelector::parse("spec.host=n");
  ASSERT_TRUE(host->validateFor(*reg.findGroupResource("", "pods")).isOk());
  EXPECT_EQ(host->requirements()[0].field, "spec.nodeName");
}

// GetAttrs: missing fields read as their zero value ("false", "0"), Event "source" is
// source.component.
TEST(FieldSelectorTest, ReadsFieldValuesFromObjectsWithDefaults) {
  ResourceRegistry reg;
  auto pod = json::parse(R"({"metadata":{"name":"p","namespace":"n"},"spec":{"nodeName":"node1"}})");
  const auto& podType = *reg.findGroupResource("", "pods");
  EXPECT_EQ(fieldLabelValue(podType, *pod, "metadata.name"), "p");
  EXPECT_EQ(fieldLabelValue(podType, *pod, "metadata.namespace"), "n");
  EXPECT_EQ(fieldLabelValue(podType, *pod, "spec.nodeName"), "node1");
  EXPECT_EQ(fieldLabelValue(podType, *pod, "spec.hostNetwork"), "false");
  EXPECT_EQ(fieldLabelValue(podType, *pod, "status.phase"), "");
  auto rs = json::parse(R"({"metadata":{"name":"r"}})");
  EXPECT_EQ(fieldLabelValue(*reg.findGroupResource("apps", "replicasets"), *rs, "status.replicas"), "0");
  auto ev = json::parse(R"({"source":{"component":"kubelet"}})");
  EXPECT_EQ(fieldLabelValue(*reg.findGroupResource("", "events"), *ev, "source"), "kubelet");
}

TEST(GoQuoteTest, QuotesLikeGoPercentQ) {
  EXPECT_EQ(goQuote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
  EXPECT_EQ(goQuote(std::string("\x01", 1)), "\"\\x01\"");
}

}  // namespace
}  // namespace kubeop::sandbox
