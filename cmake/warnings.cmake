# Project code builds warning-free; third-party headers sit in system include paths.
function(l4sim_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
endfunction()
