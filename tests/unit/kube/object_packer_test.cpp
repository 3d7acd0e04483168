#include "controller/kube/object_packer.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace virtsnap::kube {
namespace {

using nlohmann::json;

// A Ready Snapshot as the agent caches it: the text each object repeats (keys, condition, the
// definition's boilerplate) and what differs (name, uid, times, the domain).
json readySnapshot(int i, const std::string& domainName) {
  const std::string name = "snap-" + std::to_string(i);
  const std::string definition =
      "<domainsnapshot>\n  <name>" + name + "</name>\n  <state>running</state>\n  <creationTime>" +
      std::to_string(1796599830 + i) + "</creationTime>\n  <memory snapshot='internal'/>\n  <disks>\n" +
      "    <disk name='vda' snapshot='internal'/>\n  </disks>\n  <domain type='test'>\n    <name>vms." +
      domainName + "</name>\n    <memory unit='KiB'>65536</memory>\n    <vcpu placement='static'>1</vcpu>\n" +
      "    <os>\n      <type arch='i686'>hvm</type>\n    </os>\n    <devices>\n" +
      "      <disk type='file' device='disk'>\n        <source file='/default-pool/vms." + domainName +
      "-vda.img'/>\n        <target dev='vda' bus='virtio'/>\n      </disk>\n    </devices>\n" +
      "  </domain>\n</domainsnapshot>\n";
  return json{{"apiVersion", "virtsnap.io/v1alpha1"},
              {"kind", "Snapshot"},
              {"metadata",
               {{"name", name},
                {"namespace", "vms"},
                {"uid", "6f1c2a0e-9b7d-4c7e-8a51-" + std::to_string(100000000000 + i * 7919)},
                {"resourceVersion", std::to_string(1000 + i)},
                {"finalizers", {"virtsnap.io/snapshot-protection"}}}},
              {"spec", {{"domainName", domainName}, {"location", "Internal"}}},
              {"status",
               {{"phase", "Ready"},
                {"parent", "snap-" + std::to_string(i - 1)},
                {"depth", i},
                {"current", false},
                {"conditions",
                 {{{"type", "Ready"},
                   {"status", "True"},
                   {"reason", "Created"},
                   {"message", "the snapshot exists on the hypervisor"},
                   {"observedGeneration", 1}}}},
                {"definition", definition}}}};
}

std::string randomText(std::mt19937& random, std::size_t size) {
  std::string text(size, ' ');
  for (char& c : text) {
    c = static_cast<char>('!' + random() % 90);
  }
  return text;
}

TEST(ObjectPacker, UnpacksWhatItPacked) {
  ObjectPacker packer;
  const std::vector<json> objects{json::object(),
                                  json{{"a", nullptr}, {"b", true}, {"n", -12}, {"x", 0.25}, {"l", {1, "2"}}},
                                  readySnapshot(1, "web"), json{{"big", std::string(1 << 20, 'q')}}};
  std::vector<std::vector<std::uint8_t>> packed;
  for (const json& object : objects) {
    packed.push_back(packer.pack(object));
  }
  for (std::size_t i = 0; i < objects.size(); ++i) {
    EXPECT_EQ(packer.unpack(packed[i]), objects[i]) << i;
  }
}

// The point of the dictionary: a second object like the first costs a fraction of it.
TEST(ObjectPacker, AnObjectLikeOneBeforeItPacksToAFractionOfIt) {
  ObjectPacker packer;
  EXPECT_EQ(packer.dictionarySize(), 0U);
  const std::size_t first = packer.pack(readySnapshot(1, "web")).size();
  const std::size_t learned = packer.dictionarySize();
  EXPECT_EQ(learned, json::to_msgpack(readySnapshot(1, "web")).size()) << "the first object is new content";
  const std::size_t second = packer.pack(readySnapshot(2, "database")).size();
  EXPECT_LT(second * 3, first) << "first " << first << " bytes, second " << second;
  EXPECT_EQ(packer.dictionarySize(), learned) << "an object that packs well adds nothing";
}

// Entries packed against a shorter dictionary stay readable as it grows, and it stops at its limit.
TEST(ObjectPacker, TheDictionaryGrowsToItsLimitAndEarlierEntriesStayReadable) {
  ObjectPacker packer;
  std::mt19937 random(7);
  std::vector<json> objects;
  std::vector<std::vector<std::uint8_t>> packed;
  std::vector<std::size_t> sizes;
  for (int i = 0; i < 40; ++i) {
    objects.push_back(json{{"noise", randomText(random, 700)}});  // new content every time
    packed.push_back(packer.pack(objects.back()));
    sizes.push_back(packer.dictionarySize());
  }
  EXPECT_GT(sizes.front(), 0U);
  EXPECT_GT(sizes[5], sizes[4]) << "each object with new content is learned while there is room";
  EXPECT_LE(sizes.back(), ObjectPacker::kDictionaryLimit);
  EXPECT_GT(sizes.back(), ObjectPacker::kDictionaryLimit - 1000) << "filled up to the last object that fit";
  EXPECT_EQ(sizes[sizes.size() - 2], sizes.back()) << "full: it stops growing";
  for (std::size_t i = 0; i < objects.size(); ++i) {
    EXPECT_EQ(packer.unpack(packed[i]), objects[i]) << i;
  }
}

// An entry decodes against the dictionary it was packed with, not the longer one learned since: a
// back-reference counts from the dictionary's end, so the longer one would decode other bytes.
TEST(ObjectPacker, AnEntryDecodesAgainstTheDictionaryItWasPackedWith) {
  ObjectPacker packer;
  packer.pack(readySnapshot(1, "web"));
  const json like = readySnapshot(2, "web");
  const std::vector<std::uint8_t> packed = packer.pack(like);
  ASSERT_LT(packed.size() * 4, json::to_msgpack(like).size()) << "it refers to the dictionary";
  const std::size_t before = packer.dictionarySize();
  std::mt19937 random(5);
  packer.pack(json{{"noise", randomText(random, 500)}});
  ASSERT_GT(packer.dictionarySize(), before);
  EXPECT_EQ(packer.unpack(packed), like);
}

TEST(ObjectPacker, AnObjectLargerThanTheRoomLeftIsNotLearned) {
  ObjectPacker packer;
  std::mt19937 random(11);
  const json large{{"noise", randomText(random, ObjectPacker::kDictionaryLimit + 1)}};
  const auto packed = packer.pack(large);
  EXPECT_EQ(packer.dictionarySize(), 0U);
  EXPECT_EQ(packer.unpack(packed), large);
}

TEST(ObjectPacker, RefusesBytesItDidNotPack) {
  ObjectPacker packer;
  std::vector<std::uint8_t> packed = packer.pack(readySnapshot(1, "web"));
  EXPECT_THROW(packer.unpack({1, 2, 3}), std::runtime_error) << "shorter than a header";
  std::vector<std::uint8_t> truncated(packed.begin(),
                                      packed.begin() + static_cast<std::ptrdiff_t>(packed.size() / 2));
  EXPECT_THROW(packer.unpack(truncated), std::runtime_error);
  std::vector<std::uint8_t> unlearned = packed;
  unlearned[4] = 0x01;  // claims a dictionary longer than the packer learned
  unlearned[5] = 0x20;
  EXPECT_THROW(packer.unpack(unlearned), std::runtime_error);
  std::vector<std::uint8_t> huge = packed;
  huge[3] = 0x7F;  // claims a MessagePack of ~2 GiB, more than deflate can expand to
  EXPECT_THROW(packer.unpack(huge), std::runtime_error);
  std::vector<std::uint8_t> trailing = packed;
  trailing.push_back(0);
  EXPECT_THROW(packer.unpack(trailing), std::runtime_error);
}

// Readers unpack, without a lock, entries handed over to them while the writer keeps growing the
// dictionary: after each pack the writer waits for reads (a ThreadSanitizer build checks the claim in
// object_packer.h).
TEST(ObjectPacker, ReadersUnpackWhileTheDictionaryGrows) {
  ObjectPacker packer;
  std::mutex handedOver;
  std::vector<std::pair<json, std::vector<std::uint8_t>>> entries;
  std::atomic<bool> done{false};
  std::atomic<int> wrong{0};
  std::atomic<int> read{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&, r] {
      std::size_t next = static_cast<std::size_t>(r);
      while (!done.load()) {
        std::pair<json, std::vector<std::uint8_t>> entry;
        {
          std::lock_guard lock(handedOver);
          if (entries.empty()) {
            continue;
          }
          entry = entries[next++ % entries.size()];
        }
        if (packer.unpack(entry.second) != entry.first) {
          ++wrong;
        }
        ++read;
      }
    });
  }
  std::mt19937 random(3);
  int grew = 0;
  for (int i = 0; i < 120; ++i) {
    json object = i % 2 == 0 ? json{{"noise", randomText(random, 80)}} : readySnapshot(i, "web");
    const std::size_t before = packer.dictionarySize();
    std::vector<std::uint8_t> packed = packer.pack(object);
    grew += packer.dictionarySize() > before ? 1 : 0;
    {
      std::lock_guard lock(handedOver);
      entries.emplace_back(std::move(object), std::move(packed));
    }
    const int target = read.load() + 2;
    while (read.load() < target) {
      std::this_thread::yield();
    }
  }
  done = true;
  for (auto& reader : readers) {
    reader.join();
  }
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(grew, 40) << "the dictionary grew between reads";
}

}  // namespace
}  // namespace virtsnap::kube
