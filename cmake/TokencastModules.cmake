# tokencast_module(NAME [DIR dir] [EXCLUDE subdir...] DEPS ...): a static library tokencast_NAME
# from every .cpp below src/DIR (DIR defaults to NAME; sub-folders included), except below the
# EXCLUDE sub-folders, which are libraries of their own (e.g. src/llm/parse, the pure parsers).
# Sources are globbed so that modules can grow file by file without editing build files.
# A module with no sources yet becomes an INTERFACE library, so dependents still link.
#
# Include paths are the module boundary: a library sees include/ (every module's public headers)
# and, privately, only its own module's folder src/<module> (the first component of DIR), never
# src/ itself, so a private header of another module does not resolve. scripts/check-includes
# checks the same rule without a build.
set(TOKENCAST_MODULE_TARGETS "" CACHE INTERNAL "")

function(tokencast_module name)
  cmake_parse_arguments(M "" "DIR" "DEPS;EXCLUDE" ${ARGN})
  if(NOT M_DIR)
    set(M_DIR ${name})
  endif()
  set(dir ${PROJECT_SOURCE_DIR}/src/${M_DIR})
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${dir}/*.cpp)
  foreach(sub ${M_EXCLUDE})
    list(FILTER sources EXCLUDE REGEX "^${dir}/${sub}/")
  endforeach()
  string(REGEX MATCH "^[^/]+" module ${M_DIR})
  set(target tokencast_${name})
  if(sources)
    add_library(${target} STATIC ${sources})
    target_include_directories(${target}
      PUBLIC ${PROJECT_SOURCE_DIR}/include
      PRIVATE ${PROJECT_SOURCE_DIR}/src/${module})
    target_link_libraries(${target} PUBLIC ${M_DEPS})
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE ${PROJECT_SOURCE_DIR}/include)
    target_link_libraries(${target} INTERFACE ${M_DEPS})
  endif()
  set(TOKENCAST_MODULE_TARGETS ${TOKENCAST_MODULE_TARGETS} ${target} CACHE INTERNAL "")
endfunction()

# The private folder a test, fuzz target or benchmark may see: <module>_*.cpp names src/<module>.
# Sets `out` to that folder, or to "" for any other name (then it sees public headers only).
function(tokencast_private_dir_of file out)
  get_filename_component(stem ${file} NAME_WE)
  string(REGEX MATCH "^[a-z]+" module ${stem})
  if(IS_DIRECTORY ${PROJECT_SOURCE_DIR}/src/${module})
    set(${out} ${PROJECT_SOURCE_DIR}/src/${module} PARENT_SCOPE)
  else()
    set(${out} "" PARENT_SCOPE)
  endif()
endfunction()
