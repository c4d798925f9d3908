# Precompiled headers. Most of a compile here is GCC parsing the same headers
# again (the standard library, Abseil, protobuf, gRPC, the generated
# messages): GCC's -ftime-report put about two thirds of a test's compile in
# its parser. Each flavour below is parsed once per tree and every target of the
# directories that use it reuses it (REUSE_FROM), so the flags of all of
# them must agree: the flavour targets link what their headers need and the
# warnings, nothing that adds a definition.
#
# A flavour holds only headers that most of its users include anyway: GCC
# loads the whole file into every compile that uses it, which costs a
# compile that needed little of it more than it saves.
#
# GCC trees and the clang sanitizer tree (scripts/sanitize.sh) use them.
# clang checks a precompiled header's flags more strictly: a compile with
# libFuzzer's coverage cannot use one made without, so the libraries the
# sanitizer tree gives that coverage (tests/fuzz) compile without, and the
# fuzzing tree (-DLANEVAULT_FUZZ=ON, coverage everywhere) and other clang
# trees build without them. -DLANEVAULT_PCH=OFF builds without them too,
# which shows whether a file relies on a header it only gets from a flavour
# (no script's tree does that now but the fuzzing tree's few libraries).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" OR
   (CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND LANEVAULT_SANITIZE AND
    NOT LANEVAULT_FUZZ))
  option(LANEVAULT_PCH "Precompile the headers most files include" ON)
else()
  if(LANEVAULT_PCH)
    message(WARNING "LANEVAULT_PCH is for GCC trees and the clang sanitizer "
            "tree; building without")
  endif()
  set(LANEVAULT_PCH OFF)
endif()

# GCC 12 reports false positives inside std::string's inlined copies
# (-Warray-bounds, -Wstringop-overflow, -Wstringop-overread: its well-known
# noise at -O2) where the standard headers came from a precompiled header,
# though not where the same headers were parsed in the compile itself, where
# it takes them for system headers. Seen here, not traced in GCC's code.
# The files below tripped them in the main tree; a GCC sanitizer tree,
# built at -O1 with ASan's instrumentation, inlines differently and only
# runs tests, so there every user goes without them. The three warnings stay on
# everywhere else in the main tree, and on every file with
# -DLANEVAULT_PCH=OFF.
set(LANEVAULT_NO_STRING_FALSE_POSITIVES)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  set(LANEVAULT_NO_STRING_FALSE_POSITIVES
      -Wno-array-bounds -Wno-stringop-overflow -Wno-stringop-overread)
endif()

set(LANEVAULT_PCH_CORE
    <algorithm> <atomic> <chrono> <cstdint> <functional> <map> <memory>
    <mutex> <optional> <string> <string_view> <utility> <vector>
    [["absl/status/status.h"]] [["absl/status/statusor.h"]]
    [["absl/strings/str_cat.h"]] [["absl/synchronization/mutex.h"]]
    [["absl/time/time.h"]] [["google/protobuf/message.h"]]
    [["lanevault/v1/types.pb.h"]] [["lanevault/v1/contract.pb.h"]]
    [["lanevault/v1/audit.pb.h"]])
set(LANEVAULT_PCH_VISION ${LANEVAULT_PCH_CORE}
    [["opencv2/core.hpp"]] [["opencv2/imgproc.hpp"]])
set(LANEVAULT_PCH_RPC ${LANEVAULT_PCH_CORE} [["grpcpp/grpcpp.h"]])
set(LANEVAULT_PCH_TEST ${LANEVAULT_PCH_RPC} [["gtest/gtest.h"]])

function(lanevault_pch_flavour name)
  cmake_parse_arguments(arg "" "" "HEADERS;LINKS" ${ARGN})
  add_library(lanevault_pch_${name} OBJECT
              ${PROJECT_SOURCE_DIR}/cmake/precompiled.cc)
  target_link_libraries(lanevault_pch_${name}
                        PRIVATE lanevault_proto ${arg_LINKS} lanevault_warnings)
  target_compile_options(lanevault_pch_${name} PRIVATE -pthread)
  target_precompile_headers(lanevault_pch_${name} PRIVATE ${arg_HEADERS})
endfunction()

