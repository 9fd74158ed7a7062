# Kubernetes protobuf request bodies → JSON (kubectl's typed clients send
# application/vnd.kubernetes.protobuf). Plain C++ over kubeop_base: no Boost, no protobuf runtime.
add_library(kubeop_sandbox_protobuf STATIC ${CMAKE_SOURCE_DIR}/sandbox/src/protobuf.cc)
add_library(kubeop::sandbox_protobuf ALIAS kubeop_sandbox_protobuf)
target_include_directories(kubeop_sandbox_protobuf PUBLIC ${CMAKE_SOURCE_DIR}/sandbox/include)
target_link_libraries(kubeop_sandbox_protobuf PUBLIC kubeop_base)
kubeop_warnings(kubeop_sandbox_protobuf)
