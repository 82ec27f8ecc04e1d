/* Running the `cascade` command from tests: $CASCADE_CLI (set by meson), else
 * build/cli/cascade, with its exit code and output captured. */
#ifndef TEST_CLI_RUN_H
#define TEST_CLI_RUN_H

#include "cascade/image-io.h"

typedef struct result {
    int   status; /* exit code */
    char *out, *err;
} result;

/* args: NULL-terminated, without the program name. Fails the test when it cannot spawn. */
result run_cli(const char *const *args);
void   result_clear(result *r);
/* A PNG the command wrote; fails the test when it cannot be read. */
cascade_image *read_png(const char *path);

#endif
