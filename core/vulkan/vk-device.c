/* Instance, device choice and creation, feature probing, the validation messenger. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk-internal.h"

const char *cascade_vk_result_name(VkResult r) {
    switch (r) {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_NOT_READY: return "VK_NOT_READY";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    case VK_INCOMPLETE: return "VK_INCOMPLETE";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_ERROR_FRAGMENTED_POOL: return "VK_ERROR_FRAGMENTED_POOL";
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
    default: return "VkResult error";
    }
}

cascade_status cascade_vk_error(cascade_error *err, VkResult r, const char *what) {
    cascade_status st;
    switch (r) {
    case VK_ERROR_OUT_OF_HOST_MEMORY:
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
    case VK_ERROR_OUT_OF_POOL_MEMORY:
    case VK_ERROR_FRAGMENTED_POOL:
    case VK_ERROR_TOO_MANY_OBJECTS: st = CASCADE_STATUS_OUT_OF_MEMORY; break;
    case VK_ERROR_LAYER_NOT_PRESENT:
    case VK_ERROR_EXTENSION_NOT_PRESENT:
    case VK_ERROR_FEATURE_NOT_PRESENT:
    case VK_ERROR_INCOMPATIBLE_DRIVER:
    case VK_ERROR_INITIALIZATION_FAILED: st = CASCADE_STATUS_UNSUPPORTED; break;
    default: st = CASCADE_STATUS_DEVICE_LOST; break;
    }
    if (st == CASCADE_STATUS_OUT_OF_MEMORY)
        return cascade_error_set(err, st, "vulkan: %s failed: out of %s memory (%s)", what,
                                 r == VK_ERROR_OUT_OF_HOST_MEMORY ? "host" : "device",
                                 cascade_vk_result_name(r));
    if (st == CASCADE_STATUS_DEVICE_LOST)
        return cascade_error_set(err, st,
                                 "vulkan: %s failed: %s (%d): the device is lost; free this "
                                 "backend and make a new one, or use the CPU backend",
                                 what, cascade_vk_result_name(r), (int)r);
    return cascade_error_set(err, st, "vulkan: %s failed: %s (%d)", what,
                             cascade_vk_result_name(r), (int)r);
}

const char *cascade_vulkan_device_type_name(cascade_vulkan_device_type t) {
    switch (t) {
    case CASCADE_VULKAN_DEVICE_INTEGRATED: return "integrated";
    case CASCADE_VULKAN_DEVICE_DISCRETE: return "discrete";
    case CASCADE_VULKAN_DEVICE_VIRTUAL: return "virtual";
    case CASCADE_VULKAN_DEVICE_CPU: return "cpu";
    default: return "other";
    }
}

void cascade_vulkan_options_init(cascade_vulkan_options *opt) {
    memset(opt, 0, sizeof *opt);
    opt->device_index = -1;
    opt->precision = CASCADE_VULKAN_PRECISION_AUTO;
}

static bool env_on(const char *name) {
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

static bool has_ext(const VkExtensionProperties *e, uint32_t n, const char *name) {
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(e[i].extensionName, name) == 0) return true;
    return false;
}

/* Whether the layer is installed; false with OUT_OF_MEMORY in *st when the list could not
 * be read for lack of memory (not "not installed"). */
static bool has_layer(const char *name, cascade_status *st, cascade_error *err) {
    uint32_t n = 0;
    if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || n == 0) return false;
    VkLayerProperties *l = calloc(n, sizeof *l);
    bool               found = false;
    if (!l) {
        *st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "vulkan: layer list");
        return false;
    }
    if (vkEnumerateInstanceLayerProperties(&n, l) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++) found = strcmp(l[i].layerName, name) == 0;
    free(l);
    return found;
}

static VKAPI_ATTR VkBool32 VKAPI_CALL on_debug(VkDebugUtilsMessageSeverityFlagBitsEXT sev,
                                               VkDebugUtilsMessageTypeFlagsEXT          type,
                                               const VkDebugUtilsMessengerCallbackDataEXT *d,
                                               void *user) {
    (void)type;
    uint64_t *count = user;
    __atomic_add_fetch(count, 1, __ATOMIC_RELAXED);
    fprintf(stderr, "cascade vulkan validation %s: %s\n",
            (sev & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) ? "error" : "warning",
            d && d->pMessage ? d->pMessage : "(no message)");
    return VK_FALSE;
}

