/* Internal to core: keeps a weights file that is truncated on disk while mapped from killing
 * the process with SIGBUS (issue 14). fp32 weights are used in place from a read-only map, so
 * copying them would double the host memory of a CPU run; instead a SIGBUS handler replaces
 * the vanished pages of a registered mapping with zero pages and marks the mapping lost, and
 * every plan and weights read checks the marks afterwards and reports an IO error naming the
 * file. A lost mapping stays lost (its pages are zeros now) until it is removed, so a model
 * whose file changed keeps failing clearly until it is reloaded.
 *
 * The registry is process-wide because a signal handler has no user data; it is lock-free for
 * the handler and guarded by a mutex for the rest. Faults outside registered mappings go to the
 * handler that was installed before (or the default action). */
#ifndef CASCADE_MAP_GUARD_H
#define CASCADE_MAP_GUARD_H

#include <stddef.h>

#include "cascade/status.h"

/* Registers the read-only mapping [base, base + len); label (copied) names it in messages.
 * Installs the handler on first use. FAILS (UNSUPPORTED) only when the handler cannot be
 * installed or more than 1024 mappings are open at once. len 0 is a no-op. */
cascade_status cascade_map_guard_add(const void *base, size_t len, const char *label,
                                     cascade_error *err);
/* Unregisters the mapping starting at base (before it is unmapped); NULL-safe. */
void cascade_map_guard_remove(const void *base);
/* IO error naming the first registered mapping whose file vanished under it, else OK. what
 * names the operation that may have read zeros ("run", "weights"). */
cascade_status cascade_map_guard_check(const char *what, cascade_error *err);

#endif
