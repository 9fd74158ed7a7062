# --- kubeop_operator: the Tenant/Project/App controllers and the Operator that runs them.
# kubeop's CRDs (deploy/crds/*.yaml) are compiled in, so `kubeop operator` and `kubeop up` install
# them without files on disk.
file(GLOB KUBEOP_CRD_FILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/deploy/crds/*.yaml)
# Editing a CRD re-runs the configure step (the glob alone notices only added or removed files).
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${KUBEOP_CRD_FILES})
set(KUBEOP_EMBEDDED_CRDS "")
foreach(crd ${KUBEOP_CRD_FILES})
  file(READ ${crd} text)
  string(APPEND KUBEOP_EMBEDDED_CRDS "      R\"kubeopcrd(${text})kubeopcrd\",\n")
endforeach()
configure_file(${CMAKE_CURRENT_LIST_DIR}/crds_embedded.cc.in ${CMAKE_BINARY_DIR}/generated/crds_embedded.cc @ONLY)

add_library(kubeop_operator STATIC
  ${CMAKE_CURRENT_LIST_DIR}/naming.cc
  ${CMAKE_CURRENT_LIST_DIR}/common.cc
  ${CMAKE_CURRENT_LIST_DIR}/tenancy.cc
  ${CMAKE_CURRENT_LIST_DIR}/app.cc
  ${CMAKE_CURRENT_LIST_DIR}/operator.cc
  ${CMAKE_BINARY_DIR}/generated/crds_embedded.cc)
add_library(kubeop::operator ALIAS kubeop_operator)
target_include_directories(kubeop_operator PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(kubeop_operator PUBLIC kubeop_kube_client kubeop_reconcile kubeop_observe kubeop_plugin_host
  kubeop_metrics PRIVATE Threads::Threads)
kubeop_warnings(kubeop_operator)
