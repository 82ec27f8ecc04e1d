/* The resident engine: one plug-in process that keeps the model loaded between Filters-menu
 * runs, so the second generate in a GIMP session starts denoising without loading.
 *
 * GIMP 2.10 gives a plug-in no way to start an extension and go on: a PDB call of an
 * extension returns only when the extension's run does, which for a server is never (tried:
 * the caller hangs). So the engine is an extension without arguments, which GIMP starts with
 * itself as it starts extension-script-fu; it loads nothing until the first call. Its run
 * installs one temporary procedure per public procedure (same parameters and return values),
 * acks and serves them with gimp_extension_process, holding worker.c's CascadeJobCache for its
 * lifetime. Each public procedure's own process forwards its arguments to the temporary
 * procedure and hands back the return values; when the engine is off, gone or busy with
 * another call, the public procedure runs in its own process as before.
 *
 * After an idle time the cache is freed (backend, device memory, weights) and malloc's free
 * memory trimmed; the engine keeps serving and loads again on the next call. GIMP ends the
 * extension when it quits (GP_QUIT, then SIGKILL), and the cache goes with the process.
 *
 * State is per process, as libgimp's callbacks (run, temp procs, quit) carry no user data. */
#include "config-plugin.h"

#include <glib/gi18n-lib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "cascade-plugin.h"

/* gimp_set_data key: the display the forwarding call came from (gint32) */
#define DISPLAY_KEY    CASCADE_PROC_ENGINE "-display"
#define IDLE_DEFAULT_S 300
#define IDLE_MAX_S     (30 * 24 * 3600)

typedef struct {
    gboolean serving;     /* this process is the engine */
    gboolean busy;        /* a call is running here: another one is passed back */
    guint    runs;        /* calls served */
    guint    releases;    /* caches freed */
    guint    loads_freed; /* loads of the caches freed */
    gint64   idle_us;     /* how long the cache outlives a call; 0: freed after each */
    gint64   last_us;     /* monotonic time the last call ended */
    gint32   display;     /* the current call's display, -1 none */
} Engine;

static Engine engine = {.display = -1};

static gboolean resident_enabled(void) {
    const gchar *v = g_getenv("CASCADE_RESIDENT");
    return !v || !(!strcmp(v, "0") || !g_ascii_strcasecmp(v, "no") ||
                   !g_ascii_strcasecmp(v, "off") || !g_ascii_strcasecmp(v, "false"));
}

static gboolean debug_enabled(void) {
    const gchar *v = g_getenv("CASCADE_DEBUG");
    return v && *v && strcmp(v, "0");
}

static gint64 idle_seconds(void) {
    const gchar *v = g_getenv("CASCADE_RESIDENT_IDLE_S");
    guint64      s = 0;
    if (v && *v && g_ascii_string_to_unsigned(v, 10, 0, IDLE_MAX_S, &s, NULL)) return (gint64)s;
    if (v && *v)
        /* TRANSLATORS: the environment variable's value, the largest, the default (seconds) */
        g_printerr(_("CASCADE_RESIDENT_IDLE_S is “%s”, not a number of seconds from 0 to %d: "
                     "the resident engine keeps the model for %d s after each run.\n"),
                   v, IDLE_MAX_S, IDLE_DEFAULT_S);
    return IDLE_DEFAULT_S;
}

void cascade_engine_install(void) {
    /* no arguments: GIMP starts it at start-up (those with a run mode only on request, and a
     * plug-in's request would wait for it forever) */
    gimp_install_procedure(CASCADE_PROC_ENGINE, "The resident engine of gimp-cascade",
                           "Started by GIMP with itself. Keeps the model loaded between calls "
                           "of the plug-in-cascade-* procedures, which go to it, and frees it "
                           "after an idle time. Not to be called.",
                           "gimp-cascade authors", "MIT", "2026", NULL, "", GIMP_EXTENSION, 0, 0,
                           NULL, NULL);
}

/* Resident set size in kB (-1 where /proc is not there): the debug line's evidence. */
static glong rss_kb(void) {
    gchar *text = NULL;
    glong  pages = -1, size = 0;
    if (g_file_get_contents("/proc/self/statm", &text, NULL, NULL) &&
        sscanf(text, "%ld %ld", &size, &pages) != 2)
        pages = -1;
    g_free(text);
    return pages < 0 ? -1 : pages * (sysconf(_SC_PAGESIZE) / 1024);
}

static void report(gboolean resident, guint runs) {
    if (!debug_enabled()) return;
    cascade_session_counters c; /* plans and text encodes of the session kept now */
    cascade_worker_cache_counters(&c);
    g_printerr("cascade-engine: pid=%d resident=%s runs=%u loads=%u releases=%u plans=%llu "
               "encodes=%llu rss_kb=%ld\n",
               (int)getpid(), resident ? "yes" : "no", runs,
               engine.loads_freed + cascade_worker_cache_loads(), engine.releases,
               (unsigned long long)c.backend.plans_built,
               (unsigned long long)c.pipeline.text_encodes, rss_kb());
}

static void release(void) {
    if (!cascade_worker_has_cache()) return;
    engine.loads_freed += cascade_worker_cache_loads();
    cascade_worker_cache_free();
#ifdef __GLIBC__
    /* the weights' and plans' heap back to the system, not kept in malloc's free lists */
    malloc_trim(0);
#endif
    engine.releases++;
    if (debug_enabled())
        g_printerr("cascade-engine: pid=%d released releases=%u rss_kb=%ld\n", (int)getpid(),
                   engine.releases, rss_kb());
}

