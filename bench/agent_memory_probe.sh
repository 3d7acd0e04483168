#!/usr/bin/env bash
# A running process's memory by kind, for bench/agent_e2e_bench.cpp's --on-converged
# ("bash bench/agent_memory_probe.sh {pid}"): threads, smaps_rollup (resident, anonymous, file-backed),
# and glibc malloc's own account per arena through malloc_info(3), called in the process by gdb
# (attached for a moment): bytes the arena holds from the kernel, bytes free in its bins (held but
# unused), and the mmapped chunks. With --trim it then calls malloc_trim(0) in the process and prints
# its RSS after: what returning the free pages to the kernel would give. Needs gdb and root (ptrace).
set -euo pipefail
pid=$1
trim=${2:-}
xml=$(mktemp /tmp/malloc-info.XXXXXX.xml)
trap 'rm -f "$xml"' EXIT
grep -E '^(Threads|VmRSS|RssAnon|RssFile)' "/proc/$pid/status" | tr -s ' \t' ' '
grep -E '^(Rss|Pss|Anonymous|Private_Dirty):' "/proc/$pid/smaps_rollup" | tr -s ' \t' ' '
chmod 0666 "$xml"
gdb -p "$pid" -batch -nx \
  -ex "set \$f = (void *) fopen(\"$xml\", \"w\")" \
  -ex 'call (int) malloc_info(0, $f)' \
  -ex 'call (int) fclose($f)' >/dev/null 2>&1 || true
if [ ! -s "$xml" ]; then
  echo "malloc_info: gdb could not call it"
else
  # Per heap: <heap nr="N"> ... <total type="fast" size=F/> <total type="rest" size=R/>
  # <system type="current" size=S/>; after the heaps the totals, <total type="mmap" size=M/>.
  awk '
    /<heap nr=/ { match($0, /nr="[0-9]+"/); heap = substr($0, RSTART + 4, RLENGTH - 5); inheap = 1 }
    /<\/heap>/ { inheap = 0 }
    inheap && /<total type="fast"/ { match($0, /size="[0-9]+"/); free[heap] += substr($0, RSTART + 6, RLENGTH - 7) }
    inheap && /<total type="rest"/ { match($0, /size="[0-9]+"/); free[heap] += substr($0, RSTART + 6, RLENGTH - 7) }
    inheap && /<system type="current"/ { match($0, /size="[0-9]+"/); sys[heap] = substr($0, RSTART + 6, RLENGTH - 7); n++ }
    !inheap && /<total type="mmap"/ { match($0, /size="[0-9]+"/); mmap = substr($0, RSTART + 6, RLENGTH - 7) }
    END {
      for (h in sys) { tsys += sys[h]; tfree += free[h] }
      printf "malloc: %d arenas, %.1f MB from the kernel, %.1f MB of it free in bins, %.1f MB in use; mmapped chunks %.1f MB\n",
        n, tsys / 1048576, tfree / 1048576, (tsys - tfree) / 1048576, mmap / 1048576
      for (h = 0; h < n; h++) if (sys[h] > 1048576)
        printf "  arena %d: %.1f MB, %.1f MB free\n", h, sys[h] / 1048576, free[h] / 1048576
    }' "$xml"
fi
if [ "$trim" = --trim ]; then
  gdb -p "$pid" -batch -nx -ex 'call (int) malloc_trim(0)' >/dev/null 2>&1 || true
  echo "after malloc_trim(0): $(grep -E '^(VmRSS|RssAnon)' "/proc/$pid/status" | tr -s ' \t\n' ' ')"
fi
