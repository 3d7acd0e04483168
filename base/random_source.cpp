#include "base/random_source.h"

#include <mutex>
#include <random>

namespace virtsnap {

namespace {

class MersenneRandom final : public RandomSource {
 public:
  explicit MersenneRandom(std::uint64_t seed) : engine_(seed) {}
  double uniform() override {
    std::lock_guard lock(mutex_);
    return distribution_(engine_);
  }

 private:
  std::mutex mutex_;  // guards engine_ and distribution_
  std::mt19937_64 engine_;
  std::uniform_real_distribution<double> distribution_{0.0, 1.0};
};

}  // namespace

RandomSourcePtr seededRandom(std::uint64_t seed) {
  return std::make_shared<MersenneRandom>(seed);
}

RandomSourcePtr systemRandom() {
  std::random_device device;
  return seededRandom((static_cast<std::uint64_t>(device()) << 32U) | device());
}

}  // namespace virtsnap
