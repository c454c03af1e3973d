# Layers enforced by the build: each target's include folder holds only its own sources.
#
#   pp_include_root(<target> <PUBLIC|PRIVATE|INTERFACE> <path>... [UNDER <base> <path>...])
#
# gives <target> an include folder of its own, <build>/layers/<target>, in which each <path>
# (a folder or a single header of the source tree, relative to the repository, or to <base>
# after UNDER) appears at the same relative path as a symbolic link to the source. Sources keep
# their full include lines (`#include "core/proto/codec.hpp"`), but a target now finds only its
# own headers and, through its links, those of the layers below it: an upward include, or one
# into a layer the target does not link, is "No such file" at compile time
# (tests/layers checks this). Nothing is copied, so an edited header is seen at once.
function(pp_include_root target scope)
  set(root ${CMAKE_BINARY_DIR}/layers/${target})
  # Links left from an earlier configure would widen the folder: remove them (the links only;
  # file(REMOVE) never follows one into the sources).
  if(EXISTS ${root})
    file(GLOB_RECURSE old LIST_DIRECTORIES true ${root}/*)
    foreach(entry ${old})
      if(IS_SYMLINK ${entry})
        file(REMOVE ${entry})
      endif()
    endforeach()
  endif()
  set(base ${PROJECT_SOURCE_DIR})
  set(expect_base FALSE)
  foreach(arg ${ARGN})
    if(arg STREQUAL "UNDER")
      set(expect_base TRUE)
    elseif(expect_base)
      set(base ${PROJECT_SOURCE_DIR}/${arg})
      set(expect_base FALSE)
    else()
      if(NOT EXISTS ${base}/${arg})
        message(FATAL_ERROR "pp_include_root(${target}): no ${base}/${arg}")
      endif()
      get_filename_component(parent ${root}/${arg} DIRECTORY)
      file(MAKE_DIRECTORY ${parent})
      file(CREATE_LINK ${base}/${arg} ${root}/${arg} SYMBOLIC)
    endif()
  endforeach()
  target_include_directories(${target} ${scope} ${root})
endfunction()
