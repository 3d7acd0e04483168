# Project-wide warning and sanitizer flags, applied through one interface target.
add_library(virtsnap_flags INTERFACE)
target_compile_options(virtsnap_flags INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                                -Wold-style-cast -Wcast-align -Woverloaded-virtual)
if(VIRTSNAP_WERROR)
  target_compile_options(virtsnap_flags INTERFACE -Werror)
endif()
if(VIRTSNAP_SANITIZE)
  target_compile_options(virtsnap_flags INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                                                  -fno-sanitize-recover=undefined
                                                  $<$<BOOL:$<TARGET_PROPERTY:VIRTSNAP_NO_VPTR_CHECK>>:-fno-sanitize=vptr>)
  target_link_options(virtsnap_flags INTERFACE -fsanitize=address,undefined)
endif()
if(VIRTSNAP_TSAN)
  if(VIRTSNAP_SANITIZE)
    message(FATAL_ERROR "VIRTSNAP_TSAN and VIRTSNAP_SANITIZE cannot be combined")
  endif()
  target_compile_options(virtsnap_flags INTERFACE -fsanitize=thread -fno-omit-frame-pointer)
  target_link_options(virtsnap_flags INTERFACE -fsanitize=thread)
endif()
# A target whose code instantiates cpprestsdk's templates sets VIRTSNAP_NO_VPTR_CHECK: those headers view a
# streambuf<char> as a streambuf<unsigned char> (http_response::set_body), which UBSan's vptr check reports
# inside the library. The flag must come after -fsanitize=undefined, hence here and not on the target.
