#include "cidr.h"

#include <algorithm>
#include <optional>
#include <vector>

namespace kubeop::plugins::netpol {

namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A decimal number of 1–3 digits without leading zeros ("0" itself is fine).
std::optional<int> smallDecimal(std::string_view s) {
  if (s.empty() || s.size() > 3) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (!isDigit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// Dotted quad into out[0..3]. Returns the reason on failure.
std::optional<std::string> parseV4(std::string_view s, uint8_t* out) {
  int part = 0;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string_view octet = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (part == 4) return std::string("an IPv4 address has 4 parts");
    if (octet.size() > 1 && octet[0] == '0' && smallDecimal(octet.substr(1))) {
      return "IPv4 part \"" + std::string(octet) + "\" has a leading zero (ambiguous: octal to some parsers)";
    }
    auto v = smallDecimal(octet);
    if (!v) return "IPv4 part \"" + std::string(octet) + "\" is not a number from 0 to 255";
    if (*v > 255) return "IPv4 part " + std::string(octet) + " is more than 255";
    out[part++] = static_cast<uint8_t>(*v);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (part != 4) return std::string("an IPv4 address has 4 parts");
  return std::nullopt;
}

// Colon-separated hex groups (the last may be a dotted quad when `allowV4Tail`), into 16-bit
// groups. Returns the reason on failure.
std::optional<std::string> parseGroups(std::string_view s, bool allowV4Tail, std::vector<uint16_t>& groups) {
  if (s.empty()) return std::nullopt;
  size_t start = 0;
  while (true) {
    size_t colon = s.find(':', start);
    std::string_view g = s.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start);
    if (colon == std::string_view::npos && allowV4Tail && g.find('.') != std::string_view::npos) {
      uint8_t v4[4];
      if (auto bad = parseV4(g, v4)) return "embedded IPv4 \"" + std::string(g) + "\": " + *bad;
      groups.push_back(static_cast<uint16_t>(v4[0] << 8 | v4[1]));
      groups.push_back(static_cast<uint16_t>(v4[2] << 8 | v4[3]));
      return std::nullopt;
    }
    if (g.empty()) return std::string("an IPv6 group is empty (\":\" where \"::\" is not allowed)");
    if (g.size() > 4) return "IPv6 group \"" + std::string(g) + "\" has more than 4 hex digits";
    uint16_t v = 0;
    for (char c : g) {
      int h = hexValue(c);
      if (h < 0) return "IPv6 group \"" + std::string(g) + "\" is not hexadecimal";
      v = static_cast<uint16_t>(v << 4 | h);
    }
    groups.push_back(v);
    if (colon == std::string_view::npos) return std::nullopt;
    start = colon + 1;
  }
}

std::optional<std::string> parseV6(std::string_view s, uint8_t* out) {
  if (s.find('%') != std::string_view::npos) return std::string("IPv6 zones (\"%…\") are not allowed in a CIDR");
  size_t dbl = s.find("::");
  std::vector<uint16_t> head, tail;
  if (dbl == std::string_view::npos) {
    if (auto bad = parseGroups(s, true, head)) return bad;
    if (head.size() != 8) {
      return "an IPv6 address without \"::\" has 8 groups, this one has " + std::to_string(head.size());
    }
  } else {
    if (s.find("::", dbl + 1) != std::string_view::npos) return std::string("\"::\" may appear only once");
    if (auto bad = parseGroups(s.substr(0, dbl), false, head)) return bad;
    if (auto bad = parseGroups(s.substr(dbl + 2), true, tail)) return bad;
    if (head.size() + tail.size() > 7) return std::string("too many IPv6 groups around \"::\"");
  }
  std::array<uint16_t, 8> g{};
  for (size_t i = 0; i < head.size(); ++i) g[i] = head[i];
  for (size_t i = 0; i < tail.size(); ++i) g[8 - tail.size() + i] = tail[i];
  for (size_t i = 0; i < 8; ++i) {
    out[2 * i] = static_cast<uint8_t>(g[i] >> 8);
    out[2 * i + 1] = static_cast<uint8_t>(g[i] & 0xff);
  }
  return std::nullopt;
}

void clearHostBits(std::array<uint8_t, 16>& a, int prefix, int bits) {
  for (int i = 0; i < bits / 8; ++i) {
    int keep = prefix - i * 8;  // bits of byte i inside the prefix
    if (keep >= 8) continue;
    uint8_t mask = keep <= 0 ? uint8_t{0} : static_cast<uint8_t>(0xff << (8 - keep));
    a[static_cast<size_t>(i)] &= mask;
  }
}

}  // namespace

StatusOr<Cidr> parseCidr(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return invalidArgument("\"" + std::string(text) + "\" is not a valid CIDR: " + why);
  };
  if (text.empty()) return bad("it is empty");
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return bad("missing \"/<prefix length>\"");
  std::string_view ip = text.substr(0, slash);
  std::string_view len = text.substr(slash + 1);
  Cidr c;
  c.v6 = ip.find(':') != std::string_view::npos;
  if (ip.empty()) return bad("the address is missing");
  if (auto why = c.v6 ? parseV6(ip, c.addr.data()) : parseV4(ip, c.addr.data())) return bad(*why);
  const std::string range = c.v6 ? "IPv6 (0-128)" : "IPv4 (0-32)";
  if (len.empty() || !std::all_of(len.begin(), len.end(), isDigit)) {
    return bad("prefix length \"" + std::string(len) + "\" is not a number (digits only, no sign)");
  }
  if (len.size() > 1 && len[0] == '0') return bad("prefix length \"" + std::string(len) + "\" has a leading zero");
  auto p = smallDecimal(len);
  if (!p || *p > c.bits()) return bad("prefix length " + std::string(len) + " is out of range for " + range);
  c.prefix = *p;
  clearHostBits(c.addr, c.prefix, c.bits());
  return c;
}

bool contains(const Cidr& outer, const Cidr& inner) {
  if (outer.v6 != inner.v6 || inner.prefix < outer.prefix) return false;
  std::array<uint8_t, 16> masked = inner.addr;
  clearHostBits(masked, outer.prefix, outer.bits());
  return masked == outer.addr;
}

std::string Cidr::toString() const {
  std::string out;
  if (!v6) {
    for (int i = 0; i < 4; ++i) {
      if (i) out += '.';
      out += std::to_string(addr[static_cast<size_t>(i)]);
    }
    return out + "/" + std::to_string(prefix);
  }
  std::array<uint16_t, 8> g{};
  for (size_t i = 0; i < 8; ++i) g[i] = static_cast<uint16_t>(addr[2 * i] << 8 | addr[2 * i + 1]);
  // RFC 5952: compress the longest run (≥ 2) of zero groups, the first one on ties.
  int bestStart = -1, bestLen = 0;
  for (int i = 0; i < 8;) {
    if (g[static_cast<size_t>(i)] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[static_cast<size_t>(j)] == 0) ++j;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  static const char* kHex = "0123456789abcdef";
  auto hex = [&](uint16_t v) {
    std::string s;
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      int d = (v >> shift) & 0xf;
      if (d || started || shift == 0) {
        s += kHex[d];
        started = true;
      }
    }
    return s;
  };
  for (int i = 0; i < 8; ++i) {
    if (i == bestStart) {
      out += "::";
      i += bestLen - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    out += hex(g[static_cast<size_t>(i)]);
  }
  return out + "/" + std::to_string(prefix);
}

}  // namespace kubeop::plugins::netpol
