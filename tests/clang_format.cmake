# Fails when a C++ file under the project's source folders differs from clang-format's output.
# Run as: cmake -DCLANG_FORMAT=<path> -DSOURCE_DIR=<repo> -P clang_format.cmake
set(files "")
foreach(folder IN ITEMS base controller crds drivers reconcilers tests bench)
  file(GLOB_RECURSE found "${SOURCE_DIR}/${folder}/*.h" "${SOURCE_DIR}/${folder}/*.cpp")
  list(APPEND files ${found})
endforeach()
execute_process(COMMAND ${CLANG_FORMAT} --dry-run --Werror ${files}
                WORKING_DIRECTORY ${SOURCE_DIR} RESULT_VARIABLE result ERROR_VARIABLE output)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "not clang-formatted (run clang-format -i on these):\n${output}")
endif()
list(LENGTH files count)
message(STATUS "clang-format: ${count} files follow .clang-format")
