# --- kubeop_leader_election: Lease-based leader election (coordination.k8s.io/v1) over the
# Kubernetes client, as client-go's tools/leaderelection. Included from core/operator.cmake.
add_library(kubeop_leader_election STATIC
  ${CMAKE_CURRENT_LIST_DIR}/leader_election.cc)
add_library(kubeop::leader_election ALIAS kubeop_leader_election)
target_link_libraries(kubeop_leader_election PUBLIC kubeop_kube_client kubeop_metrics
  PRIVATE Threads::Threads)
kubeop_warnings(kubeop_leader_election)