static VkResult instance_new(bool validation, uint64_t *count, VkInstance *out,
                             VkDebugUtilsMessengerEXT *messenger) {
    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "gimp-cascade",
        .pEngineName = "libcascade",
        .apiVersion = VK_API_VERSION_1_2,
    };
    VkDebugUtilsMessengerCreateInfoEXT dbg = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = on_debug,
        .pUserData = count,
    };
    const char          *layers[] = {"VK_LAYER_KHRONOS_validation"};
    const char          *exts[] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME};
    VkInstanceCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pApplicationInfo = &app,
    };
    if (validation) {
        ci.pNext = &dbg;
        ci.enabledLayerCount = 1;
        ci.ppEnabledLayerNames = layers;
        ci.enabledExtensionCount = 1;
        ci.ppEnabledExtensionNames = exts;
    }
    VkResult r = vkCreateInstance(&ci, NULL, out);
    if (r != VK_SUCCESS) return r;
    if (validation) {
        PFN_vkCreateDebugUtilsMessengerEXT create =
            (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
                *out, "vkCreateDebugUtilsMessengerEXT");
        if (create) {
            r = create(*out, &dbg, NULL, messenger);
            if (r != VK_SUCCESS) {
                vkDestroyInstance(*out, NULL);
                *out = VK_NULL_HANDLE;
                return r;
            }
        }
    }
    return VK_SUCCESS;
}

/* False when out of memory (the extension list could not be read). */
static bool probe(VkPhysicalDevice pd, int index, cascade_vulkan_device_info *info) {
    memset(info, 0, sizeof *info);
    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(pd, &props);
    info->index = index;
    snprintf(info->name, sizeof info->name, "%s", props.deviceName);
    info->api_version = props.apiVersion;
    switch (props.deviceType) {
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: info->type = CASCADE_VULKAN_DEVICE_INTEGRATED; break;
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: info->type = CASCADE_VULKAN_DEVICE_DISCRETE; break;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: info->type = CASCADE_VULKAN_DEVICE_VIRTUAL; break;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: info->type = CASCADE_VULKAN_DEVICE_CPU; break;
    default: info->type = CASCADE_VULKAN_DEVICE_OTHER; break;
    }
    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(pd, &mp);
    info->n_heaps = mp.memoryHeapCount < CASCADE_VULKAN_MAX_HEAPS ? mp.memoryHeapCount
                                                                  : CASCADE_VULKAN_MAX_HEAPS;
    for (uint32_t i = 0; i < info->n_heaps; i++) {
        info->heap_bytes[i] = mp.memoryHeaps[i].size;
        info->heap_device_local[i] = mp.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT;
    }
    uint32_t n_ext = 0;
    vkEnumerateDeviceExtensionProperties(pd, NULL, &n_ext, NULL);
    VkExtensionProperties *ext = calloc(n_ext ? n_ext : 1, sizeof *ext);
    if (!ext) return false;
    if (vkEnumerateDeviceExtensionProperties(pd, NULL, &n_ext, ext) == VK_SUCCESS) {
        info->cooperative_matrix = has_ext(ext, n_ext, "VK_KHR_cooperative_matrix");
        info->memory_budget = has_ext(ext, n_ext, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
    }
    free(ext);
    if (VK_API_VERSION_MINOR(props.apiVersion) >= 2 || VK_API_VERSION_MAJOR(props.apiVersion) > 1) {
        VkPhysicalDeviceVulkan11Features f11 = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
        VkPhysicalDeviceVulkan12Features f12 = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, .pNext = &f11};
        VkPhysicalDeviceFeatures2 f = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                       .pNext = &f12};
        vkGetPhysicalDeviceFeatures2(pd, &f);
        info->fp16_storage = f11.storageBuffer16BitAccess;
        info->fp16_arith = f12.shaderFloat16;
        VkPhysicalDeviceSubgroupProperties sg = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
        VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                          .pNext = &sg};
        vkGetPhysicalDeviceProperties2(pd, &p2);
        info->subgroup_size = sg.subgroupSize;
        VkPhysicalDeviceSubgroupSizeControlFeatures sc = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES};
        VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                        .pNext = &sc};
        if (VK_API_VERSION_MINOR(props.apiVersion) >= 3 ||
            VK_API_VERSION_MAJOR(props.apiVersion) > 1) {
            vkGetPhysicalDeviceFeatures2(pd, &f2);
            info->subgroup_size_control = sc.subgroupSizeControl;
        }
    }
    return true;
}

static VkResult enumerate(VkInstance inst, VkPhysicalDevice **out, uint32_t *n) {
    *out = NULL;
    *n = 0;
    VkResult r = vkEnumeratePhysicalDevices(inst, n, NULL);
    if (r != VK_SUCCESS || *n == 0) return r;
    *out = calloc(*n, sizeof **out);
    if (!*out) return VK_ERROR_OUT_OF_HOST_MEMORY;
    r = vkEnumeratePhysicalDevices(inst, n, *out);
    if (r == VK_INCOMPLETE) r = VK_SUCCESS;
    return r;
}

