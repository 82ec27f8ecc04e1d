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

typedef struct forward_component {
    const char *class_name; /* "_class_name" or architectures[0] of config.json */
    cascade_status (*run)(const forward_request *rq, cascade_error *err);
} forward_component;

/* Writes every output value of the graph (after a run) under its name to rq->outputs_path. */
cascade_status forward_write_outputs(const forward_request *rq, const cascade_graph *g,
                                     cascade_plan *p, cascade_error *err);
char *forward_component_class(const char *dir, cascade_error *err);

#endif
