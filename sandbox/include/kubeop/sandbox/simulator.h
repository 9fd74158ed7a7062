// Simulator: the controllers and kubelets `kubeop sandbox` does not have, reduced to the
// status they would report. Deployments, StatefulSets and DaemonSets roll out after a delay
// (observedGeneration, replicas, updated/ready/available replicas, Available and Progressing
// conditions); Jobs complete, or fail when an image matches a pattern; ResourceQuota
// status.used sums what the namespace's workloads request.
//
// Thread-safety: owns one thread; start()/stop() from one thread.
#pragma once

#include <chrono>
#include <memory>
#include <regex>
#include <string>
#include <thread>

#include "kubeop/sandbox/store.h"

namespace kubeop::sandbox {

struct SimulatorOptions {
  std::chrono::milliseconds rolloutDelay{500};
  std::chrono::milliseconds jobDelay{500};
  // Jobs whose any container image matches this (ECMAScript regex, searched) fail.
  std::string failingImagePattern = "(^|/)fail(:|@|$)";
};

class Simulator {
 public:
  Simulator(std::shared_ptr<Store> store, SimulatorOptions opts = {});
  ~Simulator();
  void start();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kubeop::sandbox
