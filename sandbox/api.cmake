# kubeop sandbox: the HTTP API over the store (no Boost here either: http::Router only),
# CRDs, Table output and the workload simulator.
add_library(kubeop_sandbox_crd STATIC ${CMAKE_SOURCE_DIR}/sandbox/src/crd.cc)
add_library(kubeop::sandbox_crd ALIAS kubeop_sandbox_crd)
target_include_directories(kubeop_sandbox_crd PUBLIC ${CMAKE_SOURCE_DIR}/sandbox/include)
target_link_libraries(kubeop_sandbox_crd PUBLIC kubeop_base)
kubeop_warnings(kubeop_sandbox_crd)

add_library(kubeop_sandbox STATIC
  ${CMAKE_SOURCE_DIR}/sandbox/src/api_server.cc
  ${CMAKE_SOURCE_DIR}/sandbox/src/custom_resources.cc
  ${CMAKE_SOURCE_DIR}/sandbox/src/tables.cc
  ${CMAKE_SOURCE_DIR}/sandbox/src/simulator.cc)
add_library(kubeop::sandbox ALIAS kubeop_sandbox)
target_link_libraries(kubeop_sandbox PUBLIC kubeop_sandbox_store kubeop_sandbox_crd kubeop_sandbox_protobuf kubeop_sandbox_admission kubeop_kube_patch kubeop_http kubeop_base
  PRIVATE Threads::Threads)
kubeop_warnings(kubeop_sandbox)
