# ksim_proto_library(<target> <file.proto>...)
# Generates C++ from .proto files at build time into the build tree, keeping the
# source-relative path so code includes "cluster/demo/demo.pb.h". Generated code is
# compiled without ksim's warning flags (it is not ours to fix) and is exposed as a
# system include so its headers never break -Werror.
function(ksim_proto_library target)
  set(srcs)
  set(hdrs)
  foreach(proto ${ARGN})
    get_filename_component(abs ${proto} ABSOLUTE)
    file(RELATIVE_PATH rel ${CMAKE_SOURCE_DIR} ${abs})
    string(REGEX REPLACE "\\.proto$" "" stem ${rel})
    set(out_cc ${CMAKE_BINARY_DIR}/${stem}.pb.cc)
    set(out_h ${CMAKE_BINARY_DIR}/${stem}.pb.h)
    add_custom_command(
      OUTPUT ${out_cc} ${out_h}
      COMMAND protobuf::protoc --proto_path=${CMAKE_SOURCE_DIR} --cpp_out=${CMAKE_BINARY_DIR} ${abs}
      DEPENDS ${abs} protobuf::protoc
      COMMENT "protoc ${rel}"
      VERBATIM)
    list(APPEND srcs ${out_cc})
    list(APPEND hdrs ${out_h})
  endforeach()
  add_library(${target} STATIC ${srcs} ${hdrs})
  target_include_directories(${target} SYSTEM PUBLIC ${CMAKE_BINARY_DIR})
  target_link_libraries(${target} PUBLIC protobuf::libprotobuf)
endfunction()