cascade_status cascade_vulkan_list_devices(cascade_vulkan_device_info **out, int *n,
                                           cascade_error *err) {
    *out = NULL;
    *n = 0;
    VkInstance               inst = VK_NULL_HANDLE;
    VkDebugUtilsMessengerEXT msg = VK_NULL_HANDLE;
    uint64_t                 count = 0;
    if (instance_new(false, &count, &inst, &msg) != VK_SUCCESS) return CASCADE_STATUS_OK;
    VkPhysicalDevice *pds = NULL;
    uint32_t          np = 0;
    cascade_status    st = CASCADE_STATUS_OK;
    VkResult          r = enumerate(inst, &pds, &np);
    if (r != VK_SUCCESS) {
        st = cascade_vk_error(err, r, "vkEnumeratePhysicalDevices");
    } else if (np > 0) {
        *out = calloc(np, sizeof **out);
        if (!*out) {
            st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "vulkan: device list");
        } else {
            for (uint32_t i = 0; i < np && !st; i++)
                if (!probe(pds[i], (int)i, &(*out)[i]) ||
                    !cascade_vk_coopmat_probe(inst, pds[i], &(*out)[i]))
                    st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY,
                                           "vulkan: device properties");
            if (st) {
                free(*out);
                *out = NULL;
            } else {
                *n = (int)np;
            }
        }
    }
    free(pds);
    vkDestroyInstance(inst, NULL);
    return st;
}

static int type_rank(cascade_vulkan_device_type t) {
    switch (t) {
    case CASCADE_VULKAN_DEVICE_DISCRETE: return 4;
    case CASCADE_VULKAN_DEVICE_INTEGRATED: return 3;
    case CASCADE_VULKAN_DEVICE_VIRTUAL: return 2;
    case CASCADE_VULKAN_DEVICE_CPU: return 1;
    default: return 0;
    }
}

static bool contains_ci(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n) return true;
    }
    return n == 0;
}

/* Picks a device: $CASCADE_VK_DEVICE, then the options, then by type. */
static cascade_status choose(const cascade_vulkan_options *opt,
                             const cascade_vulkan_device_info *info, uint32_t n, uint32_t *pick,
                             cascade_error *err) {
    const char *env = getenv("CASCADE_VK_DEVICE");
    int         index = opt->device_index;
    const char *name = opt->name_contains;
    if (env && *env) {
        char *end = NULL;
        long  v = strtol(env, &end, 10);
        if (end && *end == '\0') {
            index = (int)v;
            name = "";
        } else {
            index = -1;
            name = env;
        }
    }
    if (index >= 0) {
        if ((uint32_t)index >= n)
            return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                     "vulkan: device index %d asked for, but there are %u devices",
                                     index, n);
        *pick = (uint32_t)index;
        return CASCADE_STATUS_OK;
    }
    if (name && *name) {
        for (uint32_t i = 0; i < n; i++)
            if (contains_ci(info[i].name, name)) {
                *pick = i;
                return CASCADE_STATUS_OK;
            }
        return cascade_error_set(err, CASCADE_STATUS_INVALID_ARG,
                                 "vulkan: no device's name contains '%s'", name);
    }
    int best = -1;
    for (uint32_t i = 0; i < n; i++)
        if (best < 0 || type_rank(info[i].type) > type_rank(info[best].type)) best = (int)i;
    *pick = (uint32_t)best;
    return CASCADE_STATUS_OK;
}

/* What the device reports available (0 if unknown). */
static uint64_t device_available(const cascade_vk_ctx *vk) {
    uint64_t best = 0;
    if (vk->has_budget) {
        VkPhysicalDeviceMemoryBudgetPropertiesEXT b = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
        VkPhysicalDeviceMemoryProperties2 mp = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2, .pNext = &b};
        vkGetPhysicalDeviceMemoryProperties2(vk->phys, &mp);
        for (uint32_t i = 0; i < mp.memoryProperties.memoryHeapCount; i++)
            if (mp.memoryProperties.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) {
                uint64_t a = b.heapBudget[i] > b.heapUsage[i] ? b.heapBudget[i] - b.heapUsage[i] : 0;
                if (a > best) best = a;
            }
        return best;
    }
    for (uint32_t i = 0; i < vk->memprops.memoryHeapCount; i++)
        if ((vk->memprops.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) &&
            vk->memprops.memoryHeaps[i].size > best)
            best = vk->memprops.memoryHeaps[i].size;
    return best;
}

