/* SIGBUS guard for read-only file mappings (see map-guard.h for why this is not a copy). */
#include "map-guard.h"

#include <glib.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_SLOTS 1024

typedef struct slot {
    _Atomic uintptr_t base; /* 0: free; written last on add, first on remove */
    _Atomic size_t    len;
    atomic_int        lost;
    char             *label; /* only touched under lock, never by the handler */
} slot;

/* Process-wide by necessity: a signal handler receives no user data. */
static slot             slots[MAX_SLOTS];
static atomic_int       n_lost;
static GMutex           lock;
static struct sigaction previous;
static uintptr_t        page_size;
static bool             installed;

/* Async-signal-safe: atomics (lock-free on every target we build for) and mmap(2). */
static void on_sigbus(int sig, siginfo_t *si, void *uc) {
    uintptr_t a = (uintptr_t)si->si_addr;
    for (size_t i = 0; si->si_code > 0 && i < MAX_SLOTS; i++) {
        uintptr_t b = atomic_load(&slots[i].base);
        size_t    n = atomic_load(&slots[i].len);
        if (!b || a < b || a - b >= n) continue;
        /* Everything past the faulting page is past the new end of file too: replace it all
         * with zero pages at once, so the run continues (and is then reported) in one fault. */
        uintptr_t page = a & ~(page_size - 1);
        uintptr_t end = (b + n + page_size - 1) & ~(page_size - 1);
        if (mmap((void *)page, end - page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
                 0) == MAP_FAILED)
            break;
        if (atomic_exchange(&slots[i].lost, 1) == 0) atomic_fetch_add(&n_lost, 1);
        return;
    }
    /* Not ours: what would have happened had we not been installed. */
    if ((previous.sa_flags & SA_SIGINFO) && previous.sa_sigaction) {
        previous.sa_sigaction(sig, si, uc);
        return;
    }
    if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
        previous.sa_handler(sig);
        return;
    }
    signal(sig, SIG_DFL);
    if (si->si_code <= 0) raise(sig); /* sent, not a fault: the fault would repeat by itself */
}

cascade_status cascade_map_guard_add(const void *base, size_t len, const char *label,
                                     cascade_error *err) {
    if (!base || !len) return CASCADE_STATUS_OK;
    cascade_status st = CASCADE_STATUS_OK;
    g_mutex_lock(&lock);
    /* (Re)installed when someone else took SIGBUS since (a test harness, a host program):
     * theirs becomes the one faults outside our mappings go to. */
    struct sigaction now;
    if (installed && sigaction(SIGBUS, NULL, &now) == 0 && (now.sa_flags & SA_SIGINFO) &&
        now.sa_sigaction == on_sigbus) {
        /* still ours */
    } else {
        struct sigaction sa = {0};
        sa.sa_sigaction = on_sigbus;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        long ps = sysconf(_SC_PAGESIZE);
        page_size = ps > 0 ? (uintptr_t)ps : 4096;
        if (sigaction(SIGBUS, &sa, &previous) != 0) {
            st = cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                   "%s: cannot install the SIGBUS guard", label);
            goto done;
        }
        installed = true;
    }
    for (size_t i = 0; i < MAX_SLOTS; i++) {
        if (atomic_load(&slots[i].base)) continue;
        slots[i].label = g_strdup(label);
        atomic_store(&slots[i].lost, 0);
        atomic_store(&slots[i].len, len);
        atomic_store(&slots[i].base, (uintptr_t)base);
        goto done;
    }
    st = cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                           "%s: more than %d weight files open at once", label, MAX_SLOTS);
done:
    g_mutex_unlock(&lock);
    return st;
}

void cascade_map_guard_remove(const void *base) {
    if (!base) return;
    g_mutex_lock(&lock);
    for (size_t i = 0; i < MAX_SLOTS; i++) {
        if (atomic_load(&slots[i].base) != (uintptr_t)base) continue;
        atomic_store(&slots[i].base, 0);
        if (atomic_exchange(&slots[i].lost, 0)) atomic_fetch_sub(&n_lost, 1);
        g_free(slots[i].label);
        slots[i].label = NULL;
        break;
    }
    g_mutex_unlock(&lock);
}

cascade_status cascade_map_guard_check(const char *what, cascade_error *err) {
    if (atomic_load(&n_lost) == 0) return CASCADE_STATUS_OK;
    cascade_status st = CASCADE_STATUS_OK;
    g_mutex_lock(&lock);
    for (size_t i = 0; i < MAX_SLOTS; i++) {
        if (!atomic_load(&slots[i].base) || !atomic_load(&slots[i].lost)) continue;
        st = cascade_error_set(err, CASCADE_STATUS_IO,
                               "%s: the file was truncated on disk while in use, so the %s read "
                               "missing data; reload the model",
                               slots[i].label, what);
        break;
    }
    g_mutex_unlock(&lock);
    return st;
}
