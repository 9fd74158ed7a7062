# Health assessment (core/src/operator/health.cc): a pure table over JSON objects.
kubeop_add_test(kubeop_health_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/health_test.cc
  LIBS kubeop::observe)

# The event recorder (core/src/operator/events.cc) and health over simulated rollouts, against
# `kubeop sandbox` started by the client tests' fixture (so the kubeop binary must be built first).
kubeop_add_test(kubeop_events_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/events_test.cc
  LIBS kubeop::observe kubeop::kube_client
  LABELS integration
  TIMEOUT 300)
if(TARGET kubeop)
  add_dependencies(kubeop_events_test kubeop)
endif()
