// The agent's malloc arena limit (controller/agent/malloc_arenas.h): the environment's own setting
// wins, and with the limit set, threads allocating at once share that many arenas where glibc's
// default gives each its own (each case in a child process: a limit, once set, stays for the process).

#include "controller/agent/malloc_arenas.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <malloc.h>

namespace virtsnap::agent {
namespace {

// The arenas glibc has made so far: malloc_info's <heap> elements.
int arenaCount() {
  char* text = nullptr;
  std::size_t size = 0;
  FILE* out = ::open_memstream(&text, &size);
  ::malloc_info(0, out);
  std::fclose(out);
  const std::string info(text, size);
  std::free(text);
  int count = 0;
  for (auto at = info.find("<heap nr="); at != std::string::npos; at = info.find("<heap nr=", at + 1)) {
    ++count;
  }
  return count;
}

// The arenas made while `threads` threads, all alive at once, each allocate: glibc gives a thread
// its arena at its first allocation, a new one while under the limit.
int arenasMadeByThreads(int threads) {
  const int before = arenaCount();
  std::vector<std::thread> running;
  std::vector<void*> blocks(static_cast<std::size_t>(threads));
  std::atomic<int> allocated{0};
  std::atomic<bool> release{false};
  for (int i = 0; i < threads; ++i) {
    running.emplace_back([&, i] {
      blocks[static_cast<std::size_t>(i)] = std::malloc(1000);
      allocated.fetch_add(1);
      while (!release.load()) {
        std::this_thread::yield();
      }
      std::free(blocks[static_cast<std::size_t>(i)]);
    });
  }
  while (allocated.load() < threads) {
    std::this_thread::yield();
  }
  const int after = arenaCount();
  release = true;
  for (auto& thread : running) {
    thread.join();
  }
  std::fprintf(stderr, "arenas before %d, with %d threads %d\n", before, threads, after);
  return after - before;
}

TEST(MallocArenas, TheEnvironmentsSettingWins) {
  EXPECT_FALSE(arenaLimitFromEnvironment(nullptr, nullptr));
  EXPECT_FALSE(arenaLimitFromEnvironment("", ""));
  EXPECT_TRUE(arenaLimitFromEnvironment("4", nullptr));
  EXPECT_TRUE(arenaLimitFromEnvironment(nullptr, "glibc.malloc.arena_max=8"));
  EXPECT_TRUE(arenaLimitFromEnvironment(nullptr, "glibc.malloc.check=0:glibc.malloc.arena_max=8"));
  EXPECT_FALSE(arenaLimitFromEnvironment(nullptr, "glibc.malloc.trim_threshold=0"));
}

// AddressSanitizer replaces glibc's malloc, so there are no glibc arenas to count under it.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kGlibcMalloc = false;
#else
constexpr bool kGlibcMalloc = true;
#endif

TEST(MallocArenasDeathTest, ThreadsShareTheLimitedArenas) {
  if (!kGlibcMalloc) {
    GTEST_SKIP() << "malloc is AddressSanitizer's in this build";
  }
  EXPECT_EXIT(
      {
        ::unsetenv("MALLOC_ARENA_MAX");
        ::unsetenv("GLIBC_TUNABLES");
        const int limit = limitMallocArenas();
        const int before = arenaCount();
        const int made = arenasMadeByThreads(8);
        // The limit counts every arena, the main one included.
        std::exit(limit == kMallocArenas && before + made <= std::max(before, kMallocArenas) ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

// Without the limit the same threads make arenas of their own: what the limit changes.
TEST(MallocArenasDeathTest, WithoutTheLimitEachThreadGetsAnArena) {
  if (!kGlibcMalloc) {
    GTEST_SKIP() << "malloc is AddressSanitizer's in this build";
  }
  EXPECT_EXIT({ std::exit(arenasMadeByThreads(8) >= 3 ? 0 : 1); }, ::testing::ExitedWithCode(0), "");
}

TEST(MallocArenasDeathTest, AnArenaMaxInTheEnvironmentIsKept) {
  EXPECT_EXIT(
      {
        ::setenv("MALLOC_ARENA_MAX", "8", 1);
        std::exit(limitMallocArenas() == 0 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace virtsnap::agent
