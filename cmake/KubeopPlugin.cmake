# kubeop_add_plugin(<target> SOURCES <files...> [LIBS <targets...>] [OUTPUT_DIR <dir>])
# Builds a loadable plugin (a MODULE library named lib<target>.so) against kubeop::plugin_sdk.
# Shared by the in-tree build and by third parties through find_package(kubeop).
function(kubeop_add_plugin target)
  cmake_parse_arguments(P "" "OUTPUT_DIR" "SOURCES;LIBS" ${ARGN})
  add_library(${target} MODULE ${P_SOURCES})
  target_link_libraries(${target} PRIVATE kubeop::plugin_sdk ${P_LIBS})
  set_target_properties(${target} PROPERTIES
    PREFIX "lib"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON)
  target_compile_features(${target} PRIVATE cxx_std_20)
  if(P_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${P_OUTPUT_DIR})
  endif()
  # A plugin must not leave undefined symbols for the host to satisfy.
  target_link_options(${target} PRIVATE "LINKER:--no-undefined")
endfunction()
