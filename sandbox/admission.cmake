# Admission webhooks (sandbox/src/admission.cc): mutating and validating webhook configurations
# from the store, called over HTTPS with AdmissionReview. Its own library so the store stays free
# of HTTP and the API server links it explicitly.
add_library(kubeop_sandbox_admission STATIC ${CMAKE_SOURCE_DIR}/sandbox/src/admission.cc)
add_library(kubeop::sandbox_admission ALIAS kubeop_sandbox_admission)
target_include_directories(kubeop_sandbox_admission PUBLIC ${CMAKE_SOURCE_DIR}/sandbox/include)
target_link_libraries(kubeop_sandbox_admission PUBLIC kubeop_sandbox_store kubeop_kube_patch kubeop_http kubeop_base
  PRIVATE Threads::Threads)
kubeop_warnings(kubeop_sandbox_admission)
