include(${CMAKE_CURRENT_LIST_DIR}/KubeopPlugin.cmake)

# Strict warnings, applied PRIVATE to each of our targets (never to third-party code).
function(kubeop_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Woverloaded-virtual -Wcast-align -Wimplicit-fallthrough -Wformat=2)
  if(KUBEOP_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# kubeop_add_test(<name> SOURCES <files...> [LIBS <targets...>] [LABELS <labels...>])
# One GoogleTest executable; its tests are discovered at build time (they must start without
# external services: fixtures start real servers, static initialisers do not).
function(kubeop_add_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS;ENV" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gmock GTest::gtest_main Threads::Threads)
  kubeop_warnings(${name})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  # Paths reach tests through the generated test_paths.h (gtest_discover_tests cannot carry a
  # multi-entry ENVIRONMENT in CMake 3.25); extra ENV entries are set one per property call.
  target_link_libraries(${name} PRIVATE kubeop_test_support)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT ${T_TIMEOUT})
endfunction()
