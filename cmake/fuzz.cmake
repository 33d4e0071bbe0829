# cmake/fuzz.cmake - libFuzzer targets (reliability T1), enabled by GRAFT_ENABLE_FUZZ=ON
# with clang (CC=clang-14; Debian also needs libclang-rt-14-dev). The library objects are
# instrumented with -fsanitize=fuzzer-no-link,address,undefined and every
# tests/fuzz/fuzz_<name>.c becomes an executable fuzz_<name>. Configure a separate
# build directory with tests, examples and tools off (scripts/fuzz.sh does this).
# Included at the end of the top-level CMakeLists.txt: include(cmake/fuzz.cmake)
if(GRAFT_ENABLE_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "graft: GRAFT_ENABLE_FUZZ needs clang: CC=clang-14 (apt-get install clang-14 libclang-rt-14-dev)")
  endif()
  if(GRAFT_BUILD_TESTS OR GRAFT_BUILD_EXAMPLES OR GRAFT_BUILD_TOOLS)
    message(FATAL_ERROR "graft: GRAFT_ENABLE_FUZZ instruments the library for libFuzzer; use a separate build "
                        "directory with -DGRAFT_BUILD_TESTS=OFF -DGRAFT_BUILD_EXAMPLES=OFF -DGRAFT_BUILD_TOOLS=OFF "
                        "(see scripts/fuzz.sh)")
  endif()
  set(GRAFT_FUZZ_CFLAGS -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_compile_options(graft_objs PRIVATE ${GRAFT_FUZZ_CFLAGS} -fsanitize=fuzzer-no-link,address,undefined)
  target_compile_options(graft_proto PRIVATE ${GRAFT_FUZZ_CFLAGS} -fsanitize=fuzzer-no-link,address,undefined)
  file(GLOB GRAFT_FUZZ_SRCS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/tests/fuzz/fuzz_*.c)
  foreach(src ${GRAFT_FUZZ_SRCS})
    get_filename_component(name ${src} NAME_WE)
    add_executable(${name} ${src})
    target_compile_options(${name} PRIVATE ${GRAFT_FUZZ_CFLAGS} -fsanitize=fuzzer,address,undefined)
    target_compile_definitions(${name} PRIVATE _POSIX_C_SOURCE=200809L _DEFAULT_SOURCE)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(${name} PRIVATE graft_static)
  endforeach()
endif()
