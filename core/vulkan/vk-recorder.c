/* Records dispatches into a plan's command buffer: descriptor sets, push constants, and a
 * barrier only where a hazard exists since the previous one (RAW, WAR, WAW on overlapping
 * byte ranges; the arena reuses bytes, so WAR matters as much as RAW). */
#include <stdlib.h>
#include <string.h>

#include "vk-internal.h"

cascade_status cascade_vk_record_begin(cascade_vk_plan *vp, cascade_error *err) {
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    CASCADE_VK_TRY(err, vkBeginCommandBuffer(vp->cmd, &bi));
    /* the previous run's last readers against this run's first writers, and the staging
     * writes of value_write against the first readers */
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT};
    vkCmdPipelineBarrier(vp->cmd,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    vp->n_rd = vp->n_wr = 0;
    return CASCADE_STATUS_OK;
}

cascade_status cascade_vk_record_end(cascade_vk_plan *vp, cascade_error *err) {
    VkMemoryBarrier out = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                           .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                           .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_HOST_READ_BIT};
    vkCmdPipelineBarrier(vp->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                         VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &out,
                         0, NULL, 0, NULL);
    CASCADE_VK_TRY(err, vkEndCommandBuffer(vp->cmd));
    return CASCADE_STATUS_OK;
}

static bool overlaps(const cascade_vk_range *set, int32_t n, const cascade_vk_range *r) {
    for (int32_t i = 0; i < n; i++)
        if (set[i].buf == r->buf && set[i].lo < r->hi && r->lo < set[i].hi) return true;
    return false;
}

static cascade_status track(cascade_vk_plan *p, cascade_error *err) {
    if (p->n_rd < p->cap_rw && p->n_wr < p->cap_rw) return CASCADE_STATUS_OK;
    int32_t           cap = p->cap_rw ? p->cap_rw * 2 : 64;
    cascade_vk_range *rd = realloc(p->rd, (size_t)cap * sizeof *rd);
    if (!rd) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "vulkan: recorder");
    p->rd = rd;
    cascade_vk_range *wr = realloc(p->wr, (size_t)cap * sizeof *wr);
    if (!wr) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "vulkan: recorder");
    p->wr = wr;
    p->cap_rw = cap;
    return CASCADE_STATUS_OK;
}

