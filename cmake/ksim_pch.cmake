# Precompiled headers for a cold build (KSIM_PCH; scripts/build.sh turns it on for CI).
#
# Two thirds of ksim's translation units include the generated API messages (core.pb.h is
# 2.7 MB) and half of them are gtest files: parsing those headers was 3-4 s of every such
# file's 8-17 s. A precompiled header costs about 1 s to load instead, so it pays only
# where the file would have parsed the headers anyway: the API-layer libraries below and
# the tests that link them get the API header; the other tests get only gtest's; the
# store, raft, sim and env libraries get none (docs/BUILD_TIME.md).
#
# Off by default: ccache cannot reuse a compile that loads a precompiled header unless
# told to (sloppiness pch_defines,time_macros and -fpch-preprocess), so developers'
# ccache builds keep the plain compile. A file that forgets an include still compiles
# with KSIM_PCH=ON, but not in those builds, so a missing include does not go unnoticed.
option(KSIM_PCH "precompile the API and gtest headers (cold builds: CI)" OFF)

# Libraries whose files nearly all include core.pb.h.
set(KSIM_API_PCH_LIBS
  ksim_api ksim_apiserver ksim_apiserver_auth ksim_apiserver_core ksim_apiserver_resources
  ksim_apiserver_strategy ksim_client ksim_controllers ksim_kubelet ksim_kubelet_node ksim_proxy
  ksim_scenarios ksim_scheduler ksim_scheduler_framework ksim_scheduler_plugins ksim_scheduler_queue)

set(ksim_pch_std <algorithm> <chrono> <cstdint> <deque> <functional> <map> <memory> <optional>
  <ostream> <set> <sstream> <string> <string_view> <utility> <variant> <vector>)
set(ksim_pch_api <nlohmann/json.hpp> <google/protobuf/message.h>
  [["cluster/api/meta.pb.h"]] [["cluster/api/core.pb.h"]])

# One precompiled header per set of compile flags (GCC rejects a header built with other
# -O/-g flags); every user then reuses it instead of building its own 100-270 MB copy.
function(ksim_pch_target name)
  cmake_parse_arguments(P "TEST" "" "HEADERS;LIBS" ${ARGN})
  set(anchor ${CMAKE_BINARY_DIR}/ksim_pch_anchor.cc)
  if(NOT EXISTS ${anchor})
    file(WRITE ${anchor} "// Compiled only so that its target builds the precompiled header.\n")
  endif()
  add_library(${name} OBJECT ${anchor})
  target_link_libraries(${name} PRIVATE ksim_flags ${P_LIBS})
  if(P_TEST)
    # The flags of ksim_test (tests/CMakeLists.txt).
    target_link_libraries(${name} PRIVATE GTest::gtest)
    target_compile_options(${name} PRIVATE $<$<CONFIG:RelWithDebInfo>:-O1 -g1>)
  endif()
  target_precompile_headers(${name} PRIVATE ${P_HEADERS})
endfunction()

if(KSIM_PCH)
  # GCC 12 reports its std::string false positives (bugs 105329, 105651) from inside the
  # precompiled libstdc++ headers, which it keeps quiet about when the headers are parsed
  # (cluster/api/yaml_documents.cc, `std::string(sv) + "..."`). Plain builds keep them.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(ksim_flags INTERFACE -Wno-array-bounds -Wno-stringop-overflow -Wno-stringop-overread)
  endif()
  ksim_pch_target(ksim_pch_api HEADERS ${ksim_pch_std} ${ksim_pch_api} LIBS ksim_api_proto nlohmann_json::nlohmann_json)
  ksim_pch_target(ksim_pch_api_test TEST HEADERS ${ksim_pch_std} ${ksim_pch_api} <gtest/gtest.h>
    LIBS ksim_api_proto nlohmann_json::nlohmann_json)
  ksim_pch_target(ksim_pch_test TEST HEADERS ${ksim_pch_std} <gtest/gtest.h>)
endif()

# Called once every library exists (top-level CMakeLists.txt).
function(ksim_pch_use_in_libraries)
  if(NOT KSIM_PCH)
    return()
  endif()
  foreach(lib ${KSIM_API_PCH_LIBS})
    if(TARGET ${lib})
      target_precompile_headers(${lib} REUSE_FROM ksim_pch_api)
    endif()
  endforeach()
endfunction()

# A test that links an API-layer library includes the API headers; others only gtest.
function(ksim_pch_use_in_test name)
  if(NOT KSIM_PCH)
    return()
  endif()
  set(pch ksim_pch_test)
  foreach(lib ${ARGN})
    if(lib IN_LIST KSIM_API_PCH_LIBS)
      set(pch ksim_pch_api_test)
    endif()
  endforeach()
  target_precompile_headers(${name} REUSE_FROM ${pch})
endfunction()
