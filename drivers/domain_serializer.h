#pragma once
// Serializes the mutations of each domain (docs/design.md, Snapshot tree rules) while different
// domains proceed in parallel, and keeps two reverts of one domain at least a minimum interval apart.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <unordered_map>

#include "base/clock.h"

namespace virtsnap::drivers {

class DomainSerializer {
 public:
  explicit DomainSerializer(ClockPtr clock, std::chrono::milliseconds revertSpacing = std::chrono::seconds(1))
      : clock_(std::move(clock)), revertSpacing_(revertSpacing) {}

  // Holds the domain's turn for as long as it lives. Not copyable; movable.
  class Turn {
   public:
    Turn(Turn&& other) noexcept : owner_(other.owner_), domain_(std::move(other.domain_)) {
      other.owner_ = nullptr;
    }
    Turn& operator=(Turn&&) = delete;
    Turn(const Turn&) = delete;
    Turn& operator=(const Turn&) = delete;
    ~Turn();

   private:
    friend class DomainSerializer;
    Turn(DomainSerializer* owner, std::string domain) : owner_(owner), domain_(std::move(domain)) {}
    DomainSerializer* owner_;
    std::string domain_;
  };

  // Blocks until no other thread holds `domain`'s turn, then takes it.
  Turn acquire(const std::string& domain);
  // Within a held turn: waits (on the clock) until the domain's last revert is `revertSpacing` ago,
  // then records now as its last revert.
  void spaceRevert(const Turn& turn);

 private:
  void release(const std::string& domain);

  ClockPtr clock_;
  std::chrono::milliseconds revertSpacing_;
  std::mutex mutex_;  // guards busy_ and lastRevert_
  std::condition_variable released_;
  std::unordered_map<std::string, bool> busy_;
  std::unordered_map<std::string, Clock::TimePoint> lastRevert_;
};

}  // namespace virtsnap::drivers
