# kubeop sandbox: the HTTP API over the store (no Boost here either: http::Router only),
# CRDs, Table output and the workload simulator.
add_library(kubeop_sandbox STATIC
  ${CMAKE_SOURCE_DIR}/sandbox/src/api_server.cc
  ${CMAKE_SOURCE_DIR}/sandbox/src/custom_resources.cc
  ${CMAKE_SOURCE_DIR}/sandbox/src/tables.cc
  ${CMAKE_SOURCE_DIR}/sandbox/src/simulator.cc)
add_library(kubeop::sandbox ALIAS kubeop_sandbox)
target_link_libraries(kubeop_sandbox PUBLIC kubeop_sandbox_store kubeop_kube_patch kubeop_http kubeop_base
  PRIVATE Threads::Threads)
kubeop_warnings(kubeop_sandbox)
