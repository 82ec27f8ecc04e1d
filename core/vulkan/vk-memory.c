/* Buffers, memory types, and the staging path for uploads and read-backs. */
#include <string.h>

#include "vk-internal.h"

static int find_type(const cascade_vk_ctx *vk, uint32_t bits, VkMemoryPropertyFlags want) {
    for (uint32_t i = 0; i < vk->memprops.memoryTypeCount; i++)
        if ((bits & (1u << i)) && (vk->memprops.memoryTypes[i].propertyFlags & want) == want)
            return (int)i;
    return -1;
}

cascade_status cascade_vk_buffer_new(cascade_vk_ctx *vk, VkDeviceSize size, bool host_visible,
                                     cascade_vk_buffer *out, cascade_error *err) {
    memset(out, 0, sizeof *out);
    cascade_status     st = CASCADE_STATUS_OK;
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                              .size = size ? size : 16,
                              .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                                       VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                       VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                              .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VkResult r = cascade_vk_fault_alloc(vk);
    if (r == VK_SUCCESS) r = vkCreateBuffer(vk->dev, &bci, NULL, &out->buf);
    if (r != VK_SUCCESS) return cascade_vk_error(err, r, "vkCreateBuffer");
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(vk->dev, out->buf, &req);
    int type;
    if (host_visible) {
        type = find_type(vk, req.memoryTypeBits,
                         VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT |
                             VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
        if (type < 0)
            type = find_type(vk, req.memoryTypeBits,
                             VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                 VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    } else {
        type = find_type(vk, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
        if (type < 0) type = find_type(vk, req.memoryTypeBits, 0);
    }
    if (type < 0) {
        st = cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                               "vulkan: device '%s' has no suitable memory type for a %s buffer",
                               vk->info.name, host_visible ? "staging" : "device");
        goto fail;
    }
    VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                .allocationSize = req.size,
                                .memoryTypeIndex = (uint32_t)type};
    r = cascade_vk_fault_alloc(vk);
    if (r == VK_SUCCESS) r = vkAllocateMemory(vk->dev, &mai, NULL, &out->mem);
    if (r != VK_SUCCESS) {
        st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY,
                               "vulkan: out of device memory allocating %.1f MiB on '%s' (%s)",
                               (double)req.size / (1 << 20), vk->info.name,
                               cascade_vk_result_name(r));
        goto fail;
    }
    out->alloc = req.size;
    vk->stats.device_bytes += req.size;
    if (vk->stats.device_bytes > vk->stats.device_peak_bytes)
        vk->stats.device_peak_bytes = vk->stats.device_bytes;
    CASCADE_VK_TRY_GOTO(err, st, vkBindBufferMemory(vk->dev, out->buf, out->mem, 0), fail);
    if (host_visible)
        CASCADE_VK_TRY_GOTO(err, st, vkMapMemory(vk->dev, out->mem, 0, VK_WHOLE_SIZE, 0, &out->map),
                            fail);
    out->size = bci.size;
    return CASCADE_STATUS_OK;
fail:
    cascade_vk_buffer_free(vk, out);
    return st;
}

void cascade_vk_buffer_free(cascade_vk_ctx *vk, cascade_vk_buffer *b) {
    if (b->buf) vkDestroyBuffer(vk->dev, b->buf, NULL);
    if (b->mem) vkFreeMemory(vk->dev, b->mem, NULL); /* unmaps implicitly */
    vk->stats.device_bytes -= b->alloc <= vk->stats.device_bytes ? b->alloc : vk->stats.device_bytes;
    memset(b, 0, sizeof *b);
}

cascade_status cascade_vk_alive(const cascade_vk_ctx *vk, cascade_error *err) {
    if (!vk->lost) return CASCADE_STATUS_OK;
    return cascade_error_set(err, CASCADE_STATUS_DEVICE_LOST,
                             "vulkan: device '%s' was lost earlier; this backend runs nothing "
                             "more (free it and make a new one, or use the CPU backend)",
                             vk->info.name);
}

/* A lost device stays lost (Vulkan's rule): the first loss marks the context, so every later
 * call is refused up front instead of touching dead objects. */
