#include "controller/kube/object_packer.h"

#include <cstring>
#include <stdexcept>

#include <zlib.h>

namespace virtsnap::kube {

namespace {

// A packed entry: the MessagePack's size (4 bytes), the dictionary's size it was deflated against (2
// bytes), both little-endian, then the raw deflate stream (no zlib header or checksum: the entry never
// leaves the process).
constexpr std::size_t kHeaderSize = 6;
constexpr int kRawDeflate = -15;  // negative window bits: raw deflate, 32 KiB window
static_assert(ObjectPacker::kDictionaryLimit <= 0xFFFF, "the header holds the dictionary size in 2 bytes");

// An object that deflates to more than 1/kPoorShareDivisor of its MessagePack is mostly new to the
// dictionary, and so worth learning.
constexpr std::size_t kPoorShareDivisor = 4;
constexpr std::size_t kMostDeflateExpands = 1032;

void putLittleEndian(std::uint8_t* out, std::uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) {
    out[i] = static_cast<std::uint8_t>(value >> (8 * i));
  }
}

std::uint32_t getLittleEndian(const std::uint8_t* in, int bytes) {
  std::uint32_t value = 0;
  for (int i = 0; i < bytes; ++i) {
    value |= static_cast<std::uint32_t>(in[i]) << (8 * i);
  }
  return value;
}

}  // namespace

ObjectPacker::ObjectPacker() : dictionary_(std::make_unique<std::uint8_t[]>(kDictionaryLimit)) {}

std::size_t ObjectPacker::dictionarySize() const {
  return learned_.load(std::memory_order_acquire);
}

std::vector<std::uint8_t> ObjectPacker::pack(const nlohmann::json& object) {
  const std::vector<std::uint8_t> raw = nlohmann::json::to_msgpack(object);
  // A conservative bound (without a stream), so that nothing allocates between deflateInit2 and
  // deflateEnd; zlib counts in 32-bit units.
  const uLong bound = deflateBound(nullptr, static_cast<uLong>(raw.size()));
  if (raw.size() > 0xFFFFFFFFU || bound > 0xFFFFFFFFU - kHeaderSize) {
    throw std::length_error("an object too large to cache");
  }
  std::vector<std::uint8_t> packed(kHeaderSize + bound);
  std::lock_guard lock(packing_);
  const std::size_t dictionarySize = learned_.load(std::memory_order_relaxed);  // only packs change it
  z_stream stream{};
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kRawDeflate, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("the object cache could not deflate an object");  // only out of memory
  }
  int result = Z_OK;
  if (dictionarySize > 0) {
    result = deflateSetDictionary(&stream, dictionary_.get(), static_cast<uInt>(dictionarySize));
  }
  if (result == Z_OK) {
    stream.next_in = const_cast<Bytef*>(raw.data());  // zlib's API is not const-correct; it only reads
    stream.avail_in = static_cast<uInt>(raw.size());
    stream.next_out = packed.data() + kHeaderSize;
    stream.avail_out = static_cast<uInt>(bound);
    result = deflate(&stream, Z_FINISH);
  }
  const std::size_t deflated = stream.total_out;
  deflateEnd(&stream);
  if (result != Z_STREAM_END) {
    throw std::runtime_error("the object cache could not deflate an object");
  }
  putLittleEndian(packed.data(), static_cast<std::uint32_t>(raw.size()), 4);
  putLittleEndian(packed.data() + 4, static_cast<std::uint32_t>(dictionarySize), 2);
  packed.resize(kHeaderSize + deflated);
  packed.shrink_to_fit();
  if (deflated * kPoorShareDivisor > raw.size() && raw.size() <= kDictionaryLimit - dictionarySize) {
    // Appended after the bytes earlier entries use: they read the same prefix as before.
    std::memcpy(dictionary_.get() + dictionarySize, raw.data(), raw.size());
    learned_.store(dictionarySize + raw.size(), std::memory_order_release);
  }
  return packed;
}

nlohmann::json ObjectPacker::unpack(const std::vector<std::uint8_t>& packed) const {
  const std::runtime_error notPacked("the object cache could not inflate an object it deflated");
  if (packed.size() < kHeaderSize) {
    throw notPacked;
  }
  const std::uint32_t rawSize = getLittleEndian(packed.data(), 4);
  const std::uint32_t dictionarySize = getLittleEndian(packed.data() + 4, 2);
  // Deflate expands at most 1032:1; a header claiming more (or a dictionary not yet learned) was not
  // written by pack().
  if (dictionarySize > learned_.load(std::memory_order_acquire) ||
      rawSize > (packed.size() - kHeaderSize) * kMostDeflateExpands) {
    throw notPacked;
  }
  std::vector<std::uint8_t> raw(rawSize);
  z_stream stream{};
  if (inflateInit2(&stream, kRawDeflate) != Z_OK) {
    throw std::runtime_error("the object cache could not inflate an object");  // only out of memory
  }
  int result = Z_OK;
  if (dictionarySize > 0) {
    result = inflateSetDictionary(&stream, dictionary_.get(), dictionarySize);
  }
  if (result == Z_OK) {
    stream.next_in = const_cast<Bytef*>(packed.data() + kHeaderSize);
    stream.avail_in = static_cast<uInt>(packed.size() - kHeaderSize);
    stream.next_out = raw.data();
    stream.avail_out = rawSize;
    result = inflate(&stream, Z_FINISH);
  }
  const bool whole = result == Z_STREAM_END && stream.total_out == rawSize && stream.avail_in == 0;
  inflateEnd(&stream);
  if (!whole) {
    throw notPacked;
  }
  try {
    return nlohmann::json::from_msgpack(raw);
  } catch (const nlohmann::json::exception&) {
    throw notPacked;
  }
}

}  // namespace virtsnap::kube
