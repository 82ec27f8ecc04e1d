/* CascadeUiHost: what the dialog asks of whoever embeds it (the GIMP plug-in, or a test).
 *
 * The dialog never touches GIMP: it edits a CascadeRecipe, asks the host to start and
 * cancel runs, and the host feeds progress, previews and candidates back through the
 * cascade_dialog_report_*() calls of cascade-dialog.h, on the main thread. A host usually
 * implements start() with a CascadeJob (cascade-job.h). */
#ifndef CASCADE_UI_HOST_H
#define CASCADE_UI_HOST_H

#include <glib.h>

#include "cascade-recipe.h"

G_BEGIN_DECLS

typedef struct _CascadeUiHost CascadeUiHost;

struct _CascadeUiHost {
    /* Starts a run of recipe (copied by the host). stage1_only: the dialog wants the batch's
     * 64 px candidates to pick from (no stage II). FALSE + error when it cannot start. */
    gboolean (*start)(CascadeUiHost *host, const CascadeRecipe *recipe, gboolean stage1_only,
                      GError **error);
    /* Asks the running job to stop; the host then reports finished with a cancelled error. */
    void (*cancel)(CascadeUiHost *host);
    /* Image context the dialog shows, e.g. "Inpainting 312 × 200 px of photo.xcf"; may be
     * NULL. */
    const gchar *(*describe_target)(CascadeUiHost *host);
    gpointer user_data;
};

G_END_DECLS

#endif
