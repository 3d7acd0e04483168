# Every third-party dependency is found here, once; layers link the imported targets they may use.
find_package(PkgConfig REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(LibXml2 REQUIRED)
pkg_check_modules(LIBVIRT REQUIRED IMPORTED_TARGET libvirt>=9.0)
# GoogleTest only where the tests are built: -DBUILD_TESTING=OFF (the agent image) needs no gtest. CTest's
# BUILD_TESTING is not declared yet here, so "not defined" means its default, ON.
if(NOT VIRTSNAP_FUZZ AND (NOT DEFINED BUILD_TESTING OR BUILD_TESTING))
  find_package(GTest REQUIRED)
endif()
find_package(Threads REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(cpprestsdk CONFIG REQUIRED)
if(NOT VIRTSNAP_FUZZ)
  find_package(prometheus-cpp CONFIG REQUIRED)
  pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)  # Debian's re2 ships no CMake package
  find_package(ZLIB REQUIRED)
  find_package(spdlog CONFIG REQUIRED)
  find_package(CLI11 CONFIG REQUIRED)
endif()
if(VIRTSNAP_BUILD_BENCH AND NOT VIRTSNAP_FUZZ)
  find_package(benchmark REQUIRED)
endif()
