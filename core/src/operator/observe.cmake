# --- kubeop_observe: what the operator tells people about the objects it delivers. Included from
# core/operator.cmake.
#   events.cc  EventRecorder: core/v1 Events, queued and sent by one thread (client-go's
#              record.EventRecorder: spam filter, aggregation, deduplication)
#   health.cc  assessHealth/aggregate: Argo CD's resource health for the built-in kinds
add_library(kubeop_observe STATIC
  ${CMAKE_CURRENT_LIST_DIR}/events.cc
  ${CMAKE_CURRENT_LIST_DIR}/health.cc)
add_library(kubeop::observe ALIAS kubeop_observe)
target_link_libraries(kubeop_observe PUBLIC kubeop_kube_client kubeop_base PRIVATE Threads::Threads)
kubeop_warnings(kubeop_observe)
