/* Running the `cascade` command from tests (see cli-run.h). */
#include <glib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "cli-run.h"

result run_cli(const char *const *args) {
    const char *exe = getenv("CASCADE_CLI");
    GPtrArray  *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer)(exe ? exe : "build/cli/cascade"));
    for (const char *const *a = args; *a; a++) g_ptr_array_add(argv, (gpointer)*a);
    g_ptr_array_add(argv, NULL);
    result  r = {0};
    gint    wait = 0;
    GError *e = NULL;
    if (!g_spawn_sync(NULL, (gchar **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &r.out, &r.err,
                      &wait, &e))
        fail_msg("spawn: %s", e->message);
    r.status = WIFEXITED(wait) ? WEXITSTATUS(wait) : 128;
    g_ptr_array_free(argv, TRUE);
    return r;
}

void result_clear(result *r) {
    g_free(r->out);
    g_free(r->err);
}

cascade_image *read_png(const char *path) {
    cascade_image *im = NULL;
    cascade_error  err;
    cascade_error_init(&err);
    if (cascade_image_read_png(path, &im, &err)) fail_msg("%s", err.message);
    return im;
}

