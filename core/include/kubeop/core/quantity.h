// Kubernetes resource quantities ("100m", "1.5", "64Mi", "1G", "2e3"), as
// k8s.io/apimachinery/pkg/api/resource parses them, held in milli-units (1 = 1000 milli).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "kubeop/core/status.h"

namespace kubeop::quantity {

// Parses a quantity into milli-units, rounding up fractions of a milli-unit as the apiserver
// does. InvalidArgument with the apiserver's message for malformed input.
StatusOr<int64_t> parseMilli(std::string_view text);

// Canonical text for a milli-unit value: binary suffixes (Ki…Ei) when `binary` and the value
// is a whole multiple, else decimal ("500m", "2", "1500m").
std::string format(int64_t milli, bool binary);

}  // namespace kubeop::quantity
