/* How much memory a run may still take, and the refusal when a plan would not fit (see
 * backend.h). One rule for every front end: a run that cannot fit is refused before it
 * allocates, with the number, rather than found out by the kernel's OOM killer. */
#include "cascade/backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* $CASCADE_MEMORY_BUDGET_MIB when a positive integer, else 0. */
static uint64_t env_budget(void) {
    const char *e = getenv("CASCADE_MEMORY_BUDGET_MIB");
    char       *end = NULL;
    long long   v = e ? strtoll(e, &end, 10) : 0;
    return e && *e && end && !*end && v > 0 ? (uint64_t)v << 20 : 0;
}

/* MemAvailable (what can be allocated without swapping), else free pages; 0 if unknown. */
static uint64_t host_available(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char               line[256];
        unsigned long long kib = 0;
        bool               found = false;
        while (!found && fgets(line, sizeof line, f))
            found = sscanf(line, "MemAvailable: %llu kB", &kib) == 1;
        fclose(f);
        if (found) return (uint64_t)kib << 10;
    }
    long pages = sysconf(_SC_AVPHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 0;
}

uint64_t cascade_backend_available_bytes(const cascade_backend *be) {
    uint64_t forced = env_budget();
    if (forced) return forced;
    cascade_memory_stats ms = {0};
    if (be) cascade_backend_memory_stats(be, &ms);
    return ms.device_budget_bytes ? ms.device_budget_bytes : host_available();
}

cascade_status cascade_backend_check_fits(const cascade_backend *be, uint64_t need_bytes,
                                          const char *what, cascade_error *err) {
    uint64_t avail = cascade_backend_available_bytes(be);
    if (!avail || need_bytes <= avail) return CASCADE_STATUS_OK;
    return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY,
                             "%s needs %.1f MiB of %s memory but only %.1f MiB is available%s; "
                             "use a smaller batch or image size%s",
                             what, (double)need_bytes / (1 << 20),
                             be && strcmp(cascade_backend_name(be), "cpu") ? "device" : "host",
                             (double)avail / (1 << 20),
                             env_budget() ? " (CASCADE_MEMORY_BUDGET_MIB)" : "",
                             be && strcmp(cascade_backend_name(be), "cpu")
                                 ? ", fp16 precision, or the CPU backend"
                                 : "");
}
