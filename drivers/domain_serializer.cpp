#include "drivers/domain_serializer.h"

namespace virtsnap::drivers {

DomainSerializer::Turn::~Turn() {
  if (owner_ != nullptr) {
    owner_->release(domain_);
  }
}

DomainSerializer::Turn DomainSerializer::acquire(const std::string& domain) {
  std::unique_lock lock(mutex_);
  released_.wait(lock, [&] { return !busy_[domain]; });
  busy_[domain] = true;
  return Turn(this, domain);
}

void DomainSerializer::release(const std::string& domain) {
  {
    std::lock_guard lock(mutex_);
    busy_.erase(domain);
  }
  released_.notify_all();
}

void DomainSerializer::spaceRevert(const Turn& turn) {
  Clock::TimePoint earliest;
  {
    std::lock_guard lock(mutex_);
    auto it = lastRevert_.find(turn.domain_);
    earliest = it == lastRevert_.end() ? Clock::TimePoint::min() : it->second + revertSpacing_;
  }
  if (clock_->now() < earliest) {
    clock_->sleepUntil(earliest);  // the turn is held, so no other revert of this domain starts meanwhile
  }
  std::lock_guard lock(mutex_);
  lastRevert_[turn.domain_] = clock_->now();
}

}  // namespace virtsnap::drivers
