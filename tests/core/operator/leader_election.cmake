# Leader election (core/src/operator/leader_election.cc) against `kubeop sandbox`, started by the
# client tests' fixture (so the kubeop binary must be built first).
kubeop_add_test(kubeop_leader_election_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/leader_election_test.cc
  LIBS kubeop::leader_election kubeop::kube_client
  LABELS integration
  TIMEOUT 300)
if(TARGET kubeop)
  add_dependencies(kubeop_leader_election_test kubeop)
endif()
