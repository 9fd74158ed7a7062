# --- Reconcile engine: work queue (dedup, per-key backoff under a global bucket, per-tenant
# fairness) and the controller runner. No Boost, no Kubernetes client.
# Included from core/CMakeLists.txt.
add_library(kubeop_reconcile STATIC
  ${CMAKE_SOURCE_DIR}/core/src/reconcile/work_queue.cc
  ${CMAKE_SOURCE_DIR}/core/src/reconcile/controller.cc)
add_library(kubeop::reconcile ALIAS kubeop_reconcile)
target_link_libraries(kubeop_reconcile PUBLIC kubeop_base kubeop_metrics PRIVATE Threads::Threads)
kubeop_warnings(kubeop_reconcile)
