// OwnWrites: a cached copy older than the reconciler's own write is recognised as stale until the
// cache catches up (or moves past it); resourceVersions are only compared for equality.

#include "reconcilers/own_writes.h"

#include <gtest/gtest.h>

namespace virtsnap::reconcilers {
namespace {

TEST(OwnWrites, ACopyOlderThanOurWritesIsStaleUntilTheCacheCatchesUp) {
  OwnWrites writes;
  EXPECT_FALSE(writes.stale("vms/a", "5"));  // nothing written: nothing to wait for
  writes.wrote("vms/a", "5", "6");           // the finalizer
  writes.wrote("vms/a", "6", "9");           // then the status
  EXPECT_TRUE(writes.stale("vms/a", "5"));
  EXPECT_TRUE(writes.stale("vms/a", "6"));
  EXPECT_FALSE(writes.stale("vms/b", "5"));  // per object
  EXPECT_FALSE(writes.stale("vms/a", "9"));  // the cache has our last write: the record ends
  EXPECT_FALSE(writes.stale("vms/a", "5"));
}

TEST(OwnWrites, AVersionSomeoneElseWroteEndsTheRecord) {
  OwnWrites writes;
  writes.wrote("vms/a", "5", "6");
  EXPECT_FALSE(writes.stale("vms/a", "12"));  // later than ours (or unknown): act on it
  EXPECT_FALSE(writes.stale("vms/a", "5"));
}

TEST(OwnWrites, AGoneObjectOrAnEmptyVersionRecordsNothing) {
  OwnWrites writes;
  writes.wrote("vms/a", "", "6");  // nothing read before: no older copy to skip
  EXPECT_FALSE(writes.stale("vms/a", ""));
  writes.wrote("vms/a", "6", "7");
  writes.forget("vms/a");
  EXPECT_FALSE(writes.stale("vms/a", "6"));
}

}  // namespace
}  // namespace virtsnap::reconcilers
