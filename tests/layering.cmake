# Fails when an #include crosses a layer the wrong way (docs/design.md, Layers):
#   crds/ and drivers/ (outside drivers/libvirt/) include nothing of Kubernetes, libvirt or cpprestsdk;
#   crds/ and drivers/ include nothing of each other; reconcilers/ include no libvirt and no cpprestsdk.
# Run as: cmake -DSOURCE_DIR=<repo> -P layering.cmake
set(violations "")

function(check_folder folder exclude_regex forbidden_regex)
  file(GLOB_RECURSE files "${SOURCE_DIR}/${folder}/*.h" "${SOURCE_DIR}/${folder}/*.cpp")
  foreach(file IN LISTS files)
    if(exclude_regex AND file MATCHES "${exclude_regex}")
      continue()
    endif()
    file(STRINGS "${file}" includes REGEX "^[ \t]*#[ \t]*include")
    foreach(line IN LISTS includes)
      if(line MATCHES "${forbidden_regex}")
        file(RELATIVE_PATH rel "${SOURCE_DIR}" "${file}")
        set(violations "${violations}\n  ${rel}: ${line}")
      endif()
    endforeach()
  endforeach()
  set(violations "${violations}" PARENT_SCOPE)
endfunction()

set(kube_or_http "[\"<](cpprest/|controller/|reconcilers/|prometheus/)")
check_folder(crds "" "${kube_or_http}|[\"<](drivers/|libvirt/|libxml/)")
check_folder(drivers "/drivers/libvirt/" "${kube_or_http}|[\"<](crds/|libvirt/|libxml/|drivers/libvirt/)")
check_folder(drivers/libvirt "" "${kube_or_http}|[\"<]crds/")
check_folder(reconcilers "" "[\"<](cpprest/|libvirt/|libxml/|drivers/libvirt/|controller/)")

if(violations)
  message(FATAL_ERROR "includes that cross a layer the wrong way:${violations}")
endif()
message(STATUS "layering: every include points the way docs/design.md draws")
