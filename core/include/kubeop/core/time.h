// Kubernetes' time formats (metav1.Time, metav1.MicroTime): UTC, RFC 3339.
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <string>

namespace kubeop {

// metav1.Time: "2006-01-02T15:04:05Z" (whole seconds).
std::string formatRfc3339(std::chrono::system_clock::time_point t);
std::string nowRfc3339();
// metav1.MicroTime: "2006-01-02T15:04:05.000000Z".
std::string formatMicroTime(std::chrono::system_clock::time_point t);

}  // namespace kubeop
