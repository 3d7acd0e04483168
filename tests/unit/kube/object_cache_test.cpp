#include "controller/kube/object_cache.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

namespace virtsnap::kube {
namespace {

ObjectPtr snapshot(const std::string& ns, const std::string& name, const std::string& domainName,
                   const std::string& version = "1") {
  return std::make_shared<const nlohmann::json>(
      nlohmann::json{{"kind", "Snapshot"},
                     {"metadata", {{"namespace", ns}, {"name", name}, {"resourceVersion", version}}},
                     {"spec", {{"domainName", domainName}}}});
}

Indexers byDomain() {
  return {{"byDomain", [](const nlohmann::json& object) {
             return std::vector<std::string>{
                 namespacedIndexValue(object, object.at("spec").at("domainName").get<std::string>())};
           }}};
}

std::vector<std::string> names(const std::vector<ObjectPtr>& objects) {
  std::vector<std::string> out;
  for (const auto& object : objects) {
    out.push_back(objectKey(*object));
  }
  return out;
}

TEST(ObjectKey, IsNamespaceSlashNameOrJustTheName) {
  EXPECT_EQ(objectKey(*snapshot("vms", "s1", "d")), "vms/s1");
  EXPECT_EQ(objectKey(nlohmann::json{{"metadata", {{"name", "node-a"}}}}), "node-a");
  EXPECT_EQ(objectKey(nlohmann::json{{"metadata", {{"namespace", "vms"}}}}), "");
  EXPECT_EQ(objectKey(nlohmann::json("not an object")), "");
}

TEST(ObjectCache, UpsertGetEraseAndList) {
  ObjectCache cache;
  EXPECT_EQ(cache.upsert(snapshot("vms", "b", "d1")), nullptr);
  EXPECT_EQ(cache.upsert(snapshot("vms", "a", "d1")), nullptr);
  ObjectPtr previous = cache.upsert(snapshot("vms", "b", "d1", "2"));
  ASSERT_NE(previous, nullptr);
  EXPECT_EQ((*previous)["metadata"]["resourceVersion"], "1");
  EXPECT_EQ((*cache.get("vms/b"))["metadata"]["resourceVersion"], "2");
  EXPECT_EQ(cache.keys(), (std::vector<std::string>{"vms/a", "vms/b"}));
  EXPECT_EQ(names(cache.list()), (std::vector<std::string>{"vms/a", "vms/b"}));
  EXPECT_NE(cache.erase("vms/a"), nullptr);
  EXPECT_EQ(cache.erase("vms/a"), nullptr);
  EXPECT_EQ(cache.get("vms/a"), nullptr);
  EXPECT_EQ(cache.size(), 1U);
}

TEST(ObjectCache, RefusesObjectsWithoutAName) {
  ObjectCache cache;
  EXPECT_EQ(cache.upsert(std::make_shared<const nlohmann::json>(
                nlohmann::json{{"metadata", nlohmann::json::object()}})),
            nullptr);
  EXPECT_EQ(cache.upsert(nullptr), nullptr);
  EXPECT_EQ(cache.size(), 0U);
}

TEST(ObjectCache, ASnapshotAReaderHoldsNeverChanges) {
  ObjectCache cache;
  cache.upsert(snapshot("vms", "s1", "d1", "1"));
  ObjectPtr held = cache.get("vms/s1");
  cache.upsert(snapshot("vms", "s1", "d2", "2"));
  cache.erase("vms/s1");
  EXPECT_EQ((*held)["spec"]["domainName"], "d1");
  EXPECT_EQ((*held)["metadata"]["resourceVersion"], "1");
}

TEST(ObjectCache, IndexesFollowUpdatesAndDeletes) {
  ObjectCache cache(byDomain());
  cache.upsert(snapshot("vms", "s1", "d1"));
  cache.upsert(snapshot("vms", "s2", "d1"));
  cache.upsert(snapshot("vms", "s3", "d2"));
  cache.upsert(snapshot("other", "s4", "d1"));
  EXPECT_EQ(names(cache.byIndex("byDomain", "vms/d1")), (std::vector<std::string>{"vms/s1", "vms/s2"}));
  EXPECT_EQ(names(cache.byIndex("byDomain", "other/d1")), (std::vector<std::string>{"other/s4"}));

  cache.upsert(snapshot("vms", "s2", "d2", "2"));  // moved to another domain
  EXPECT_EQ(names(cache.byIndex("byDomain", "vms/d1")), (std::vector<std::string>{"vms/s1"}));
  EXPECT_EQ(names(cache.byIndex("byDomain", "vms/d2")), (std::vector<std::string>{"vms/s2", "vms/s3"}));

  cache.erase("vms/s1");
  EXPECT_TRUE(cache.byIndex("byDomain", "vms/d1").empty());
  EXPECT_EQ(cache.indexValues("byDomain"), (std::vector<std::string>{"other/d1", "vms/d2"}))
      << "an emptied value leaves the index";
  EXPECT_TRUE(cache.byIndex("noSuchIndex", "vms/d2").empty());
}

TEST(ObjectCache, AnIndexFunctionThatThrowsIndexesNothing) {
  ObjectCache cache(byDomain());
  auto malformed = std::make_shared<const nlohmann::json>(
      nlohmann::json{{"metadata", {{"namespace", "vms"}, {"name", "odd"}}}, {"spec", {{"domainName", 7}}}});
  EXPECT_EQ(cache.upsert(malformed), nullptr);
  EXPECT_NE(cache.get("vms/odd"), nullptr);
  EXPECT_TRUE(cache.indexValues("byDomain").empty());
  EXPECT_NE(cache.erase("vms/odd"), nullptr);
}

TEST(ObjectCache, AnObjectMayHaveSeveralIndexValues) {
  ObjectCache cache({{"byLabel", [](const nlohmann::json& object) {
                        std::vector<std::string> values;
                        for (const auto& [label, value] : object["metadata"]["labels"].items()) {
                          values.push_back(label + "=" + value.get<std::string>());
                        }
                        return values;
                      }}});
  cache.upsert(std::make_shared<const nlohmann::json>(
      nlohmann::json{{"metadata", {{"name", "x"}, {"labels", {{"tier", "gold"}, {"zone", "a"}}}}}}));
  EXPECT_EQ(cache.byIndex("byLabel", "tier=gold").size(), 1U);
  EXPECT_EQ(cache.byIndex("byLabel", "zone=a").size(), 1U);
}

// An index ordered by a field: members under each value in that order (then by key), the first one
// found without reading the rest, and the order kept through updates that move an object within it.
class OrderedIndex : public ::testing::TestWithParam<CacheStorage> {};

TEST_P(OrderedIndex, KeepsItsMembersInOrderThroughUpdatesAndRemovals) {
  auto byPriority = [](const nlohmann::json& object) {
    return object.at("spec").at("priority").get<std::string>();
  };
  ObjectCache cache(byDomain(), GetParam(), {{"byDomain", byPriority}, {"noSuchIndex", byPriority}});
  auto withPriority = [](const std::string& name, const std::string& domain, const std::string& priority) {
    auto object = nlohmann::json(*snapshot("vms", name, domain));
    object["spec"]["priority"] = priority;
    return std::make_shared<const nlohmann::json>(std::move(object));
  };
  cache.upsert(withPriority("a", "d1", "3"));
  cache.upsert(withPriority("b", "d1", "1"));
  cache.upsert(withPriority("c", "d1", "2"));
  cache.upsert(withPriority("d", "d1", "1"));  // ties go by key
  cache.upsert(withPriority("e", "d2", "0"));
  EXPECT_EQ(names(cache.byIndex("byDomain", "vms/d1")),
            (std::vector<std::string>{"vms/b", "vms/d", "vms/c", "vms/a"}));
  EXPECT_EQ(cache.keysByIndex("byDomain", "vms/d1"),
            (std::vector<std::string>{"vms/b", "vms/d", "vms/c", "vms/a"}));
  EXPECT_EQ(objectKey(*cache.firstByIndex("byDomain", "vms/d1")), "vms/b");

  cache.upsert(withPriority("b", "d1", "9"));  // moves to the end
  EXPECT_EQ(cache.keysByIndex("byDomain", "vms/d1"),
            (std::vector<std::string>{"vms/d", "vms/c", "vms/a", "vms/b"}));
  cache.erase("vms/d");
  EXPECT_EQ(objectKey(*cache.firstByIndex("byDomain", "vms/d1")), "vms/c");
  cache.replace({withPriority("x", "d1", "5"), withPriority("y", "d1", "4")});
  EXPECT_EQ(cache.keysByIndex("byDomain", "vms/d1"), (std::vector<std::string>{"vms/y", "vms/x"}));
  EXPECT_EQ(cache.firstByIndex("byDomain", "vms/d2"), nullptr) << "replaced away";
  EXPECT_EQ(cache.indexValues("byDomain"), (std::vector<std::string>{"vms/d1"}));
}

TEST_P(OrderedIndex, AnOrderThatThrowsPutsTheObjectFirstByKeyAndItIsStillRemovable) {
  ObjectCache cache(byDomain(), GetParam(), {{"byDomain", [](const nlohmann::json& object) {
                                                return object.at("spec").at("priority").get<std::string>();
                                              }}});
  auto withPriority = [](const std::string& name, const nlohmann::json& priority) {
    auto object = nlohmann::json(*snapshot("vms", name, "d1"));
    object["spec"]["priority"] = priority;
    return std::make_shared<const nlohmann::json>(std::move(object));
  };
  cache.upsert(withPriority("a", "1"));
  cache.upsert(withPriority("z", 7));  // not a string: the order function throws
  EXPECT_EQ(cache.keysByIndex("byDomain", "vms/d1"), (std::vector<std::string>{"vms/z", "vms/a"}));
  cache.erase("vms/z");
  EXPECT_EQ(cache.keysByIndex("byDomain", "vms/d1"), (std::vector<std::string>{"vms/a"}));
}

TEST(ObjectCache, WithoutAnOrderAnIndexIsInKeyOrderAndUnknownIndexesAnswerNothing) {
  ObjectCache cache(byDomain());
  cache.upsert(snapshot("vms", "b", "d1"));
  cache.upsert(snapshot("vms", "a", "d1"));
  EXPECT_EQ(cache.keysByIndex("byDomain", "vms/d1"), (std::vector<std::string>{"vms/a", "vms/b"}));
  EXPECT_EQ(objectKey(*cache.firstByIndex("byDomain", "vms/d1")), "vms/a");
  EXPECT_EQ(cache.firstByIndex("byDomain", "vms/none"), nullptr);
  EXPECT_EQ(cache.firstByIndex("noSuchIndex", "vms/d1"), nullptr);
  EXPECT_TRUE(cache.keysByIndex("noSuchIndex", "vms/d1").empty());
}

INSTANTIATE_TEST_SUITE_P(Storage, OrderedIndex,
                         ::testing::Values(CacheStorage::Objects, CacheStorage::Packed),
                         [](const ::testing::TestParamInfo<CacheStorage>& param) {
                           return param.param == CacheStorage::Objects ? "Objects" : "Packed";
                         });

TEST(ObjectCache, ReplaceReportsRemovalsThenEveryNewObjectWithItsPredecessor) {
  ObjectCache cache(byDomain());
  cache.upsert(snapshot("vms", "gone", "d1"));
  cache.upsert(snapshot("vms", "kept", "d1", "1"));
  std::vector<CacheChange> changes =
      cache.replace({snapshot("vms", "kept", "d2", "5"), snapshot("vms", "new", "d2", "6")});
  ASSERT_EQ(changes.size(), 3U);
  EXPECT_EQ(changes[0].key, "vms/gone");
  EXPECT_EQ(changes[0].current, nullptr);
  EXPECT_EQ(changes[1].key, "vms/kept");
  EXPECT_EQ((*changes[1].previous)["metadata"]["resourceVersion"], "1");
  EXPECT_EQ((*changes[1].current)["metadata"]["resourceVersion"], "5");
  EXPECT_EQ(changes[2].key, "vms/new");
  EXPECT_EQ(changes[2].previous, nullptr);

  EXPECT_EQ(cache.keys(), (std::vector<std::string>{"vms/kept", "vms/new"}));
  EXPECT_TRUE(cache.byIndex("byDomain", "vms/d1").empty()) << "the index is rebuilt with the content";
  EXPECT_EQ(names(cache.byIndex("byDomain", "vms/d2")), (std::vector<std::string>{"vms/kept", "vms/new"}));
}

TEST(ObjectCache, ReplaceWithNothingEmptiesTheCache) {
  ObjectCache cache;
  cache.upsert(snapshot("vms", "a", "d"));
  auto changes = cache.replace({});
  ASSERT_EQ(changes.size(), 1U);
  EXPECT_EQ(changes[0].current, nullptr);
  EXPECT_EQ(cache.size(), 0U);
}

// Readers on other threads see the content before a replace or after it, never a mix (packed: while
// the packer may learn from the new objects).
void readersNeverSeeHalfAReplace(CacheStorage storage, int generations) {
  ObjectCache cache({}, storage);
  auto generation = [](int g) {
    std::vector<ObjectPtr> objects;
    for (int i = 0; i < 50; ++i) {
      objects.push_back(snapshot("vms", "s" + std::to_string(i), "d", std::to_string(g)));
    }
    return objects;
  };
  cache.replace(generation(0));
  std::atomic<bool> done{false};
  std::atomic<int> mixed{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (!done.load()) {
        auto objects = cache.list();
        for (const auto& object : objects) {
          if ((*object)["metadata"]["resourceVersion"] != (*objects.front())["metadata"]["resourceVersion"]) {
            ++mixed;
            break;
          }
        }
      }
    });
  }
  for (int g = 1; g <= generations; ++g) {
    cache.replace(generation(g));
  }
  done = true;
  for (auto& reader : readers) {
    reader.join();
  }
  EXPECT_EQ(mixed.load(), 0);
  EXPECT_EQ(cache.size(), 50U);
}