void cascade_engine_report_local(void) {
    report(FALSE, 1);
}

static void temp_run(const gchar *name, gint nparams, const GimpParam *param, gint *nreturn_vals,
                     GimpParam **return_vals) {
    static GimpParam passed[1];
    const gchar     *public_name = cascade_procedures_public_name(name);
    /* A call that arrives while one runs (GIMP's UI lets a second menu call start, and it is
     * read inside the first's libgimp calls or main loop) goes back to its caller, which runs
     * it in its own process: the cache serves one run at a time. */
    if (engine.busy || !public_name) {
        passed[0].type = GIMP_PDB_STATUS;
        passed[0].data.d_status = public_name ? GIMP_PDB_PASS_THROUGH : GIMP_PDB_CALLING_ERROR;
        *nreturn_vals = 1;
        *return_vals = passed;
        return;
    }
    engine.busy = TRUE;
    engine.display = -1;
    if (gimp_get_data_size(DISPLAY_KEY) == sizeof engine.display)
        gimp_get_data(DISPLAY_KEY, &engine.display);
    cascade_plugin_call(public_name, nparams, param, nreturn_vals, return_vals);
    engine.runs++;
    if (engine.idle_us == 0) release();
    engine.last_us = g_get_monotonic_time();
    report(TRUE, engine.runs);
    engine.display = -1;
    engine.busy = FALSE;
}

void cascade_engine_serve(void) {
    if (!resident_enabled()) {
        gimp_extension_ack(); /* GIMP's start-up waits for it */
        return;
    }
    bindtextdomain(GETTEXT_PACKAGE, CASCADE_LOCALEDIR);
    bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
    textdomain(GETTEXT_PACKAGE);
    engine.serving = TRUE;
    engine.idle_us = idle_seconds() * G_USEC_PER_SEC;
    cascade_procedures_install_temp(temp_run);
    gimp_extension_ack();
    /* a call that comes while a run spins the main loop (the dialog, a job) is read there and
     * passed back at once, instead of waiting for the run to end */
    gimp_extension_enable();
    for (;;) {
        guint wait_ms = 0; /* until a message comes */
        if (cascade_worker_has_cache() && engine.idle_us > 0) {
            gint64 left = engine.last_us + engine.idle_us - g_get_monotonic_time();
            if (left <= 0) {
                release();
                continue;
            }
            wait_ms = (guint)MIN((left + 999) / 1000, G_MAXINT);
        }
        gimp_extension_process(wait_ms); /* GP_QUIT ends the process in there */
    }
}

gboolean cascade_engine_forward(const gchar *name, gint nparams, const GimpParam *param,
                                gint *nreturn_vals, GimpParam **return_vals) {
    static GimpParam values[3];
    static gchar    *strings[3];
    if (!resident_enabled()) return FALSE;
    gchar *temp = cascade_procedures_temp_name(name);
    if (!temp || !gimp_procedural_db_proc_exists(temp)) {
        g_free(temp);
        return FALSE;
    }
    gint32 display = gimp_default_display();
    gimp_set_data(DISPLAY_KEY, &display, sizeof display);
    /* the engine's errors are this call's: GIMP shows them once, when this call returns them */
    gimp_plugin_set_pdb_error_handler(GIMP_PDB_ERROR_HANDLER_PLUGIN);
    gint       n = 0;
    GimpParam *ret = gimp_run_procedure2(temp, &n, nparams, param);
    gimp_plugin_set_pdb_error_handler(GIMP_PDB_ERROR_HANDLER_INTERNAL);
    g_free(temp);
    if (n < 1 || ret[0].type != GIMP_PDB_STATUS || ret[0].data.d_status == GIMP_PDB_PASS_THROUGH) {
        gimp_destroy_params(ret, n);
        return FALSE;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(strings); i++)
        g_clear_pointer(&strings[i], g_free);
    gint k = MIN(n, (gint)G_N_ELEMENTS(values));
    for (gint i = 0; i < k; i++) {
        values[i] = ret[i];
        if (ret[i].type == GIMP_PDB_STRING)
            values[i].data.d_string = strings[i] = g_strdup(ret[i].data.d_string);
    }
    GimpPDBStatusType status = ret[0].data.d_status;
    if (k == 1 && status != GIMP_PDB_SUCCESS && status != GIMP_PDB_CANCEL) {
        /* the engine went away mid-call (a crash): GIMP's reason is the message */
        values[1].type = GIMP_PDB_STRING;
        values[1].data.d_string = strings[1] = g_strdup(gimp_get_pdb_error());
        k = 2;
    }
    gimp_destroy_params(ret, n);
    *nreturn_vals = k;
    *return_vals = values;
    return TRUE;
}

void cascade_engine_quit(void) {
    if (engine.serving && debug_enabled())
        g_printerr("cascade-engine: pid=%d quit runs=%u\n", (int)getpid(), engine.runs);
    if (!engine.busy) cascade_worker_cache_free(); /* a running job still uses it */
}

gint32 cascade_engine_display(void) {
    gint32 display = engine.serving ? engine.display : gimp_default_display();
    return display > 0 && gimp_display_is_valid(display) ? display : -1;
}
