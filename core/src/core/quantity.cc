#include "kubeop/core/quantity.h"

#include <cmath>
#include <limits>

namespace kubeop::quantity {

namespace {
Status bad(std::string_view text) {
  return invalidArgument("quantities must match the regular expression "
                         "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': \"" + std::string(text) + "\"");
}
}  // namespace

StatusOr<int64_t> parseMilli(std::string_view text) {
  if (text.empty()) return bad(text);
  size_t i = 0;
  bool neg = false;
  if (text[0] == '+' || text[0] == '-') {
    neg = text[0] == '-';
    i = 1;
  }
  size_t numStart = i;
  bool dot = false;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || (text[i] == '.' && !dot))) {
    dot |= text[i] == '.';
    ++i;
  }
  if (i == numStart || (i == numStart + 1 && dot)) return bad(text);
  long double value = std::strtold(std::string(text.substr(numStart, i - numStart)).c_str(), nullptr);
  std::string_view suffix = text.substr(i);
  long double mult = 1;
  if (suffix.empty()) {
  } else if (suffix == "m") mult = 1e-3L;
  else if (suffix == "u") mult = 1e-6L;
  else if (suffix == "n") mult = 1e-9L;
  else if (suffix == "k") mult = 1e3L;
  else if (suffix == "M") mult = 1e6L;
  else if (suffix == "G") mult = 1e9L;
  else if (suffix == "T") mult = 1e12L;
  else if (suffix == "P") mult = 1e15L;
  else if (suffix == "E") mult = 1e18L;
  else if (suffix == "Ki") mult = 1024.0L;
  else if (suffix == "Mi") mult = 1024.0L * 1024;
  else if (suffix == "Gi") mult = 1024.0L * 1024 * 1024;
  else if (suffix == "Ti") mult = 1024.0L * 1024 * 1024 * 1024;
  else if (suffix == "Pi") mult = 1024.0L * 1024 * 1024 * 1024 * 1024;
  else if (suffix == "Ei") mult = 1024.0L * 1024 * 1024 * 1024 * 1024 * 1024;
  else if (suffix[0] == 'e' || suffix[0] == 'E') {
    std::string exp(suffix.substr(1));
    if (exp.empty()) return bad(text);
    for (size_t k = (exp[0] == '-' || exp[0] == '+') ? 1 : 0; k < exp.size(); ++k) {
      if (exp[k] < '0' || exp[k] > '9') return bad(text);
    }
    mult = std::pow(10.0L, std::stol(exp));
  } else {
    return bad(text);
  }
  long double milli = std::ceil(value * mult * 1000.0L - 1e-9L);
  if (milli > static_cast<long double>(std::numeric_limits<int64_t>::max() / 2)) return bad(text);
  return static_cast<int64_t>(neg ? -milli : milli);
}

std::string format(int64_t milli, bool binary) {
  if (milli % 1000 != 0) return std::to_string(milli) + "m";
  int64_t v = milli / 1000;
  if (binary && v != 0) {
    static const char* kSuffix[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    int s = 0;
    while (s < 6 && v % 1024 == 0) {
      v /= 1024;
      ++s;
    }
    return std::to_string(v) + kSuffix[s];
  }
  return std::to_string(v);
}

}  // namespace kubeop::quantity