TEST(ObjectCache, ReadersNeverSeeHalfAReplace) {
  readersNeverSeeHalfAReplace(CacheStorage::Objects, 200);
}

// Fewer: each list() decodes 50 objects, and the readers hold the shared lock most of the time.
TEST(ObjectCache, ReadersNeverSeeHalfAReplaceOfPackedObjects) {
  readersNeverSeeHalfAReplace(CacheStorage::Packed, 20);
}

// A counted index answers how many objects have a value, through updates, removals and relists, and
// names no member; a member index counts its members too.
TEST(ObjectCache, ACountedIndexKeepsOnlyHowManyObjectsHaveEachValue) {
  Indexers indexers = byDomain();
  indexers["twice"] = [](const nlohmann::json& object) {
    const std::string domain = object.at("spec").at("domainName").get<std::string>();
    return std::vector<std::string>{domain, domain};  // one object counts once
  };
  ObjectCache cache(indexers, CacheStorage::Packed, {}, {"byDomain", "twice", "noSuchIndex"});
  cache.upsert(snapshot("vms", "a", "d1"));
  cache.upsert(snapshot("vms", "b", "d1"));
  cache.upsert(snapshot("vms", "c", "d2"));
  EXPECT_EQ(cache.countByIndex("byDomain", "vms/d1"), 2U);
  EXPECT_EQ(cache.countByIndex("twice", "d1"), 2U);
  EXPECT_EQ(cache.countByIndex("byDomain", "vms/none"), 0U);
  EXPECT_EQ(cache.countByIndex("noSuchIndex", "vms/d1"), 0U);
  EXPECT_TRUE(cache.byIndex("byDomain", "vms/d1").empty()) << "no members kept";
  EXPECT_TRUE(cache.keysByIndex("byDomain", "vms/d1").empty());
  EXPECT_EQ(cache.firstByIndex("byDomain", "vms/d1"), nullptr);

  cache.upsert(snapshot("vms", "b", "d2", "2"));  // moves from d1 to d2
  EXPECT_EQ(cache.countByIndex("byDomain", "vms/d1"), 1U);
  EXPECT_EQ(cache.countByIndex("byDomain", "vms/d2"), 2U);
  EXPECT_EQ(cache.countByIndex("twice", "d1"), 1U) << "a removal counts once too";
  cache.erase("vms/a");
  EXPECT_EQ(cache.indexValues("byDomain"), (std::vector<std::string>{"vms/d2"})) << "no zero count left";
  EXPECT_EQ(cache.indexValues("twice"), (std::vector<std::string>{"d2"}));

  cache.replace({snapshot("vms", "x", "d3"), snapshot("vms", "y", "d3"), snapshot("vms", "z", "d1")});
  EXPECT_EQ(cache.indexValues("byDomain"), (std::vector<std::string>{"vms/d1", "vms/d3"}));
  EXPECT_EQ(cache.countByIndex("byDomain", "vms/d3"), 2U);
  EXPECT_EQ(cache.countByIndex("byDomain", "vms/d2"), 0U);

  ObjectCache members(byDomain());
  members.upsert(snapshot("vms", "a", "d1"));
  members.upsert(snapshot("vms", "b", "d1"));
  EXPECT_EQ(members.countByIndex("byDomain", "vms/d1"), 2U);
}

