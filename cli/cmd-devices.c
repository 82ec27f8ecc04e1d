/* cascade devices [--json]: the Vulkan devices, which one the backend would pick, their
 * memory heaps, the features the kernels use, and the cooperative-matrix shapes
 * (VK_NV_cooperative_matrix) with whether fp16 plans would use the tensor-core GEMM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cascade.h"

#ifdef CASCADE_HAVE_VULKAN
#include "cascade/vulkan.h"

static void print_coopmat(const cascade_vulkan_device_info *d, bool json) {
    const char *why = NULL;
    bool use = cascade_vulkan_coopmat_pick(d, true, false, getenv("CASCADE_VK_COOPMAT"), &why);
    if (json)
        printf(", \"coopmat_nv\": %s, \"coopmat_gemm\": %s, \"coopmat_why\": \"%s\", "
               "\"coopmat_shapes\": [",
               d->coopmat_nv ? "true" : "false", use ? "true" : "false", why);
    else
        printf("   VK_NV_cooperative_matrix %s; tensor-core GEMM (fp16 plans): %s\n",
               d->coopmat_nv ? "yes" : "no", why);
    for (uint32_t i = 0; i < d->n_coopmat; i++) {
        const cascade_vulkan_coopmat_shape *s = &d->coopmat[i];
        if (json)
            printf("%s{\"m\": %u, \"n\": %u, \"k\": %u, \"a\": \"%s\", \"b\": \"%s\", "
                   "\"c\": \"%s\", \"d\": \"%s\", \"scope\": %u}",
                   i ? ", " : "", s->m, s->n, s->k, cascade_vulkan_component_name(s->a_type),
                   cascade_vulkan_component_name(s->b_type),
                   cascade_vulkan_component_name(s->c_type),
                   cascade_vulkan_component_name(s->d_type), s->scope);
        else
            printf("     %ux%ux%u %s x %s + %s -> %s%s\n", s->m, s->n, s->k,
                   cascade_vulkan_component_name(s->a_type),
                   cascade_vulkan_component_name(s->b_type),
                   cascade_vulkan_component_name(s->c_type),
                   cascade_vulkan_component_name(s->d_type),
                   s->scope == 3 ? "" : " (not subgroup scope)");
    }
    if (json) printf("]");
}

int cmd_devices(int argc, char **argv) {
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            printf("usage: cascade devices [--json]\n\nLists Vulkan devices. The backend picks "
                   "discrete, then integrated, then CPU drivers;\nset CASCADE_VK_DEVICE to an "
                   "index or a name substring to override.\n");
            return 0;
        }
        if (!strcmp(argv[i], "--json"))
            json = true;
        else
            return cli_failf("devices", "unknown option '%s'", argv[i]);
    }
    cascade_error err;
    cascade_error_init(&err);
    cascade_vulkan_device_info *devs = NULL;
    int                         n = 0;
    if (cascade_vulkan_list_devices(&devs, &n, &err)) return cli_fail("devices", &err);
    if (json) printf("[");
    for (int i = 0; i < n; i++) {
        const cascade_vulkan_device_info *d = &devs[i];
        if (json) {
            printf("%s{\"index\": %d, \"name\": \"%s\", \"type\": \"%s\", \"api\": \"%u.%u\", "
                   "\"heaps\": [",
                   i ? ", " : "", d->index, d->name, cascade_vulkan_device_type_name(d->type),
                   d->api_version >> 22, (d->api_version >> 12) & 0x3ff);
            for (uint32_t h = 0; h < d->n_heaps; h++)
                printf("%s{\"bytes\": %llu, \"device_local\": %s}", h ? ", " : "",
                       (unsigned long long)d->heap_bytes[h],
                       d->heap_device_local[h] ? "true" : "false");
            printf("], \"fp16_storage\": %s, \"fp16_arith\": %s, \"subgroup_size\": %u, "
                   "\"subgroup_size_control\": %s, \"cooperative_matrix\": %s, "
                   "\"memory_budget\": %s",
                   d->fp16_storage ? "true" : "false", d->fp16_arith ? "true" : "false",
                   d->subgroup_size, d->subgroup_size_control ? "true" : "false",
                   d->cooperative_matrix ? "true" : "false", d->memory_budget ? "true" : "false");
            print_coopmat(d, true);
            printf("}");
            continue;
        }
        printf("%d: %s (%s, Vulkan %u.%u)\n", d->index, d->name,
               cascade_vulkan_device_type_name(d->type), d->api_version >> 22,
               (d->api_version >> 12) & 0x3ff);
        for (uint32_t h = 0; h < d->n_heaps; h++)
            printf("   heap %u: %.0f MiB%s\n", h, (double)d->heap_bytes[h] / (1 << 20),
                   d->heap_device_local[h] ? " device-local" : "");
        printf("   fp16 storage %s, fp16 arithmetic %s, subgroup %u%s, cooperative matrix %s, "
               "memory budget %s\n",
               d->fp16_storage ? "yes" : "no", d->fp16_arith ? "yes" : "no", d->subgroup_size,
               d->subgroup_size_control ? " (size control)" : "",
               d->cooperative_matrix ? "yes" : "no", d->memory_budget ? "yes" : "no");
        print_coopmat(d, false);
    }
    if (json) printf("]\n");
    if (!json && n == 0) printf("no Vulkan devices\n");
    free(devs);
    return 0;
}
#else
int cmd_devices(int argc, char **argv) {
    (void)argc;
    (void)argv;
    printf("this build of cascade has no Vulkan backend\n");
    return 0;
}
#endif
