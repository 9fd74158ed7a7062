# --- Kubernetes client: discovery, CRUD, patch/apply, watch, retries, rate limiting, informers.
# Included from core/CMakeLists.txt. No Boost here: the network sits behind kubeop_http.
add_library(kubeop_kube_client STATIC
  ${CMAKE_CURRENT_LIST_DIR}/src/kube/client.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/kube/informer.cc)
add_library(kubeop::kube_client ALIAS kubeop_kube_client)
# zstd: the informers' compact caches (CacheStorage::kCompactJson).
find_package(PkgConfig REQUIRED)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
target_link_libraries(kubeop_kube_client PUBLIC kubeop_base kubeop_kube_patch kubeop_http
  PRIVATE Threads::Threads PkgConfig::ZSTD)
kubeop_warnings(kubeop_kube_client)
