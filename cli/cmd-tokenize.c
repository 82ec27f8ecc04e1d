#include "cascade.h"
int cmd_tokenize(int argc, char **argv) { (void)argc; (void)argv; return cli_failf("tokenize", "not yet"); }
