# Warnings apply to the project's own targets only (generated code is exempt:
# protoc's output is not ours to fix).
add_library(lanevault_warnings INTERFACE)
target_compile_options(lanevault_warnings INTERFACE -Wall -Wextra -Wpedantic
                       -Wshadow -Wnon-virtual-dtor)
if(LANEVAULT_WERROR)
  target_compile_options(lanevault_warnings INTERFACE -Werror)
endif()
if(LANEVAULT_SANITIZE)
  # float-cast-overflow: a double converted to an integer that cannot hold
  # it. clang's "undefined" includes it, GCC's does not.
  # Named once: proto/ turns the same list off for protoc's output.
  set(LANEVAULT_SANITIZERS address,undefined,float-cast-overflow)
  add_compile_options(-fsanitize=${LANEVAULT_SANITIZERS}
                      -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${LANEVAULT_SANITIZERS})
endif()
# A clang sanitizer tree builds the contract fuzzer too; libFuzzer's
# coverage instruments only what it exercises (see tests/fuzz).
if(LANEVAULT_SANITIZE AND CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  set(LANEVAULT_SANITIZE_FUZZ ON)
endif()
if(LANEVAULT_FUZZ)
  # Coverage for libFuzzer and bug detectors for everything the fuzzer links.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
