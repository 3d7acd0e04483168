# Fails when an #include crosses a layer the wrong way. Every source file belongs to one library (the
# longest folder below that matches it), and each library may include only the project folders and the
# third-party families listed for it here: the same arrows its target_link_libraries draws.
#
#   library                 may include (project)                               third-party
#   base                    base/                                               standard library only
#   meta                    base/ crds/meta/                                    nlohmann yaml-cpp
#   crds                    base/ crds/                                         nlohmann
#   drivers                 base/ drivers/ (not drivers/libvirt/)               -
#   libvirt                 base/ drivers/                                      libvirt libxml2
#   reconcilers             base/ crds/ drivers/ (not drivers/libvirt/),        nlohmann
#                           the runtime's interface headers (see below)
#   cel                     base/ controller/apiserver/cel/                     nlohmann re2
#   apiserver_core          base/ crds/meta/ controller/apiserver/ (not http/)  nlohmann openssl zlib
#   apiserver (http)        base/ crds/meta/ controller/apiserver/              + cpprestsdk yaml-cpp
#   kube_core               base/ crds/meta/ controller/kube/ (not http/)       nlohmann prometheus zlib
#                                                                               openssl (digests)
#   kube (http)             base/ crds/meta/ controller/kube/                   + cpprestsdk openssl
#   logging                 base/ controller/logging/                        spdlog nlohmann
#   agent                   base/ crds/ reconcilers/ drivers/ (not libvirt/),  nlohmann prometheus
#                           controller/kube/ (not http/), controller/apiserver/ (standalone mode)
#                           controller/agent/ and agent/web/ (the tree page's data)
#   agent (http)            base/ controller/agent/                             cpprestsdk
#   plugin                  base/ crds/ controller/kube/ (not http/)            nlohmann
#                           controller/plugin/ (the kubectl plugin's commands)
#   controller binaries     anything (only the main files wire concrete classes together)
#
# The runtime and the API server never include a product kind (crds/ outside crds/meta/) or drivers/;
# reconcilers never include drivers/libvirt, cpprestsdk or the API server.
# Run as: cmake -DSOURCE_DIR=<repo> -P layering.cmake
cmake_minimum_required(VERSION 3.25)

# Third-party header families, by their include prefix.
set(family_nlohmann "nlohmann/")
set(family_yaml "yaml-cpp/")
set(family_cpprest "cpprest/|pplx/|boost/")
set(family_libvirt "libvirt/")
set(family_libxml "libxml/")
set(family_openssl "openssl/")
set(family_prometheus "prometheus/")
set(family_re2 "re2/")
set(family_zlib "zlib\\.h")
set(family_spdlog "spdlog/|fmt/")
set(family_cli "CLI/")
set(family_test "gtest/|gmock/|benchmark/")
set(all_families
    "${family_nlohmann}|${family_yaml}|${family_cpprest}|${family_libvirt}|${family_libxml}|${family_openssl}|${family_prometheus}|${family_re2}|${family_zlib}|${family_spdlog}|${family_cli}|${family_test}")

# The runtime's interface headers a reconciler may use.
set(runtime_interfaces
    "controller/kube/(reconciler|reconcile_result|typed_client|api_client|kube_error|event_recorder|object_cache|informer|work_queue|json_fields)\\.h")

# name | folder regex (relative path) | allowed project include regex | allowed third-party regex
set(libraries
    "base|^base/|^base/|^$"
    "meta|^crds/meta/|^(base|crds/meta)/|^(${family_nlohmann}|${family_yaml})"
    "crds|^crds/|^(base|crds)/|^(${family_nlohmann})"
    "libvirt|^drivers/libvirt/|^(base|drivers)/|^(${family_libvirt}|${family_libxml})"
    "drivers|^drivers/|^(base/|drivers/[^/]+$)|^$"
    "reconcilers|^reconcilers/|^(base/|crds/|drivers/[^/]+$|reconcilers/|${runtime_interfaces}$)|^(${family_nlohmann})"
    "cel|^controller/apiserver/cel/|^(base|controller/apiserver/cel)/|^(${family_nlohmann}|${family_re2})"
    "apiserver_http|^controller/apiserver/http/|^(base|crds/meta|controller/apiserver)/|^(${family_nlohmann}|${family_yaml}|${family_cpprest}|${family_openssl}|${family_zlib})"
    "apiserver_core|^controller/apiserver/|^(base/|crds/meta/|controller/apiserver/(cel/|storage/|validation/|[^/]+$))|^(${family_nlohmann}|${family_openssl}|${family_zlib})"
    "kube_http|^controller/kube/http/|^(base|crds/meta|controller/kube)/|^(${family_nlohmann}|${family_cpprest}|${family_openssl}|${family_prometheus})"
    "kube_core|^controller/kube/|^(base/|crds/meta/|controller/kube/[^/]+$)|^(${family_nlohmann}|${family_prometheus}|${family_zlib}|${family_openssl})"
    "agent_http|^controller/agent/http/|^(base|controller/agent)/|^(${family_cpprest})"
    "agent|^controller/agent/|^(base/|crds/|drivers/[^/]+$|reconcilers/|controller/kube/[^/]+$|controller/apiserver/|controller/agent/(web/)?[^/]+$)|^(${family_nlohmann}|${family_prometheus})"
    "plugin|^controller/plugin/|^(base/|crds/|controller/kube/[^/]+$|controller/plugin/)|^(${family_nlohmann})"
    "logging|^controller/logging/|^(base|controller/logging)/|^(${family_spdlog}|${family_nlohmann})")

set(violations "")
file(GLOB_RECURSE files RELATIVE "${SOURCE_DIR}" "${SOURCE_DIR}/base/*" "${SOURCE_DIR}/crds/*" "${SOURCE_DIR}/drivers/*"
     "${SOURCE_DIR}/reconcilers/*" "${SOURCE_DIR}/controller/*")
list(FILTER files INCLUDE REGEX "\\.(h|cpp)$")
foreach(rel IN LISTS files)
  # The library the file belongs to: the first row (most specific folders come first) whose folder matches.
  set(library "")
  foreach(row IN LISTS libraries)
    string(REPLACE "|^" ";^" fields "${row}")
    list(GET fields 0 name)
    list(GET fields 1 folder)
    if(rel MATCHES "${folder}")
      set(library "${name}")
      list(GET fields 2 allowed_project)
      list(GET fields 3 allowed_third_party)
      break()
    endif()
  endforeach()
  if(NOT library)
    continue()  # binaries' main files (controller/*_main.cpp) may wire anything
  endif()
  file(STRINGS "${SOURCE_DIR}/${rel}" includes REGEX "^[ \t]*#[ \t]*include")
  foreach(line IN LISTS includes)
    if(line MATCHES "#[ \t]*include[ \t]*\"([^\"]+)\"")
      set(target "${CMAKE_MATCH_1}")
      if(NOT target MATCHES "${allowed_project}")
        list(APPEND violations "${rel} (${library}): ${line}")
      endif()
    elseif(line MATCHES "#[ \t]*include[ \t]*<([^>]+)>")
      set(target "${CMAKE_MATCH_1}")
      if(target MATCHES "^(${all_families})" AND NOT target MATCHES "${allowed_third_party}")
        list(APPEND violations "${rel} (${library}): ${line}")
      endif()
    endif()
  endforeach()
endforeach()

if(violations)
  list(JOIN violations "\n  " text)
  message(FATAL_ERROR "includes that cross a layer the wrong way:\n  ${text}")
endif()
message(STATUS "layering: every include points the way the libraries link")
