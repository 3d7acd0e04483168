#include "controller/agent/malloc_arenas.h"

#include <cstring>

#include <malloc.h>

namespace virtsnap::agent {

bool arenaLimitFromEnvironment(const char* mallocArenaMax, const char* glibcTunables) {
  if (mallocArenaMax != nullptr && *mallocArenaMax != '\0') {
    return true;
  }
  return glibcTunables != nullptr && std::strstr(glibcTunables, "glibc.malloc.arena_max=") != nullptr;
}

int limitMallocArenas(int arenas) {
  if (arenas <= 0 ||
      arenaLimitFromEnvironment(std::getenv("MALLOC_ARENA_MAX"), std::getenv("GLIBC_TUNABLES"))) {
    return 0;
  }
  return ::mallopt(M_ARENA_MAX, arenas) == 1 ? arenas : 0;
}

}  // namespace virtsnap::agent
