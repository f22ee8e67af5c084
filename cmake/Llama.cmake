# llama.cpp for `tokencast host --model-file`, as scripts/build-llama installs it (static
# libraries, headers, llama-server, and gguf-py with a vocab-only GGUF for the tests' tiny
# model). TOKENCAST_LLAMA_DIR defaults to the script's install prefix in the cache; without it
# the build still works and --model-file says how to get llama.cpp.
# Sets TOKENCAST_LLAMA_FOUND, the target tokencast_llama, TOKENCAST_LLAMA_SERVER (the binary)
# and TOKENCAST_LLAMA_SHARE (gguf-py, models/).
if(DEFINED ENV{TOKENCAST_CACHE})
  set(llama_cache $ENV{TOKENCAST_CACHE})
else()
  set(llama_cache $ENV{HOME}/.cache/tokencast)
endif()
set(TOKENCAST_LLAMA_DIR "" CACHE PATH
    "llama.cpp as scripts/build-llama installs it (empty: the newest build in the cache)")
set(llama_dir "${TOKENCAST_LLAMA_DIR}")
if(NOT llama_dir)
  # Looked up at every configure, so that a build-llama run after the first configure counts.
  file(GLOB llama_candidates ${llama_cache}/llama.cpp-node-llama-cpp-3.21.1-*/.complete)
  list(SORT llama_candidates)
  foreach(candidate ${llama_candidates})
    get_filename_component(llama_dir ${candidate} DIRECTORY)
  endforeach()
endif()

set(TOKENCAST_LLAMA_FOUND OFF)
if(llama_dir AND EXISTS ${llama_dir}/.complete)
  set(TOKENCAST_LLAMA_FOUND ON)
  set(dir ${llama_dir})
  add_library(tokencast_llama INTERFACE)
  # Order matters for static libraries: each after the ones that use it.
  target_link_libraries(tokencast_llama INTERFACE
    ${dir}/lib/libllama.a ${dir}/lib/libggml.a ${dir}/lib/libggml-cpu.a ${dir}/lib/libggml-base.a
    Threads::Threads ${CMAKE_DL_LIBS} m)
  target_include_directories(tokencast_llama SYSTEM INTERFACE ${dir}/include)
  set(TOKENCAST_LLAMA_SERVER ${dir}/bin/llama-server)
  set(TOKENCAST_LLAMA_SHARE ${dir}/share)
  message(STATUS "llama.cpp: ${dir}")
else()
  message(WARNING "llama.cpp not found (run scripts/build-llama, or set TOKENCAST_LLAMA_DIR): "
                  "building without `tokencast host --model-file`")
endif()
