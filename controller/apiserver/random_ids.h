#pragma once
// The random parts of an object's identity: metadata.uid and generateName's suffix. Both come from
// OpenSSL's CSPRNG (seeded by the kernel), so two stores, two processes or two restarts in the same
// instant never share a sequence, as a pseudo-random generator seeded with a few bits can.

#include <string>

namespace virtsnap::apiserver {

// A random RFC 4122 version 4 UUID in lowercase ("6f1c1b0e-3d2a-4c5b-9e8f-0a1b2c3d4e5f").
std::string newUid();

// generateName's five characters from kube's alphabet (no vowels, no confusable characters).
std::string randomNameSuffix();

}  // namespace virtsnap::apiserver
