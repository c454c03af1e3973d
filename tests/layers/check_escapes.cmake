# cmake -DSOURCE=<repository> -P check_escapes.cmake
# The include folders of cmake/Layers.cmake hold links to the sources; two things would walk
# around them: an include line with a ".." component (it resolves from the real folder, past the
# link), and a target given the repository root (or the whole core/) as an include folder.
cmake_minimum_required(VERSION 3.22)
set(problems "")
file(GLOB_RECURSE sources RELATIVE ${SOURCE}
     ${SOURCE}/core/*.cpp ${SOURCE}/core/*.hpp ${SOURCE}/ppserver/*.cpp ${SOURCE}/ppserver/*.hpp
     ${SOURCE}/ppclient/*.cpp ${SOURCE}/ppclient/*.hpp ${SOURCE}/kernels/*.cpp
     ${SOURCE}/kernels/*.h ${SOURCE}/tests/*.cpp ${SOURCE}/tests/*.hpp ${SOURCE}/bench/*.cpp
     ${SOURCE}/examples/*.cpp)
list(LENGTH sources nsources)
foreach(f IN LISTS sources)
  file(STRINGS ${SOURCE}/${f} climbs REGEX "^[ \t]*#[ \t]*include[ \t]*[\"<][^\">]*\\.\\./")
  foreach(l IN LISTS climbs)
    string(APPEND problems "  ${f}: ${l}\n")
  endforeach()
endforeach()
set(cmakes CMakeLists.txt)
foreach(dir cmake core ppserver ppclient kernels lua tests bench examples)
  file(GLOB_RECURSE found RELATIVE ${SOURCE} ${SOURCE}/${dir}/CMakeLists.txt ${SOURCE}/${dir}/*.cmake)
  list(APPEND cmakes ${found})
endforeach()
list(LENGTH cmakes ncmakes)
foreach(f IN LISTS cmakes)
  file(READ ${SOURCE}/${f} text)
  string(REGEX MATCHALL "include_directories[ \t]*\\([^)]*\\)" calls "${text}")
  foreach(call IN LISTS calls)
    if(call MATCHES "\\$\\{(PROJECT|CMAKE)_SOURCE_DIR\\}(/core)?/?[ \t\n)]")
      string(REGEX REPLACE "[ \t\n]+" " " call "${call}")
      string(APPEND problems "  ${f}: ${call}\n")
    endif()
  endforeach()
endforeach()
if(NOT problems STREQUAL "")
  message(FATAL_ERROR "layers: these walk around the include folders of cmake/Layers.cmake:\n"
                      "${problems}")
endif()
message(STATUS "layers: no escape in ${nsources} sources and ${ncmakes} CMake files")
