# --- The operator's building blocks (over the Kubernetes client and the reconcile engine).
# Included from core/CMakeLists.txt. Each fragment defines one library:
#   leader_election.cmake  kubeop_leader_election  Lease-based leader election
#   observe.cmake          kubeop_observe          Kubernetes Events recorder, health assessment
#   controllers.cmake      kubeop_operator         Tenant/Project/App controllers, the Operator
include(${CMAKE_CURRENT_LIST_DIR}/src/operator/leader_election.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/src/operator/observe.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/src/operator/controllers.cmake)
