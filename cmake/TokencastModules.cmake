# tokencast_module(NAME DEPS ...): a static library tokencast_NAME from src/NAME/*.cpp.
# Sources are globbed so that modules can grow file by file without editing build files.
# A module with no sources yet becomes an INTERFACE library, so dependents still link.
set(TOKENCAST_MODULE_TARGETS "" CACHE INTERNAL "")

function(tokencast_module name)
  cmake_parse_arguments(M "" "" "DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cpp)
  set(target tokencast_${name})
  if(sources)
    add_library(${target} STATIC ${sources})
    target_include_directories(${target}
      PUBLIC ${PROJECT_SOURCE_DIR}/include
      PRIVATE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(${target} PUBLIC ${M_DEPS})
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE ${PROJECT_SOURCE_DIR}/include)
    target_link_libraries(${target} INTERFACE ${M_DEPS})
  endif()
  set(TOKENCAST_MODULE_TARGETS ${TOKENCAST_MODULE_TARGETS} ${target} CACHE INTERNAL "")
endfunction()
