/* Shared by the libFuzzer harnesses whose loaders take a path: one scratch directory per
 * process (removed at exit), files written into it, the error contract checked, and GLib
 * criticals made fatal (a g_return_if_fail in json-glib or GLib means we handed it something
 * invalid, which must count as a finding). Header-only: each harness is one executable. */
#ifndef CASCADE_FUZZ_COMMON_H
#define CASCADE_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "cascade/status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *fuzz_root; /* the per-process scratch directory */

G_GNUC_UNUSED static void fuzz_rm_rf(const char *path) {
    if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
        GDir *d = g_dir_open(path, 0, NULL);
        if (d) {
            const char *e;
            while ((e = g_dir_read_name(d))) {
                char *p = g_build_filename(path, e, NULL);
                fuzz_rm_rf(p);
                g_free(p);
            }
            g_dir_close(d);
        }
        g_rmdir(path);
    } else {
        g_remove(path);
    }
}

G_GNUC_UNUSED static void fuzz_cleanup(void) {
    if (fuzz_root) fuzz_rm_rf(fuzz_root);
    g_free(fuzz_root);
    fuzz_root = NULL;
}

/* Criticals and errors abort (libFuzzer reports the crash); warnings and messages, which the
 * loaders may emit about files they skip, are dropped so the log stays readable. */
static void fuzz_log_handler(const gchar *domain, GLogLevelFlags level, const gchar *msg,
                             gpointer data) {
    (void)data;
    if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) {
        fprintf(stderr, "fuzz: GLib %s from %s: %s\n",
                level & G_LOG_LEVEL_ERROR ? "error" : "critical", domain ? domain : "?", msg);
        abort();
    }
}

static void fuzz_init(void) {
    if (fuzz_root) return;
    g_log_set_default_handler(fuzz_log_handler, NULL);
    GError *e = NULL;
    fuzz_root = g_dir_make_tmp("cascade-fuzz-XXXXXX", &e);
    if (!fuzz_root) {
        fprintf(stderr, "fuzz: no scratch directory: %s\n", e->message);
        abort();
    }
    atexit(fuzz_cleanup);
}

/* <scratch>/<rel> (g_free), its parent folders created. */
G_GNUC_UNUSED static char *fuzz_path(const char *rel) {
    fuzz_init();
    char *p = g_build_filename(fuzz_root, rel, NULL);
    char *dir = g_path_get_dirname(p);
    g_mkdir_with_parents(dir, 0700);
    g_free(dir);
    return p;
}

/* Writes size bytes to <scratch>/<rel>; returns the path (g_free). */
G_GNUC_UNUSED static char *fuzz_write(const char *rel, const void *data, size_t size) {
    char   *p = fuzz_path(rel);
    GError *e = NULL;
    if (!g_file_set_contents(p, size ? data : "", (gssize)size, &e)) {
        fprintf(stderr, "fuzz: cannot write %s: %s\n", p, e->message);
        abort();
    }
    return p;
}

/* Copies <FUZZ_DATA_DIR>/<name> to <scratch>/<rel> (the valid files a multi-file loader
 * needs beside the fuzzed one). */
G_GNUC_UNUSED static void fuzz_copy_data(const char *name, const char *rel) {
    char   *src = g_build_filename(FUZZ_DATA_DIR, name, NULL);
    gchar  *text = NULL;
    gsize   len = 0;
    GError *e = NULL;
    if (!g_file_get_contents(src, &text, &len, &e)) {
        fprintf(stderr, "fuzz: cannot read %s: %s\n", src, e->message);
        abort();
    }
    g_free(fuzz_write(rel, text, len));
    g_free(text);
    g_free(src);
}

/* A multi-file folder with one file fuzzed: input byte 0 picks which of the n files (at
 * most 8) the rest of data becomes; the others are the valid ones of <FUZZ_DATA_DIR>/<kind>.
 * Each choice has its own folder <scratch>/<kind>-<k>, set up on the first call. Returns that
 * folder's path (kept for the process), or NULL for an empty input. */
G_GNUC_UNUSED static const char *fuzz_folder_input(const char *kind, const char *const *files,
                                                   int n, const uint8_t *data, size_t size) {
    static char *dirs[8];
    static char  done_kind[32];
    char         rel[128], src[128];
    if (n < 1 || n > 8) abort();
    if (strcmp(done_kind, kind)) { /* one kind per harness process */
        for (int k = 0; k < n; k++) {
            for (int f = 0; f < n; f++) {
                if (f == k) continue;
                snprintf(rel, sizeof rel, "%s-%d/%s", kind, k, files[f]);
                snprintf(src, sizeof src, "%s/%s", kind, files[f]);
                fuzz_copy_data(src, rel);
            }
            snprintf(rel, sizeof rel, "%s-%d", kind, k);
            dirs[k] = fuzz_path(rel);
        }
        snprintf(done_kind, sizeof done_kind, "%s", kind);
    }
    if (size == 0) return NULL;
    const int k = data[0] % n;
    snprintf(rel, sizeof rel, "%s-%d/%s", kind, k, files[k]);
    g_free(fuzz_write(rel, data + 1, size - 1));
    return dirs[k];
}

/* The error contract of a failed call: the status is recorded in err and returned, and the
 * message is non-empty and names `what` (the file or folder the loader was given). */
G_GNUC_UNUSED static void fuzz_check_failure(cascade_status st, const cascade_error *err,
                                             const char *what) {
    if (getenv("FUZZ_VERBOSE")) /* to see where the seeds get: FUZZ_VERBOSE=1 fuzz-x -runs=0 */
        fprintf(stderr, "fuzz: %s\n", st == CASCADE_STATUS_OK ? "accepted" : err->message);
    if (st == CASCADE_STATUS_OK) return;
    if (err->status != st || !err->message[0] || (what && !strstr(err->message, what))) {
        fprintf(stderr,
                "fuzz: bad error contract: returned %d, recorded %d, message '%s' "
                "(should name '%s')\n",
                (int)st, (int)err->status, err->message, what ? what : "");
        abort();
    }
}

#define FUZZ_ASSERT(cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz: %s:%d: %s\n", __FILE__, __LINE__, #cond);                       \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
