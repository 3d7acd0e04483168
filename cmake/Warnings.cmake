# Project-wide warning and sanitizer flags, applied through one interface target.
add_library(virtsnap_flags INTERFACE)
target_compile_options(virtsnap_flags INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                                -Wold-style-cast -Wcast-align -Woverloaded-virtual)
if(VIRTSNAP_WERROR)
  target_compile_options(virtsnap_flags INTERFACE -Werror)
endif()
if(VIRTSNAP_SANITIZE)
  target_compile_options(virtsnap_flags INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                                                  -fno-sanitize-recover=undefined)
  target_link_options(virtsnap_flags INTERFACE -fsanitize=address,undefined)
endif()
