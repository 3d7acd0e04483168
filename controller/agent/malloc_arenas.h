#pragma once
// The agent's glibc malloc arenas, limited at start (docs/decisions.md, "malloc arenas").
//
// glibc gives a thread that finds the arenas in use a new one, up to 8 per core; the agent runs some
// 70 threads (cpprestsdk's pool, the watches, the workers, the HTTP servers), so a burst spreads its
// short-lived allocations (watch events, request bodies, libvirt XML) over up to 16 arenas on two
// cores, and each arena keeps the memory of its own peak after the burst: at 3000 snapshots that
// retained-but-free memory was half of what malloc held. Fewer arenas share that slack.

#include <cstdlib>
#include <string>

namespace virtsnap::agent {

// The arena limit the agent sets unless the environment sets one.
inline constexpr int kMallocArenas = 2;

// Whether `environment` (getenv's) already decides glibc's arena limit: MALLOC_ARENA_MAX set, or
// GLIBC_TUNABLES naming glibc.malloc.arena_max.
bool arenaLimitFromEnvironment(const char* mallocArenaMax, const char* glibcTunables);

// Limits malloc to `arenas` arenas (mallopt M_ARENA_MAX) unless the environment decides it. Call it
// first in main, before any thread starts: arenas already made stay. Returns the limit set, or 0
// when the environment's is kept or mallopt refused.
int limitMallocArenas(int arenas = kMallocArenas);

}  // namespace virtsnap::agent
