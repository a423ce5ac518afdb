# Build helpers shared by every directory. Warnings are errors for our own
# code only; generated code (protobuf) is built without them.

set(CRM_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                 -Wimplicit-fallthrough -Werror)
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  # Checks the ABSL_GUARDED_BY / ABSL_EXCLUSIVE_LOCKS_REQUIRED annotations.
  list(APPEND CRM_WARNINGS -Wthread-safety)
endif()

# crm_cc_library(NAME name [HEADER_ONLY] SRCS ... DEPS ... PRIVATE_DEPS ...)
# Public headers live in <dir>/include; sources in <dir>/src.
function(crm_cc_library)
  cmake_parse_arguments(ARG "HEADER_ONLY" "NAME" "SRCS;DEPS;PRIVATE_DEPS" ${ARGN})
  if(ARG_HEADER_ONLY)
    add_library(${ARG_NAME} INTERFACE)
    target_include_directories(${ARG_NAME} INTERFACE
                               ${CMAKE_CURRENT_SOURCE_DIR}/include)
    target_link_libraries(${ARG_NAME} INTERFACE ${ARG_DEPS})
  else()
    add_library(${ARG_NAME} ${ARG_SRCS})
    target_include_directories(${ARG_NAME} PUBLIC
                               ${CMAKE_CURRENT_SOURCE_DIR}/include
                               PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
    target_compile_options(${ARG_NAME} PRIVATE ${CRM_WARNINGS})
    target_link_libraries(${ARG_NAME} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  endif()
  add_library(crm::${ARG_NAME} ALIAS ${ARG_NAME})
endfunction()

# crm_cc_binary(NAME name SRCS ... DEPS ...)
# Links the allocator chosen by CRM_MALLOC (empty for "system").
function(crm_cc_binary)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_compile_options(${ARG_NAME} PRIVATE ${CRM_WARNINGS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} ${CRM_MALLOC_LIBRARY})
endfunction()

# crm_cc_test(NAME name LABEL label SRCS ... DEPS ...)
# One test binary per library; every TEST() becomes a ctest case with LABEL.
function(crm_cc_test)
  if(NOT CRM_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "NAME;LABEL;TIMEOUT" "SRCS;DEPS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_compile_options(${ARG_NAME} PRIVATE ${CRM_WARNINGS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} crm::testing
                        GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${ARG_NAME}
                       PROPERTIES LABELS ${ARG_LABEL} TIMEOUT ${ARG_TIMEOUT}
                       DISCOVERY_TIMEOUT 60)
endfunction()

# crm_proto_library(NAME name PROTOS a.proto ... [GRPC] [DEPS ...])
# Generates C++ for the given protos into one static library. Call it from
# the CMakeLists.txt at the protos' import root (the directory their import
# paths start from), with paths relative to it. Generated code is built
# without our warning flags. GRPC also generates the services' gRPC code
# (<name>.grpc.pb.h: stubs and Service / CallbackService base classes) into
# the same library, which then links gRPC::grpc++.
function(crm_proto_library)
  cmake_parse_arguments(ARG "GRPC" "NAME" "PROTOS;DEPS;IMPORT_DIRS" ${ARGN})
  add_library(${ARG_NAME} ${ARG_PROTOS})
  target_link_libraries(${ARG_NAME} PUBLIC protobuf::libprotobuf ${ARG_DEPS})
  set(out ${CMAKE_CURRENT_BINARY_DIR}/gen)
  file(MAKE_DIRECTORY ${out})
  target_include_directories(${ARG_NAME} PUBLIC ${out})
  protobuf_generate(TARGET ${ARG_NAME} LANGUAGE cpp
                    IMPORT_DIRS ${CMAKE_CURRENT_SOURCE_DIR} ${ARG_IMPORT_DIRS}
                    PROTOC_OUT_DIR ${out})
  if(ARG_GRPC)
    target_link_libraries(${ARG_NAME} PUBLIC gRPC::grpc++)
    protobuf_generate(TARGET ${ARG_NAME} LANGUAGE grpc
                      GENERATE_EXTENSIONS .grpc.pb.h .grpc.pb.cc
                      PLUGIN "protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>"
                      IMPORT_DIRS ${CMAKE_CURRENT_SOURCE_DIR} ${ARG_IMPORT_DIRS}
                      PROTOC_OUT_DIR ${out})
  endif()
  add_library(crm::${ARG_NAME} ALIAS ${ARG_NAME})
endfunction()
