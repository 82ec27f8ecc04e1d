/* Components of a diffusers pipeline folder, shared by the IF and SD model sets. */
#include <stdlib.h>
#include <string.h>

#include "cascade/model-dir.h"
#include "pipeline-internal.h"

cascade_status pipe_component(const cascade_model_dir *md, const char *name, const char **path,
                                cascade_error *err) {
    const cascade_model_component *c = cascade_model_dir_find(md, name);
    if (!c)
        return cascade_error_set(err, CASCADE_STATUS_FORMAT, "%s: no '%s' component",
                                 cascade_model_dir_path(md), name);
    *path = c->path;
    return CASCADE_STATUS_OK;
}

cascade_status pipe_expect_class(const cascade_model_dir *md, const char *name,
                                 const char *const *classes, cascade_error *err) {
    const cascade_model_component *c = cascade_model_dir_find(md, name);
    for (size_t i = 0; c && classes[i]; i++)
        if (c->class_name && !strcmp(c->class_name, classes[i])) return CASCADE_STATUS_OK;
    return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                             "%s: component '%s' is %s, expected %s", cascade_model_dir_path(md),
                             name, c && c->class_name ? c->class_name : "missing", classes[0]);
}

cascade_status pipe_load_scheduler(const cascade_model_dir *md, const char *name,
                                     cascade_scheduler **out, cascade_error *err) {
    const char *dir = NULL;
    CASCADE_TRY(pipe_component(md, name, &dir, err));
    char *cfg = cascade_component_config_path(dir, err);
    if (!cfg) return err ? err->status : CASCADE_STATUS_IO;
    cascade_status st = cascade_scheduler_load(cfg, out, err);
    free(cfg);
    return st;
}
