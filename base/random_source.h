#pragma once
// Randomness, injected: jitter in backoffs comes from here, so tests fix it with a seed.

#include <cstdint>
#include <memory>

namespace virtsnap {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Uniform in [0, 1). Thread-safe.
  virtual double uniform() = 0;
};

using RandomSourcePtr = std::shared_ptr<RandomSource>;

// A Mersenne Twister with this seed.
RandomSourcePtr seededRandom(std::uint64_t seed);
// Seeded from std::random_device.
RandomSourcePtr systemRandom();

}  // namespace virtsnap