# Every C++ target defined in `dir` reuses flavour `name`, or the one whose
# flags are its own: GCC refuses a precompiled header whose macros differ
# from the compile's where its headers look at them, and -Winvalid-pch with
# -Werror makes a refusal an error rather than a silently slower build. So a
# target that links OpenMP (-fopenmp's _OPENMP) takes `vision`, the one
# flavour that does, and in tests/ a program that is not a GoogleTest
# program (no GTEST_HAS_PTHREAD) takes `rpc`. Every user gets -pthread
# (_REENTRANT; every program links threads anyway) and the generated
# messages' folder, which the flavours' headers name.
function(lanevault_use_pch name dir)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(target IN LISTS targets)
    get_target_property(type ${target} TYPE)
    get_target_property(sources ${target} SOURCES)
    if(NOT type MATCHES "^(STATIC_LIBRARY|EXECUTABLE|OBJECT_LIBRARY)$" OR
       NOT sources MATCHES "\\.cc(;|$)")
      continue()
    endif()
    # clang refuses a precompiled header made without the fuzzer's
    # coverage in a compile with it (tests/fuzz adds it in a clang
    # sanitizer tree to the few libraries a contract runs through).
    get_target_property(options ${target} COMPILE_OPTIONS)
    if("-fsanitize=fuzzer-no-link" IN_LIST options)
      continue()
    endif()
    get_target_property(links ${target} LINK_LIBRARIES)
    set(flavour ${name})
    if("OpenMP::OpenMP_CXX" IN_LIST links)
      set(flavour vision)
    elseif(name STREQUAL "test" AND NOT "GTest::gtest_main" IN_LIST links)
      set(flavour rpc)
    endif()
    target_precompile_headers(${target} REUSE_FROM lanevault_pch_${flavour})
    target_compile_options(${target} PRIVATE -pthread)
    target_include_directories(${target} PRIVATE
        $<TARGET_PROPERTY:lanevault_proto,INTERFACE_INCLUDE_DIRECTORIES>)
    if(LANEVAULT_SANITIZE)
      target_compile_options(${target} PRIVATE
                             ${LANEVAULT_NO_STRING_FALSE_POSITIVES})
    endif()
  endforeach()
endfunction()

function(lanevault_precompile_headers)
  if(NOT LANEVAULT_PCH)
    return()
  endif()
  set_source_files_properties(
      ${PROJECT_SOURCE_DIR}/src/witness/witness.cc
      DIRECTORY ${PROJECT_SOURCE_DIR}/src/witness
      PROPERTIES COMPILE_OPTIONS "${LANEVAULT_NO_STRING_FALSE_POSITIVES}")
  set_source_files_properties(
      ${PROJECT_SOURCE_DIR}/src/node/sealing_sink.cc
      DIRECTORY ${PROJECT_SOURCE_DIR}/src/node
      PROPERTIES COMPILE_OPTIONS "${LANEVAULT_NO_STRING_FALSE_POSITIVES}")
  lanevault_pch_flavour(core HEADERS ${LANEVAULT_PCH_CORE}
                        LINKS absl::status absl::statusor absl::strings
                              absl::synchronization absl::time)
  # For the capture library, the one user of OpenMP (Tesseract's).
  find_package(OpenMP REQUIRED COMPONENTS CXX)
  lanevault_pch_flavour(vision HEADERS ${LANEVAULT_PCH_VISION}
                        LINKS opencv_core opencv_imgproc OpenMP::OpenMP_CXX)
  # Its one user's optimisation level (clang refuses a precompiled header
  # whose __OPTIMIZE__ differs from the compile's).
  target_compile_options(lanevault_pch_vision PRIVATE
                         ${LANEVAULT_HOT_OPTIMIZE})
  lanevault_pch_flavour(rpc HEADERS ${LANEVAULT_PCH_RPC} LINKS gRPC::grpc++)
  foreach(module common crypto receipt alerts tlog witness footage capture
                 watermark policy vault)
    lanevault_use_pch(core ${PROJECT_SOURCE_DIR}/src/${module})
  endforeach()
  foreach(module rpc node wiring api replica ops cmd)
    lanevault_use_pch(rpc ${PROJECT_SOURCE_DIR}/src/${module})
  endforeach()
  if(LANEVAULT_BUILD_BENCH)
    lanevault_use_pch(rpc ${PROJECT_SOURCE_DIR}/bench)
  endif()
  if(LANEVAULT_BUILD_TESTS)
    lanevault_pch_flavour(test HEADERS ${LANEVAULT_PCH_TEST}
                          LINKS gRPC::grpc++ GTest::gtest)
    target_compile_options(lanevault_pch_test PRIVATE
                           ${LANEVAULT_TEST_OPTIMIZE})
    set_source_files_properties(
        ${PROJECT_SOURCE_DIR}/tests/unit/replica_quota_test.cc
        DIRECTORY ${PROJECT_SOURCE_DIR}/tests
        PROPERTIES COMPILE_OPTIONS "${LANEVAULT_NO_STRING_FALSE_POSITIVES}")
    lanevault_use_pch(test ${PROJECT_SOURCE_DIR}/tests)
  endif()
endfunction()
