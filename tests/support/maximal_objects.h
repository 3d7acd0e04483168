#pragma once

#include "crds/domain.h"
#include "crds/meta/object_meta.h"
#include "crds/snapshot.h"
#include "crds/snapshot_revert.h"

namespace virtsnap::testsupport {

// Objects with every optional field set and every list non-empty, with values the CRD schemas
// accept: what the schema drift test serializes. A field added to a type must be set here too,
// or the drift test reports the schema field as never written.
crds::Domain maximalDomain();
crds::Snapshot maximalSnapshot();
crds::SnapshotRevert maximalSnapshotRevert();

// An object as the API server returns it: uid, resourceVersion, managedFields, owner references,
// and a metadata field our types do not model.
meta::ObjectMeta serverSideMetadata(const std::string& name);

}  // namespace virtsnap::testsupport
