/* Tensor cores through VK_NV_cooperative_matrix: what a device reports (probe), whether the
 * tensor-core GEMM variant is used (one pure decision, testable with a made-up device), and
 * the extension and features a device is created with when it is. */
#include <stdlib.h>
#include <string.h>

#include "vk-internal.h"

const char *cascade_vulkan_component_name(uint32_t type) {
    switch (type) {
    case VK_COMPONENT_TYPE_FLOAT16_NV: return "f16";
    case VK_COMPONENT_TYPE_FLOAT32_NV: return "f32";
    case VK_COMPONENT_TYPE_FLOAT64_NV: return "f64";
    case VK_COMPONENT_TYPE_SINT8_NV: return "s8";
    case VK_COMPONENT_TYPE_SINT16_NV: return "s16";
    case VK_COMPONENT_TYPE_SINT32_NV: return "s32";
    case VK_COMPONENT_TYPE_SINT64_NV: return "s64";
    case VK_COMPONENT_TYPE_UINT8_NV: return "u8";
    case VK_COMPONENT_TYPE_UINT16_NV: return "u16";
    case VK_COMPONENT_TYPE_UINT32_NV: return "u32";
    case VK_COMPONENT_TYPE_UINT64_NV: return "u64";
    default: return "?";
    }
}

/* The one shape gemm.comp (COOPMAT) is written for. */
static bool is_gemm_shape(const cascade_vulkan_coopmat_shape *s) {
    return s->m == 16 && s->n == 16 && s->k == 16 && s->a_type == VK_COMPONENT_TYPE_FLOAT16_NV &&
           s->b_type == VK_COMPONENT_TYPE_FLOAT16_NV && s->c_type == VK_COMPONENT_TYPE_FLOAT32_NV &&
           s->d_type == VK_COMPONENT_TYPE_FLOAT32_NV && s->scope == VK_SCOPE_SUBGROUP_NV;
}

bool cascade_vulkan_coopmat_pick(const cascade_vulkan_device_info *info, bool fp16_plan,
                                 bool no_coopmat, const char *env_coopmat, const char **why) {
    const char *r = NULL;
    bool        shape = false;
    for (uint32_t i = 0; i < info->n_coopmat && i < CASCADE_VULKAN_MAX_COOPMAT; i++)
        shape = shape || is_gemm_shape(&info->coopmat[i]);
    /* opt-in until the kernel has run on a GPU: the plain GEMM is the default everywhere */
    if (no_coopmat || !env_coopmat || strcmp(env_coopmat, "1") != 0)
        r = "off (opt in with CASCADE_VK_COOPMAT=1; the no_coopmat option forces it off)";
    else if (!info->coopmat_nv)
        r = "the device has no VK_NV_cooperative_matrix";
    else if (!shape)
        r = "the device lists no 16x16x16 f16 x f16 + f32 subgroup shape";
    else if (!info->fp16_arith)
        r = "the device has no shaderFloat16";
    else if (!info->vulkan_memory_model)
        r = "the device has no vulkanMemoryModel";
    else if (info->subgroup_size != 32)
        r = "the kernel is written for subgroups of 32";
    else if (!fp16_plan)
        r = "fp32 plans keep the plain GEMM";
    if (why) *why = r ? r : "used: 16x16x16 f16 x f16 + f32 subgroup matrices";
    return r == NULL;
}

bool cascade_vk_coopmat_probe(VkInstance inst, VkPhysicalDevice pd,
                              cascade_vulkan_device_info *info) {
    info->coopmat_nv = false;
    info->vulkan_memory_model = false;
    info->n_coopmat = 0;
    uint32_t n_ext = 0;
    bool     ext = false;
    vkEnumerateDeviceExtensionProperties(pd, NULL, &n_ext, NULL);
    VkExtensionProperties *e = calloc(n_ext ? n_ext : 1, sizeof *e);
    if (!e) return false;
    if (vkEnumerateDeviceExtensionProperties(pd, NULL, &n_ext, e) == VK_SUCCESS)
        for (uint32_t i = 0; i < n_ext && !ext; i++)
            ext = strcmp(e[i].extensionName, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME) == 0;
    free(e);
    PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV get_props =
        (PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV)vkGetInstanceProcAddr(
            inst, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV");
    if (!ext || !get_props) return true;
    if (VK_API_VERSION_MAJOR(info->api_version) == 1 && VK_API_VERSION_MINOR(info->api_version) < 2)
        return true; /* the Vulkan 1.2 feature struct below is not defined there */
    VkPhysicalDeviceCooperativeMatrixFeaturesNV cf = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
    VkPhysicalDeviceVulkan12Features f12 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, .pNext = &cf};
    VkPhysicalDeviceFeatures2 f = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                   .pNext = &f12};
    vkGetPhysicalDeviceFeatures2(pd, &f);
    info->coopmat_nv = cf.cooperativeMatrix;
    info->vulkan_memory_model = f12.vulkanMemoryModel;
    VkCooperativeMatrixPropertiesNV p[CASCADE_VULKAN_MAX_COOPMAT];
    uint32_t                        n = CASCADE_VULKAN_MAX_COOPMAT;
    for (uint32_t i = 0; i < n; i++)
        p[i] = (VkCooperativeMatrixPropertiesNV){
            .sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV};
    VkResult r = get_props(pd, &n, p);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) return true; /* no shapes: plain GEMM */
    for (uint32_t i = 0; i < n && i < CASCADE_VULKAN_MAX_COOPMAT; i++)
        info->coopmat[i] = (cascade_vulkan_coopmat_shape){
            .m = p[i].MSize,
            .n = p[i].NSize,
            .k = p[i].KSize,
            .a_type = (uint32_t)p[i].AType,
            .b_type = (uint32_t)p[i].BType,
            .c_type = (uint32_t)p[i].CType,
            .d_type = (uint32_t)p[i].DType,
            .scope = (uint32_t)p[i].scope,
        };
    info->n_coopmat = n < CASCADE_VULKAN_MAX_COOPMAT ? n : CASCADE_VULKAN_MAX_COOPMAT;
    return true;
}
