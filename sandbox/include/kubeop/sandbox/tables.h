// meta.k8s.io Table responses, as kubectl asks for them (Accept: application/json;as=Table).
// Built-in kinds get the columns the apiserver prints for them (a useful subset); custom
// resources get their CRD's additionalPrinterColumns; everything gets Name and Age.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "kubeop/core/json.h"
#include "kubeop/sandbox/crd.h"
#include "kubeop/sandbox/resources.h"

namespace kubeop::sandbox {

namespace tables {

// The Table JSON. `columns` empty: the built-in columns for the kind.
std::string render(const ResourceType& type, const std::vector<const json::Value*>& rows,
                   const std::string& resourceVersion, const std::string& tableVersion,
                   const std::vector<PrinterColumn>& columns, std::chrono::system_clock::time_point now,
                   const std::string& continueToken = "");

}  // namespace tables
}  // namespace kubeop::sandbox
