# Project code builds warning-free; third-party headers sit in system include paths.
function(l4sim_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
  if(L4SIM_SANITIZE)
    # GCC 12's flow analysis gives false maybe-uninitialized reports under ASan.
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
  endif()
endfunction()
