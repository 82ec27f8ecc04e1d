/* Compute pipelines from the embedded SPIR-V, created on first use and kept by the device
 * context. Each shader family's binding count and workgroup size live in one table. */
#include <string.h>

#include "vk-internal.h"

typedef struct shader_shape {
    uint32_t bindings;
    uint32_t wg; /* local_size_x: the spec constant 0 where the shader has one */
} shader_shape;

#define BOTH(fam, b, w)                                                                           \
    [CASCADE_VK_SHADER_##fam##_f32_f32] = {b, w}, [CASCADE_VK_SHADER_##fam##_f16_f16] = {b, w}
#define BOTH_Q8(fam, b, w)                                                                        \
    [CASCADE_VK_SHADER_##fam##_f32_f32_q8] = {b, w}, [CASCADE_VK_SHADER_##fam##_f16_f16_q8] = {b, w}

static const shader_shape shapes[CASCADE_VK_SHADER_COUNT] = {
    BOTH(binary, 3, 256),  BOTH(unary, 2, 256),   BOTH(copy, 2, 256),
    BOTH(permute, 2, 256), BOTH(cast, 2, 256),    BOTH(get_rows, 3, 256),
    BOTH(resample, 2, 256), BOTH(softmax, 2, 128), BOTH(mean, 2, 256),
    BOTH(norm, 4, 128),    BOTH(matmul, 4, 256),  BOTH(conv2d, 4, 256),
    BOTH(attention, 5, 64),  BOTH_Q8(matmul, 4, 256), BOTH_Q8(conv2d, 4, 256),
    [CASCADE_VK_SHADER_binary_f32_f16_sincos] = {3, 256},
    [CASCADE_VK_SHADER_matmul_f16_f16_coopmat] = {4, 256},
    [CASCADE_VK_SHADER_conv2d_f16_f16_coopmat] = {4, 256},
};

uint32_t cascade_vk_shader_bindings(cascade_vk_shader s) { return shapes[s].bindings; }
uint32_t cascade_vk_shader_wg(cascade_vk_shader s) { return shapes[s].wg; }

cascade_status cascade_vk_pipeline_get(cascade_vk_ctx *vk, cascade_vk_shader s,
                                       const cascade_vk_pipeline **out, cascade_error *err) {
    cascade_vk_pipeline *pl = &vk->pipes[s];
    *out = pl;
    if (pl->pipe) return CASCADE_STATUS_OK;
    cascade_status               st = CASCADE_STATUS_OK;
    VkShaderModule               mod = VK_NULL_HANDLE;
    VkDescriptorSetLayoutBinding b[8];
    uint32_t                     nb = shapes[s].bindings;
    for (uint32_t i = 0; i < nb; i++)
        b[i] = (VkDescriptorSetLayoutBinding){.binding = i,
                                              .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                              .descriptorCount = 1,
                                              .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
    VkDescriptorSetLayoutCreateInfo dci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .bindingCount = nb,
        .pBindings = b};
    CASCADE_VK_TRY_GOTO(err, st, vkCreateDescriptorSetLayout(vk->dev, &dci, NULL, &pl->dsl), fail);
    VkPushConstantRange        pcr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
                                      .offset = 0,
                                      .size = CASCADE_VK_PUSH_MAX};
    VkPipelineLayoutCreateInfo lci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                      .setLayoutCount = 1,
                                      .pSetLayouts = &pl->dsl,
                                      .pushConstantRangeCount = 1,
                                      .pPushConstantRanges = &pcr};
    CASCADE_VK_TRY_GOTO(err, st, vkCreatePipelineLayout(vk->dev, &lci, NULL, &pl->layout), fail);
    VkShaderModuleCreateInfo mci = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                    .codeSize = cascade_vk_shaders[s].size,
                                    .pCode = cascade_vk_shaders[s].code};
    CASCADE_VK_TRY_GOTO(err, st, vkCreateShaderModule(vk->dev, &mci, NULL, &mod), fail);
    uint32_t                 wg = shapes[s].wg;
    VkSpecializationMapEntry me = {.constantID = 0, .offset = 0, .size = sizeof wg};
    VkSpecializationInfo     spec = {.mapEntryCount = 1,
                                     .pMapEntries = &me,
                                     .dataSize = sizeof wg,
                                     .pData = &wg};
    VkComputePipelineCreateInfo cci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                  .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                  .module = mod,
                  .pName = "main",
                  .pSpecializationInfo = &spec},
        .layout = pl->layout};
    CASCADE_VK_TRY_GOTO(err, st,
                        vkCreateComputePipelines(vk->dev, VK_NULL_HANDLE, 1, &cci, NULL, &pl->pipe),
                        fail);
    vkDestroyShaderModule(vk->dev, mod, NULL);
    return CASCADE_STATUS_OK;
fail:
    if (mod) vkDestroyShaderModule(vk->dev, mod, NULL);
    if (pl->layout) vkDestroyPipelineLayout(vk->dev, pl->layout, NULL);
    if (pl->dsl) vkDestroyDescriptorSetLayout(vk->dev, pl->dsl, NULL);
    memset(pl, 0, sizeof *pl);
    cascade_error_prefix(err, "shader %s: ", cascade_vk_shaders[s].name);
    return st;
}

void cascade_vk_pipelines_free(cascade_vk_ctx *vk) {
    for (int i = 0; i < CASCADE_VK_SHADER_COUNT; i++) {
        cascade_vk_pipeline *pl = &vk->pipes[i];
        if (pl->pipe) vkDestroyPipeline(vk->dev, pl->pipe, NULL);
        if (pl->layout) vkDestroyPipelineLayout(vk->dev, pl->layout, NULL);
        if (pl->dsl) vkDestroyDescriptorSetLayout(vk->dev, pl->dsl, NULL);
        memset(pl, 0, sizeof *pl);
    }
}