// Packed storage answers with objects equal to those stored (fresh ones, not the same pointers), and
// its indexes and relist changes agree with the Objects storage's.
TEST(ObjectCache, PackedStorageAnswersWithEqualObjects) {
  ObjectCache objects(byDomain(), CacheStorage::Objects);
  ObjectCache packed(byDomain(), CacheStorage::Packed);
  nlohmann::json bulky = *snapshot("vms", "s2", "d1", "2");
  bulky["status"] = {{"definition", std::string(3000, 'x') + "<domainsnapshot/>"},
                     {"children", {"a", "b"}},
                     {"depth", 3},
                     {"current", true},
                     {"ratio", 0.5}};
  for (ObjectCache* cache : {&objects, &packed}) {
    cache->upsert(snapshot("vms", "s1", "d1"));
    cache->upsert(std::make_shared<const nlohmann::json>(bulky));
    cache->upsert(snapshot("vms", "s3", "d2"));
  }
  ObjectPtr stored = std::make_shared<const nlohmann::json>(bulky);
  EXPECT_EQ(*packed.get("vms/s2"), bulky);
  EXPECT_NE(packed.get("vms/s2"), packed.get("vms/s2")) << "each read decodes a fresh object";
  EXPECT_EQ(packed.get("vms/missing"), nullptr);
  EXPECT_EQ(names(packed.list()), names(objects.list()));
  EXPECT_EQ(names(packed.byIndex("byDomain", "vms/d1")), (std::vector<std::string>{"vms/s1", "vms/s2"}));
  EXPECT_EQ(packed.indexValues("byDomain"), objects.indexValues("byDomain"));

  ObjectPtr previous = packed.upsert(snapshot("vms", "s2", "d2", "3"));  // moves to another index value
  ASSERT_NE(previous, nullptr);
  EXPECT_EQ(*previous, bulky);
  EXPECT_EQ(names(packed.byIndex("byDomain", "vms/d2")), (std::vector<std::string>{"vms/s2", "vms/s3"}));
  ObjectPtr erased = packed.erase("vms/s1");
  ASSERT_NE(erased, nullptr);
  EXPECT_EQ(*erased, *snapshot("vms", "s1", "d1"));
  EXPECT_EQ(packed.indexValues("byDomain"), (std::vector<std::string>{"vms/d2"}));

  std::vector<CacheChange> changes = packed.replace({snapshot("vms", "s3", "d1", "4"), stored});
  ASSERT_EQ(changes.size(), 2U);
  EXPECT_EQ(changes[0].key, "vms/s2");
  EXPECT_EQ(*changes[0].previous, *snapshot("vms", "s2", "d2", "3"));
  EXPECT_EQ(*changes[0].current, bulky);
  EXPECT_EQ(changes[1].key, "vms/s3");
  EXPECT_EQ(*changes[1].previous, *snapshot("vms", "s3", "d2"));
  EXPECT_EQ(names(packed.byIndex("byDomain", "vms/d1")), (std::vector<std::string>{"vms/s2", "vms/s3"}));
  EXPECT_EQ(packed.size(), 2U);
}

}  // namespace
}  // namespace virtsnap::kube
