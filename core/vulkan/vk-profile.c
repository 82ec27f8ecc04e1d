/* CASCADE_VK_PROFILE=1: a timestamp after every dispatch of a plan's recording; each run
 * adds every dispatch's time to its shader's total, and freeing the plan prints the totals
 * to stderr, largest first: the per-kernel breakdown that says which kernel to work on.
 * Off by default (timestamps serialise nothing on lavapipe, but they cost a query each). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk-internal.h"

cascade_status cascade_vk_profile_begin(cascade_vk_plan *p, cascade_error *err) {
    const char *env = getenv("CASCADE_VK_PROFILE");
    if (!env || !*env || !strcmp(env, "0")) return CASCADE_STATUS_OK;
    cascade_vk_ctx *vk = p->vk;
    if (!vk->props.limits.timestampComputeAndGraphics) {
        fprintf(stderr, "cascade vulkan profile: '%s' has no compute timestamps\n", vk->info.name);
        return CASCADE_STATUS_OK;
    }
    p->q_cap = 8u * (uint32_t)cascade_graph_n_nodes(p->g) + 2u;
    p->q_shader = calloc(p->q_cap, sizeof *p->q_shader);
    if (!p->q_shader) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "vulkan: profile");
    VkQueryPoolCreateInfo qi = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                .queryType = VK_QUERY_TYPE_TIMESTAMP,
                                .queryCount = p->q_cap};
    CASCADE_VK_TRY(err, vkCreateQueryPool(vk->dev, &qi, NULL, &p->qpool));
    vkCmdResetQueryPool(p->cmd, p->qpool, 0, p->q_cap);
    vkCmdWriteTimestamp(p->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, p->qpool, 0);
    p->q_n = 1;
    return CASCADE_STATUS_OK;
}

void cascade_vk_profile_mark(cascade_vk_plan *p, cascade_vk_shader s) {
    if (!p->qpool || p->q_n >= p->q_cap) return;
    p->q_shader[p->q_n] = (uint16_t)s;
    vkCmdWriteTimestamp(p->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, p->qpool, p->q_n++);
}

cascade_status cascade_vk_profile_collect(cascade_vk_plan *p, cascade_error *err) {
    if (!p->qpool || p->q_n < 2) return CASCADE_STATUS_OK;
    uint64_t *ts = calloc(p->q_n, sizeof *ts);
    if (!ts) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "vulkan: profile");
    VkResult r = vkGetQueryPoolResults(p->vk->dev, p->qpool, 0, p->q_n, p->q_n * sizeof *ts, ts,
                                       sizeof *ts,
                                       VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
    if (r != VK_SUCCESS) {
        free(ts);
        return cascade_vk_error(err, r, "vkGetQueryPoolResults");
    }
    double ns = p->vk->props.limits.timestampPeriod;
    for (uint32_t i = 1; i < p->q_n; i++) {
        p->prof_ms[p->q_shader[i]] += (double)(ts[i] - ts[i - 1]) * ns * 1e-6;
        p->prof_calls[p->q_shader[i]]++;
    }
    p->prof_runs++;
    free(ts);
    return CASCADE_STATUS_OK;
}

void cascade_vk_profile_report_free(cascade_vk_plan *p) {
    if (p->qpool && p->prof_runs) {
        double total = 0;
        for (int s = 0; s < CASCADE_VK_SHADER_COUNT; s++) total += p->prof_ms[s];
        fprintf(stderr, "cascade vulkan profile: %u run(s), %u dispatches, %.3f ms per run\n",
                p->prof_runs, p->q_n - 1, total / p->prof_runs);
        for (;;) { /* largest first, each printed once */
            int best = -1;
            for (int s = 0; s < CASCADE_VK_SHADER_COUNT; s++)
                if (p->prof_calls[s] && (best < 0 || p->prof_ms[s] > p->prof_ms[best])) best = s;
            if (best < 0) break;
            fprintf(stderr, "  %-26s %6u calls/run %10.3f ms/run %5.1f%%\n",
                    cascade_vk_shaders[best].name, p->prof_calls[best] / p->prof_runs,
                    p->prof_ms[best] / p->prof_runs, total > 0 ? 100 * p->prof_ms[best] / total : 0);
            p->prof_calls[best] = 0;
        }
    }
    if (p->qpool) vkDestroyQueryPool(p->vk->dev, p->qpool, NULL);
    free(p->q_shader);
    p->qpool = VK_NULL_HANDLE;
    p->q_shader = NULL;
}