cascade_status cascade_vk_submit_wait(cascade_vk_ctx *vk, VkCommandBuffer cmd,
                                      cascade_error *err) {
    CASCADE_TRY(cascade_vk_alive(vk, err));
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                       .commandBufferCount = 1,
                       .pCommandBuffers = &cmd};
    const char *what = "vkResetFences";
    VkResult    r = vkResetFences(vk->dev, 1, &vk->fence);
    if (r == VK_SUCCESS) {
        what = "vkQueueSubmit";
        r = vkQueueSubmit(vk->queue, 1, &si, vk->fence);
    }
    if (r == VK_SUCCESS) {
        what = "vkWaitForFences";
        r = vkWaitForFences(vk->dev, 1, &vk->fence, VK_TRUE, UINT64_MAX);
        /* an injected loss happens after the work, as a real one is seen at the wait */
        if (r == VK_SUCCESS && vk->fault_submit && --vk->fault_submit == 0) {
            vk->n_faults++;
            r = VK_ERROR_DEVICE_LOST;
        }
    }
    if (r == VK_SUCCESS) return CASCADE_STATUS_OK;
    if (r == VK_ERROR_DEVICE_LOST) vk->lost = true;
    return cascade_vk_error(err, r, what);
}

/* Records a copy (or fill) on the transfer command buffer, with barriers on both sides so
 * it orders against compute work submitted before and after, then waits. */
static cascade_status xfer(cascade_vk_ctx *vk, VkBuffer src, VkDeviceSize src_off, VkBuffer dst,
                           VkDeviceSize dst_off, VkDeviceSize n, const uint32_t *fill,
                           cascade_error *err) {
    CASCADE_TRY(cascade_vk_alive(vk, err));
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    CASCADE_VK_TRY(err, vkResetCommandBuffer(vk->xfer_cmd, 0));
    CASCADE_VK_TRY(err, vkBeginCommandBuffer(vk->xfer_cmd, &bi));
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT};
    vkCmdPipelineBarrier(vk->xfer_cmd,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    if (fill) {
        vkCmdFillBuffer(vk->xfer_cmd, dst, dst_off, n, *fill);
    } else {
        VkBufferCopy c = {.srcOffset = src_off, .dstOffset = dst_off, .size = n};
        vkCmdCopyBuffer(vk->xfer_cmd, src, dst, 1, &c);
    }
    VkMemoryBarrier mb2 = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                           .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                           .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                                            VK_ACCESS_HOST_READ_BIT};
    vkCmdPipelineBarrier(vk->xfer_cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT, 0, 1,
                         &mb2, 0, NULL, 0, NULL);
    CASCADE_VK_TRY(err, vkEndCommandBuffer(vk->xfer_cmd));
    return cascade_vk_submit_wait(vk, vk->xfer_cmd, err);
}

cascade_status cascade_vk_upload(cascade_vk_ctx *vk, VkBuffer dst, VkDeviceSize off,
                                 const void *src, VkDeviceSize n, cascade_error *err) {
    const char *s = src;
    while (n > 0) {
        VkDeviceSize c = n < vk->staging.size ? n : vk->staging.size;
        memcpy(vk->staging.map, s, c);
        CASCADE_TRY(xfer(vk, vk->staging.buf, 0, dst, off, c, NULL, err));
        s += c;
        off += c;
        n -= c;
    }
    return CASCADE_STATUS_OK;
}

cascade_status cascade_vk_download(cascade_vk_ctx *vk, VkBuffer src, VkDeviceSize off, void *dst,
                                   VkDeviceSize n, cascade_error *err) {
    char *d = dst;
    while (n > 0) {
        VkDeviceSize c = n < vk->staging.size ? n : vk->staging.size;
        CASCADE_TRY(xfer(vk, src, off, vk->staging.buf, 0, c, NULL, err));
        memcpy(d, vk->staging.map, c);
        d += c;
        off += c;
        n -= c;
    }
    return CASCADE_STATUS_OK;
}

cascade_status cascade_vk_fill(cascade_vk_ctx *vk, VkBuffer dst, VkDeviceSize off,
                               VkDeviceSize n, uint32_t word, cascade_error *err) {
    return xfer(vk, VK_NULL_HANDLE, 0, dst, off, n, &word, err);
}
