#pragma once
// The seed of a randomized test: VIRTSNAP_SEED=<n> when set (to replay a run), else a fresh one, which
// the test prints when it fails.

#include <cstdint>
#include <cstdlib>
#include <random>

namespace virtsnap::testsupport {

inline std::uint64_t seedFromEnvironment() {
  const char* seedText = std::getenv("VIRTSNAP_SEED");
  return seedText ? std::strtoull(seedText, nullptr, 10) : std::random_device{}();
}

}  // namespace virtsnap::testsupport
