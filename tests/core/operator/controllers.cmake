# The operator's controllers against `kubeop sandbox` with the real plugins (tests/core/operator/).
kubeop_add_test(kubeop_operator_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/operator_test.cc ${CMAKE_CURRENT_LIST_DIR}/naming_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/operator_process_test.cc
  LIBS kubeop::operator kubeop::kube_client kubeop::plugin_host
  LABELS integration
  TIMEOUT 600)
if(TARGET kubeop)
  add_dependencies(kubeop_operator_test kubeop)
endif()
add_dependencies(kubeop_operator_test kubeop-delivery-raw kubeop-quota kubeop-netpol)
