#include "cidr.h"

#include <gtest/gtest.h>

#include <string>

namespace kubeop::plugins::netpol {
namespace {

struct ParseCase {
  const char* text;
  const char* canonical;
};

class CidrParses : public ::testing::TestWithParam<ParseCase> {};

TEST_P(CidrParses, ToItsCanonicalNetwork) {
  auto c = parseCidr(GetParam().text);
  ASSERT_TRUE(c.ok()) << c.status().toString();
  EXPECT_EQ(c->toString(), GetParam().canonical);
  auto again = parseCidr(c->toString());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *c) << "canonical text round-trips";
}

INSTANTIATE_TEST_SUITE_P(
    Valid, CidrParses,
    ::testing::Values(ParseCase{"10.0.0.0/8", "10.0.0.0/8"}, ParseCase{"0.0.0.0/0", "0.0.0.0/0"},
                      ParseCase{"255.255.255.255/32", "255.255.255.255/32"},
                      ParseCase{"192.168.1.77/24", "192.168.1.0/24"},  // host bits cleared
                      ParseCase{"10.1.2.3/0", "0.0.0.0/0"}, ParseCase{"172.16.0.0/12", "172.16.0.0/12"},
                      ParseCase{"172.31.255.255/13", "172.24.0.0/13"}, ParseCase{"::/0", "::/0"},
                      ParseCase{"::1/128", "::1/128"}, ParseCase{"2001:DB8::/32", "2001:db8::/32"},
                      ParseCase{"2001:0db8:0000:0000:0000:0000:0000:0001/128", "2001:db8::1/128"},
                      ParseCase{"2001:db8:0:0:1:0:0:1/128", "2001:db8::1:0:0:1/128"},     // first longest run
                      ParseCase{"2001:db8:0:1:1:1:1:1/128", "2001:db8:0:1:1:1:1:1/128"},  // one zero: no "::"
                      ParseCase{"fd00::1234/7", "fc00::/7"}, ParseCase{"1:2:3:4:5:6:7::/128", "1:2:3:4:5:6:7:0/128"},
                      ParseCase{"::ffff:10.0.0.0/104", "::ffff:a00:0/104"},
                      ParseCase{"1:2:3:4:5:6:1.2.3.4/128", "1:2:3:4:5:6:102:304/128"},
                      ParseCase{"2001:db8::/127", "2001:db8::/127"}, ParseCase{"fe80::/10", "fe80::/10"}),
    [](const ::testing::TestParamInfo<ParseCase>& i) { return "Case" + std::to_string(i.index); });

struct BadCase {
  const char* text;
  const char* reason;
};

class CidrRefuses : public ::testing::TestWithParam<BadCase> {};

TEST_P(CidrRefuses, MalformedTextWithTheReason) {
  auto c = parseCidr(GetParam().text);
  ASSERT_FALSE(c.ok()) << GetParam().text << " parsed as " << c->toString();
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("is not a valid CIDR"), std::string::npos);
  EXPECT_NE(c.status().message().find(GetParam().reason), std::string::npos) << c.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, CidrRefuses,
    ::testing::Values(
        BadCase{"", "it is empty"}, BadCase{"10.0.0.0", "missing \"/<prefix length>\""},
        BadCase{"/8", "the address is missing"},
        BadCase{"10.0.0.0/33", "prefix length 33 is out of range for IPv4 (0-32)"},
        BadCase{"::/129", "prefix length 129 is out of range for IPv6 (0-128)"},
        BadCase{"10.0.0.0/", "prefix length \"\" is not a number"},
        BadCase{"10.0.0.0/-1", "prefix length \"-1\" is not a number"}, BadCase{"10.0.0.0/+8", "is not a number"},
        BadCase{"10.0.0.0/08", "prefix length \"08\" has a leading zero"}, BadCase{"10.0.0.0/8/8", "is not a number"},
        BadCase{"10.0.0.0/ 8", "is not a number"},
        BadCase{"10.0.0.0/1000", "prefix length 1000 is out of range for IPv4"},
        BadCase{"300.0.0.0/8", "IPv4 part 300 is more than 255"}, BadCase{"10.0.0/8", "an IPv4 address has 4 parts"},
        BadCase{"10.0.0.0.0/8", "an IPv4 address has 4 parts"}, BadCase{"010.0.0.0/8", "has a leading zero"},
        BadCase{"10..0.0/8", "is not a number from 0 to 255"}, BadCase{"10.0.0.a/8", "is not a number from 0 to 255"},
        BadCase{" 10.0.0.0/8", "is not a number"}, BadCase{"example.com/8", "is not a number"},
        BadCase{"abc/8", "is not a number"}, BadCase{"fe80::1%eth0/64", "zones"},
        BadCase{"1::2::3/64", "\"::\" may appear only once"}, BadCase{":::/64", "\"::\" may appear only once"},
        BadCase{"1:2:3:4:5:6:7:8:9/64", "has 8 groups, this one has 9"},
        BadCase{"1:2:3:4:5:6:7/64", "has 8 groups, this one has 7"},
        BadCase{"1:2:3:4::5:6:7:8/64", "too many IPv6 groups"}, BadCase{"12345::/16", "more than 4 hex digits"},
        BadCase{"g::/16", "not hexadecimal"}, BadCase{":1::/16", "an IPv6 group is empty"},
        BadCase{"1:/16", "an IPv6 group is empty"}, BadCase{"::1.2.3/96", "embedded IPv4"},
        BadCase{"1.2.3.4::/96", "more than 4 hex digits"}),
    [](const ::testing::TestParamInfo<BadCase>& i) { return "Case" + std::to_string(i.index); });

