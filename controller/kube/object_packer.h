#pragma once
// How the Packed object cache (object_cache.h) holds an object: its MessagePack, deflated against a
// dictionary the packer learns from the objects it packs. The objects of one resource repeat each
// other (the same keys, condition texts, a libvirt definition's boilerplate), which deflate alone cannot
// use, since it sees one object at a time; with earlier objects as a preset dictionary a Ready Snapshot
// deflates to a small fraction of what it does alone.
//
// The dictionary only grows, by appending an object that deflated poorly against it (mostly content the
// dictionary lacks: the first Snapshot with a status, the first with external disks), up to a fixed
// limit. A packed entry records how much of the dictionary it was packed with, and bytes once in the
// dictionary never change, so every entry stays readable as the dictionary grows.
//
// Threads: pack() may be called from any thread (packs take turns on an internal mutex); unpack() takes
// no lock and may run at any time: the dictionary's bytes an entry needs were written (and published by
// the learned size, released after them) before pack() returned that entry.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include <nlohmann/json.hpp>

namespace virtsnap::kube {

class ObjectPacker {
 public:
  // 8 KiB: a few objects' worth; deflating against a dictionary hashes all of it on every pack.
  static constexpr std::size_t kDictionaryLimit = 8192;

  ObjectPacker();
  ObjectPacker(const ObjectPacker&) = delete;
  ObjectPacker& operator=(const ObjectPacker&) = delete;

  std::vector<std::uint8_t> pack(const nlohmann::json& object);
  // Throws std::runtime_error for bytes pack() did not produce (or std::bad_alloc).
  nlohmann::json unpack(const std::vector<std::uint8_t>& packed) const;

  // Bytes of the dictionary learned so far (for tests and benchmarks).
  std::size_t dictionarySize() const;

 private:
  std::mutex packing_;                   // packs take turns: one appends to dictionary_ at a time
  std::atomic<std::size_t> learned_{0};  // bytes of dictionary_ written; released after they are
  // kDictionaryLimit bytes, allocated once: never moves, so unpack() reads it without a lock.
  const std::unique_ptr<std::uint8_t[]> dictionary_;
};

}  // namespace virtsnap::kube
