/* `cascade forward`: one runner per component class (cmd-forward.c's table). */
#ifndef CASCADE_CLI_FORWARD_H
#define CASCADE_CLI_FORWARD_H

#include <stdbool.h>

#include "cascade/backend.h"
#include "cascade/safetensors.h"

typedef struct forward_request {
    const char                *component_dir;
    const char                *inputs_path, *outputs_path;
    const cascade_safetensors *inputs;
    cascade_backend           *backend;
    bool                       debug;
} forward_request;

/* A component ready to run: its graph planned on the backend, inputs written. */
typedef struct forward_session {
    cascade_graph *graph;
    cascade_plan  *plan;
    void          *model;                 /* the loaded component */
    void (*model_free)(void *model);      /* frees model */
} forward_session;

typedef struct forward_component {
    const char *class_name; /* "_class_name" or architectures[0] of config.json */
    /* Loads the component, builds and plans its graph for the shapes of rq->inputs and
     * writes the inputs; on failure s holds nothing (forward_session_clear is still safe). */
    cascade_status (*prepare)(const forward_request *rq, forward_session *s, cascade_error *err);
} forward_component;

/* The runner for a component directory (by its config's class), or NULL with an error. */
const forward_component *forward_find_component(const char *dir, cascade_error *err);
void forward_session_clear(forward_session *s);

/* Writes every output value of the graph (after a run) under its name to rq->outputs_path. */
cascade_status forward_write_outputs(const forward_request *rq, const cascade_graph *g,
                                     cascade_plan *p, cascade_error *err);
char *forward_component_class(const char *dir, cascade_error *err);

#endif