struct ContainsCase {
  const char* outer;
  const char* inner;
  bool contained;
};

class CidrContains : public ::testing::TestWithParam<ContainsCase> {};

TEST_P(CidrContains, OnlyWhenBothEndsAreInside) {
  auto o = parseCidr(GetParam().outer);
  auto i = parseCidr(GetParam().inner);
  ASSERT_TRUE(o.ok() && i.ok());
  EXPECT_EQ(contains(*o, *i), GetParam().contained) << GetParam().outer << " ⊇ " << GetParam().inner;
}

INSTANTIATE_TEST_SUITE_P(
    Edges, CidrContains,
    ::testing::Values(
        ContainsCase{"0.0.0.0/0", "0.0.0.0/0", true}, ContainsCase{"0.0.0.0/0", "203.0.113.9/32", true},
        ContainsCase{"10.0.0.0/8", "10.0.0.0/8", true}, ContainsCase{"10.0.0.0/8", "10.255.255.255/32", true},
        ContainsCase{"10.0.0.0/8", "10.20.0.0/16", true},
        ContainsCase{"10.0.0.0/8", "10.0.0.0/7", false},  // first inside, last outside
        ContainsCase{"10.0.0.0/8", "11.0.0.0/32", false}, ContainsCase{"10.0.0.0/8", "9.255.255.255/32", false},
        ContainsCase{"10.1.2.3/32", "10.1.2.3/32", true}, ContainsCase{"10.1.2.3/32", "10.1.2.4/32", false},
        ContainsCase{"10.1.2.3/32", "10.1.2.0/24", false}, ContainsCase{"10.0.0.0/9", "10.128.0.0/9", false},
        ContainsCase{"10.0.0.0/8", "10.1.2.3/8", true},  // host bits do not widen
        ContainsCase{"192.168.0.0/16", "192.168.255.255/17", true}, ContainsCase{"::/0", "2001:db8::/32", true},
        ContainsCase{"::/0", "0.0.0.0/0", false}, ContainsCase{"0.0.0.0/0", "::/0", false},
        ContainsCase{"0.0.0.0/0", "::ffff:10.0.0.1/128", false},
        ContainsCase{"2001:db8::/32", "2001:db8:ffff:ffff::/64", true},
        ContainsCase{"2001:db8::/32", "2001:db9::/32", false}, ContainsCase{"2001:db8::/32", "2001:db8::/31", false},
        ContainsCase{"2001:db8::1/128", "2001:db8::1/128", true},
        ContainsCase{"2001:db8::1/128", "2001:db8::/127", false}, ContainsCase{"fc00::/7", "fdff:ffff::/32", true},
        ContainsCase{"fc00::/7", "fe00::/8", false}, ContainsCase{"2001:db8:8000::/33", "2001:db8:7fff::/48", false}),
    [](const ::testing::TestParamInfo<ContainsCase>& i) { return "Case" + std::to_string(i.index); });

}  // namespace
}  // namespace kubeop::plugins::netpol