cascade_status cascade_vk_dispatch(cascade_vk_plan *p, cascade_vk_shader s,
                                   const cascade_value_id *bind, uint32_t n_bind,
                                   const void *push, uint32_t push_size, uint32_t gx,
                                   uint32_t gy, uint32_t gz, cascade_error *err) {
    cascade_vk_ctx *vk = p->vk;
    if (n_bind != cascade_vk_shader_bindings(s) || push_size > CASCADE_VK_PUSH_MAX)
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "vulkan: shader %s takes %u bindings, given %u",
                                 cascade_vk_shaders[s].name, cascade_vk_shader_bindings(s), n_bind);
    if (gx == 0 || gy == 0 || gz == 0) return CASCADE_STATUS_OK; /* empty tensor */
    const cascade_vk_pipeline *pl;
    CASCADE_TRY(cascade_vk_pipeline_get(vk, s, &pl, err));
    if (p->n_sets >= p->dpool_sets)
        return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY,
                                 "vulkan: descriptor pool of %u sets exhausted", p->dpool_sets);
    VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                      .descriptorPool = p->dpool,
                                      .descriptorSetCount = 1,
                                      .pSetLayouts = &pl->dsl};
    VkDescriptorSet set;
    VkResult        r = cascade_vk_fault_alloc(vk);
    if (r == VK_SUCCESS) r = vkAllocateDescriptorSets(vk->dev, &ai, &set);
    if (r != VK_SUCCESS) return cascade_vk_error(err, r, "vkAllocateDescriptorSets");
    p->n_sets++;

    VkDescriptorBufferInfo bi[8];
    VkWriteDescriptorSet   w[8];
    cascade_vk_range       rr[8];
    bool                   hazard = false;
    CASCADE_TRY(track(p, err));
    for (uint32_t i = 0; i < n_bind; i++) {
        if (bind[i] == CASCADE_NO_VALUE) {
            bi[i] = (VkDescriptorBufferInfo){vk->dummy.buf, 0, vk->dummy.size};
            rr[i] = (cascade_vk_range){VK_NULL_HANDLE, 0, 0};
        } else {
            const cascade_vk_loc *l = &p->loc[bind[i]];
            /* a zero-size range is not allowed; empty values bind 4 bytes nobody reads */
            bi[i] = (VkDescriptorBufferInfo){l->buf, l->off, l->size ? l->size : 4};
            rr[i] = (cascade_vk_range){l->buf, l->off, l->off + l->size};
            bool last = i + 1 == n_bind;
            if (overlaps(p->wr, p->n_wr, &rr[i])) hazard = true;
            if (last && overlaps(p->rd, p->n_rd, &rr[i])) hazard = true;
        }
        w[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                                      .dstSet = set,
                                      .dstBinding = i,
                                      .descriptorCount = 1,
                                      .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                      .pBufferInfo = &bi[i]};
    }
    vkUpdateDescriptorSets(vk->dev, n_bind, w, 0, NULL);
    if (hazard) {
        VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                              .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                              .dstAccessMask = VK_ACCESS_SHADER_READ_BIT |
                                               VK_ACCESS_SHADER_WRITE_BIT};
        vkCmdPipelineBarrier(p->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                             VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
        p->n_rd = p->n_wr = 0;
        p->n_barriers++;
    }
    for (uint32_t i = 0; i < n_bind; i++) {
        if (!rr[i].buf) continue;
        if (i + 1 == n_bind)
            p->wr[p->n_wr++] = rr[i];
        else
            p->rd[p->n_rd++] = rr[i];
        CASCADE_TRY(track(p, err));
    }
    uint8_t pc[CASCADE_VK_PUSH_MAX] = {0};
    memcpy(pc, push, push_size);
    vkCmdBindPipeline(p->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pl->pipe);
    vkCmdBindDescriptorSets(p->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pl->layout, 0, 1, &set, 0,
                            NULL);
    vkCmdPushConstants(p->cmd, pl->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, CASCADE_VK_PUSH_MAX, pc);
    vkCmdDispatch(p->cmd, gx, gy, gz);
    p->n_dispatches++;
    cascade_vk_profile_mark(p, s);
    return CASCADE_STATUS_OK;
}

static cascade_status split(uint64_t groups, uint32_t *gx, uint32_t *gy, cascade_error *err) {
    if (groups == 0) {
        *gx = *gy = 0;
        return CASCADE_STATUS_OK;
    }
    *gx = groups < 65535 ? (uint32_t)groups : 65535;
    uint64_t y = (groups + *gx - 1) / *gx;
    if (y > 65535)
        return cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                 "vulkan: %llu workgroups exceed one dispatch",
                                 (unsigned long long)groups);
    *gy = (uint32_t)y;
    return CASCADE_STATUS_OK;
}

cascade_status cascade_vk_dispatch_1d(cascade_vk_plan *p, cascade_vk_shader s,
                                      const cascade_value_id *bind, uint32_t n_bind,
                                      const void *push, uint32_t push_size, uint64_t n,
                                      cascade_error *err) {
    uint32_t wg = cascade_vk_shader_wg(s), gx = 0, gy = 0;
    CASCADE_TRY(split((n + wg - 1) / wg, &gx, &gy, err));
    return cascade_vk_dispatch(p, s, bind, n_bind, push, push_size, gx, gy, 1, err);
}

cascade_status cascade_vk_dispatch_rows(cascade_vk_plan *p, cascade_vk_shader s,
                                        const cascade_value_id *bind, uint32_t n_bind,
                                        const void *push, uint32_t push_size, uint64_t rows,
                                        cascade_error *err) {
    uint32_t gx = 0, gy = 0;
    CASCADE_TRY(split(rows, &gx, &gy, err));
    return cascade_vk_dispatch(p, s, bind, n_bind, push, push_size, gx, gy, 1, err);
}