uint64_t cascade_vk_available_bytes(const cascade_vk_ctx *vk) {
    uint64_t best = device_available(vk);
    if (vk->opt.max_device_bytes) {
        /* the caller's cap less what this backend holds already; 1, not 0 (unknown), when
         * the cap is used up */
        uint64_t used = vk->stats.device_bytes;
        uint64_t cap = vk->opt.max_device_bytes > used ? vk->opt.max_device_bytes - used : 1;
        if (!best || cap < best) best = cap;
    }
    return best;
}

cascade_status cascade_vk_ctx_new(const cascade_vulkan_options *opt, cascade_vk_ctx **out,
                                  cascade_error *err) {
    *out = NULL;
    cascade_status              st = CASCADE_STATUS_OK;
    VkPhysicalDevice           *pds = NULL;
    cascade_vulkan_device_info *infos = NULL;
    cascade_vk_ctx             *vk = calloc(1, sizeof *vk);
    if (!vk) return cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "vulkan: context");
    vk->opt = *opt;
    vk->fault_alloc = opt->fault_alloc;
    vk->fault_submit = opt->fault_submit;
    if (env_on("CASCADE_VK_VALIDATION")) vk->opt.validation = true;
    if (env_on("CASCADE_VK_GUARDS")) vk->opt.guards = true;
    if (env_on("CASCADE_VK_INT8")) vk->opt.weights_int8 = true;
    if (env_on("CASCADE_VK_CHECK")) vk->opt.check = true;
    if (vk->opt.validation && !has_layer("VK_LAYER_KHRONOS_validation", &st, err)) {
        if (st) goto fail;
        st = cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                               "vulkan: validation asked for, but VK_LAYER_KHRONOS_validation is "
                               "not installed (Debian: vulkan-validationlayers)");
        goto fail;
    }
    VkResult r = instance_new(vk->opt.validation, &vk->n_validation, &vk->instance, &vk->messenger);
    if (r != VK_SUCCESS) {
        st = cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                               "vulkan: no usable Vulkan loader or driver (vkCreateInstance: %s)",
                               cascade_vk_result_name(r));
        goto fail;
    }
    uint32_t np = 0;
    CASCADE_VK_TRY_GOTO(err, st, enumerate(vk->instance, &pds, &np), fail);
    if (np == 0) {
        st = cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED, "vulkan: no Vulkan device found");
        goto fail;
    }
    infos = calloc(np, sizeof *infos);
    if (!infos) {
        st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "vulkan: device list");
        goto fail;
    }
    for (uint32_t i = 0; i < np; i++)
        if (!probe(pds[i], (int)i, &infos[i]) ||
            !cascade_vk_coopmat_probe(vk->instance, pds[i], &infos[i])) {
            st = cascade_error_set(err, CASCADE_STATUS_OUT_OF_MEMORY, "vulkan: device properties");
            goto fail;
        }
    uint32_t pick = 0;
    if ((st = choose(&vk->opt, infos, np, &pick, err)) != CASCADE_STATUS_OK) goto fail;
    vk->phys = pds[pick];
    vk->info = infos[pick];
    vkGetPhysicalDeviceProperties(vk->phys, &vk->props);
    vkGetPhysicalDeviceMemoryProperties(vk->phys, &vk->memprops);
    if (VK_API_VERSION_MAJOR(vk->props.apiVersion) == 1 &&
        VK_API_VERSION_MINOR(vk->props.apiVersion) < 2) {
        st = cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                               "vulkan: device '%s' supports Vulkan 1.%u; 1.2 is needed",
                               vk->info.name, VK_API_VERSION_MINOR(vk->props.apiVersion));
        goto fail;
    }
    switch (vk->opt.precision) {
    case CASCADE_VULKAN_PRECISION_FP32: vk->fp16 = false; break;
    case CASCADE_VULKAN_PRECISION_FP16:
        if (!vk->info.fp16_storage) {
            st = cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                                   "vulkan: fp16 precision asked for, but device '%s' has no "
                                   "16-bit storage buffers",
                                   vk->info.name);
            goto fail;
        }
        vk->fp16 = true;
        break;
    default: vk->fp16 = vk->info.fp16_storage; break;
    }
    vk->coopmat = cascade_vulkan_coopmat_pick(&vk->info, vk->fp16, vk->opt.no_coopmat,
                                              getenv("CASCADE_VK_COOPMAT"), NULL);

    uint32_t nq = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(vk->phys, &nq, NULL);
    VkQueueFamilyProperties qf[16];
    if (nq > 16) nq = 16;
    vkGetPhysicalDeviceQueueFamilyProperties(vk->phys, &nq, qf);
    vk->qfam = UINT32_MAX;
    for (uint32_t i = 0; i < nq; i++)
        if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
            vk->qfam = i;
            break;
        }
    if (vk->qfam == UINT32_MAX) {
        st = cascade_error_set(err, CASCADE_STATUS_UNSUPPORTED,
                               "vulkan: device '%s' has no compute queue", vk->info.name);
        goto fail;
    }
    float                   prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueFamilyIndex = vk->qfam,
                                   .queueCount = 1,
                                   .pQueuePriorities = &prio};
    /* the tensor-core variant needs the extension, its feature, fp16 arithmetic (its shared
     * tiles are float16_t) and the Vulkan memory model (its SPIR-V declares it) */
    VkPhysicalDeviceCooperativeMatrixFeaturesNV fcm = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV,
        .cooperativeMatrix = VK_TRUE};
    VkPhysicalDeviceVulkan12Features f12 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
        .pNext = vk->coopmat ? &fcm : NULL,
        .shaderFloat16 = vk->coopmat ? VK_TRUE : VK_FALSE,
        .vulkanMemoryModel = vk->coopmat ? VK_TRUE : VK_FALSE};
    VkPhysicalDeviceVulkan11Features f11 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
        .pNext = &f12,
        .storageBuffer16BitAccess = vk->fp16 ? VK_TRUE : VK_FALSE};
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                    .pNext = &f11};
    const char *exts[2];
    uint32_t    n_exts = 0;
    if (vk->coopmat) exts[n_exts++] = VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME;
    if (vk->info.memory_budget) {
        exts[n_exts++] = VK_EXT_MEMORY_BUDGET_EXTENSION_NAME;
        vk->has_budget = true;
    }
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                              .pNext = &f2,
                              .queueCreateInfoCount = 1,
                              .pQueueCreateInfos = &qci,
                              .enabledExtensionCount = n_exts,
                              .ppEnabledExtensionNames = exts};
    CASCADE_VK_TRY_GOTO(err, st, vkCreateDevice(vk->phys, &dci, NULL, &vk->dev), fail);
    vkGetDeviceQueue(vk->dev, vk->qfam, 0, &vk->queue);

    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                   .queueFamilyIndex = vk->qfam};
    CASCADE_VK_TRY_GOTO(err, st, vkCreateCommandPool(vk->dev, &pci, NULL, &vk->cmd_pool), fail);
    VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                       .commandPool = vk->cmd_pool,
                                       .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                       .commandBufferCount = 1};
    r = cascade_vk_fault_alloc(vk);
    if (r == VK_SUCCESS) r = vkAllocateCommandBuffers(vk->dev, &cai, &vk->xfer_cmd);
    if (r != VK_SUCCESS) {
        st = cascade_vk_error(err, r, "vkAllocateCommandBuffers");
        goto fail;
    }
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    CASCADE_VK_TRY_GOTO(err, st, vkCreateFence(vk->dev, &fci, NULL, &vk->fence), fail);
    if ((st = cascade_vk_buffer_new(vk, 8u << 20, true, &vk->staging, err))) goto fail;
    if ((st = cascade_vk_buffer_new(vk, 256, false, &vk->dummy, err))) goto fail;
    if ((st = cascade_vk_fill(vk, vk->dummy.buf, 0, 256, 0, err))) goto fail;
    vk->stats.device_budget_bytes = cascade_vk_available_bytes(vk);

    free(infos);
    free(pds);
    *out = vk;
    return CASCADE_STATUS_OK;
fail:
    free(infos);
    free(pds);
    cascade_vk_ctx_free(vk);
    return st;
}

void cascade_vk_ctx_free(cascade_vk_ctx *vk) {
    if (!vk) return;
    if (vk->dev) {
        vkDeviceWaitIdle(vk->dev);
        cascade_vk_pipelines_free(vk);
        cascade_vk_buffer_free(vk, &vk->staging);
        cascade_vk_buffer_free(vk, &vk->dummy);
        if (vk->fence) vkDestroyFence(vk->dev, vk->fence, NULL);
        if (vk->cmd_pool) vkDestroyCommandPool(vk->dev, vk->cmd_pool, NULL);
        vkDestroyDevice(vk->dev, NULL);
    }
    if (vk->messenger) {
        PFN_vkDestroyDebugUtilsMessengerEXT destroy =
            (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
                vk->instance, "vkDestroyDebugUtilsMessengerEXT");
        if (destroy) destroy(vk->instance, vk->messenger, NULL);
    }
    if (vk->instance) vkDestroyInstance(vk->instance, NULL);
    free(vk);
}
