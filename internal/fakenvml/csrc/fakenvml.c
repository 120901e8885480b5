/*
 * fakenvml: a fake libnvidia-ml.so.1 for tests. It implements the part of the NVML C API that
 * the nvml receiver (receiver/nvmlreceiver, through github.com/NVIDIA/go-nvml) calls, and follows
 * NVML's documented contract for it: the NVML API reference,
 * https://docs.nvidia.com/deploy/nvml-api/, and the declarations and comments of nvml.h (the copy
 * shipped in go-nvml, pkg/nvml/nvml.h). Return codes, units (mW, mJ, percent, bytes, microseconds)
 * and the sizing conventions of the calls are NVML's. What the GPUs report is scripted through
 * FAKENVML_* environment variables read by the first nvmlInit; README.md lists them.
 *
 * A function this file does not define is absent from the library, as it would be from an old
 * driver: callers must look it up (dlsym) before calling it. go-nvml binds NVML's symbols lazily,
 * so calling an absent one ends the process with "symbol lookup error".
 *
 * Build: cc -shared -fPIC -o libnvidia-ml.so.1 fakenvml.c (Build in fakenvml.go does it).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* ---- Types and constants, as nvml.h declares them ------------------------------------------ */

typedef enum nvmlReturn_enum {
    NVML_SUCCESS = 0,
    NVML_ERROR_UNINITIALIZED = 1,
    NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_NOT_SUPPORTED = 3,
    NVML_ERROR_NO_PERMISSION = 4,
    NVML_ERROR_ALREADY_INITIALIZED = 5,
    NVML_ERROR_NOT_FOUND = 6,
    NVML_ERROR_INSUFFICIENT_SIZE = 7,
    NVML_ERROR_INSUFFICIENT_POWER = 8,
    NVML_ERROR_DRIVER_NOT_LOADED = 9,
    NVML_ERROR_TIMEOUT = 10,
    NVML_ERROR_IRQ_ISSUE = 11,
    NVML_ERROR_LIBRARY_NOT_FOUND = 12,
    NVML_ERROR_FUNCTION_NOT_FOUND = 13,
    NVML_ERROR_CORRUPTED_INFOROM = 14,
    NVML_ERROR_GPU_IS_LOST = 15,
    NVML_ERROR_RESET_REQUIRED = 16,
    NVML_ERROR_OPERATING_SYSTEM = 17,
    NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18,
    NVML_ERROR_IN_USE = 19,
    NVML_ERROR_MEMORY = 20,
    NVML_ERROR_NO_DATA = 21,
    NVML_ERROR_VGPU_ECC_NOT_SUPPORTED = 22,
    NVML_ERROR_INSUFFICIENT_RESOURCES = 23,
    NVML_ERROR_FREQ_NOT_SUPPORTED = 24,
    NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
    NVML_ERROR_DEPRECATED = 26,
    NVML_ERROR_NOT_READY = 27,
    NVML_ERROR_GPU_NOT_FOUND = 28,
    NVML_ERROR_INVALID_STATE = 29,
    NVML_ERROR_UNKNOWN = 999
} nvmlReturn_t;

/* nvmlDevice_t and nvmlEventSet_t are opaque pointers in nvml.h. */
typedef struct nvmlDevice_st *nvmlDevice_t;
typedef struct nvmlEventSet_st *nvmlEventSet_t;

#define NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE 32
#define NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE 16
#define NVML_DEVICE_UUID_V2_BUFFER_SIZE 96
#define NVML_DEVICE_NAME_V2_BUFFER_SIZE 96
#define NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE 80

typedef struct nvmlPciInfo_st {
    char busIdLegacy[NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE];
    unsigned int domain;
    unsigned int bus;
    unsigned int device;
    unsigned int pciDeviceId;
    unsigned int pciSubSystemId;
    char busId[NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE];
} nvmlPciInfo_t;

typedef struct nvmlUtilization_st {
    unsigned int gpu;    /* percent of time a kernel ran over the past sample period */
    unsigned int memory; /* percent of time device memory was read or written */
} nvmlUtilization_t;

typedef struct nvmlMemory_st {
    unsigned long long total;
    unsigned long long free;
    unsigned long long used; /* v1: reserved + allocated */
} nvmlMemory_t;

typedef struct nvmlMemory_v2_st {
    unsigned int version;
    unsigned long long total;
    unsigned long long reserved;
    unsigned long long free;
    unsigned long long used; /* v2: allocated only */
} nvmlMemory_v2_t;

#define NVML_STRUCT_VERSION(data, ver) (unsigned int)(sizeof(nvml##data##_v##ver##_t) | (ver << 24U))
#define nvmlMemory_v2 NVML_STRUCT_VERSION(Memory, 2)

typedef union nvmlValue_st {
    double dVal;
    int siVal;
    unsigned int uiVal;
    unsigned long ulVal;
    unsigned long long ullVal;
    signed long long sllVal;
    unsigned short usVal;
} nvmlValue_t;

typedef enum nvmlValueType_enum {
    NVML_VALUE_TYPE_DOUBLE = 0,
    NVML_VALUE_TYPE_UNSIGNED_INT = 1,
    NVML_VALUE_TYPE_UNSIGNED_LONG = 2,
    NVML_VALUE_TYPE_UNSIGNED_LONG_LONG = 3,
    NVML_VALUE_TYPE_SIGNED_LONG_LONG = 4,
    NVML_VALUE_TYPE_SIGNED_INT = 5,
    NVML_VALUE_TYPE_UNSIGNED_SHORT = 6
} nvmlValueType_t;

typedef struct nvmlSample_st {
    unsigned long long timeStamp; /* CPU timestamp in microseconds */
    nvmlValue_t sampleValue;
} nvmlSample_t;

typedef enum nvmlSamplingType_enum {
    NVML_TOTAL_POWER_SAMPLES = 0,
    NVML_GPU_UTILIZATION_SAMPLES = 1,
    NVML_MEMORY_UTILIZATION_SAMPLES = 2
} nvmlSamplingType_t;

typedef struct nvmlFieldValue_st {
    unsigned int fieldId;
    unsigned int scopeId;
    long long timestamp;   /* CPU timestamp of this value in microseconds since 1970 */
    long long latencyUsec;
    nvmlValueType_t valueType;
    nvmlReturn_t nvmlReturn;
    nvmlValue_t value;
} nvmlFieldValue_t;

#define NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION 83 /* mJ since the driver was last reloaded */
#define NVML_FI_DEV_POWER_AVERAGE 185           /* mW, averaged over 1 s */
#define NVML_FI_DEV_POWER_INSTANT 186           /* mW */
#define NVML_FI_DEV_ENERGY 191                  /* same as NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION */

typedef enum nvmlTemperatureSensors_enum { NVML_TEMPERATURE_GPU = 0 } nvmlTemperatureSensors_t;
typedef enum nvmlClockType_enum { NVML_CLOCK_GRAPHICS = 0 } nvmlClockType_t;
typedef enum nvmlPstates_enum { NVML_PSTATE_0 = 0, NVML_PSTATE_UNKNOWN = 32 } nvmlPstates_t;
typedef enum nvmlPcieUtilCounter_enum { NVML_PCIE_UTIL_TX_BYTES = 0, NVML_PCIE_UTIL_RX_BYTES = 1 } nvmlPcieUtilCounter_t;
typedef enum nvmlMemoryErrorType_enum {
    NVML_MEMORY_ERROR_TYPE_CORRECTED = 0,
    NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1
} nvmlMemoryErrorType_t;
typedef enum nvmlEccCounterType_enum { NVML_VOLATILE_ECC = 0, NVML_AGGREGATE_ECC = 1 } nvmlEccCounterType_t;

typedef struct nvmlProcessInfo_st {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId;
    unsigned int computeInstanceId;
} nvmlProcessInfo_t;

typedef struct nvmlProcessUtilizationSample_st {
    unsigned int pid;
    unsigned long long timeStamp;
    unsigned int smUtil;
    unsigned int memUtil;
    unsigned int encUtil;
    unsigned int decUtil;
} nvmlProcessUtilizationSample_t;

#define NVML_DEVICE_MIG_DISABLE 0x0

typedef struct nvmlEventData_st {
    nvmlDevice_t device;
    unsigned long long eventType;
    unsigned long long eventData;
    unsigned int gpuInstanceId;
    unsigned int computeInstanceId;
} nvmlEventData_t;

#define nvmlEventTypeXidCriticalError 0x0000000000000008LL

/* Exported symbols: the NVML functions only (everything else is static). */
#define NVML_API __attribute__((visibility("default")))

/* ---- The scripted GPUs ------------------------------------------------------------------- */

#define MAX_GPUS 16
/* Utilization samples: one every SAMPLE_PERIOD_NS, the last SAMPLE_BUFFER of them kept (about the
 * period of an H200's driver; the real buffer's length is not documented). */
#define SAMPLE_PERIOD_NS 200000000LL
#define SAMPLE_BUFFER 300
/* Busy/idle switches remembered for the samples (older ones are folded into the first state). */
#define MAX_SWITCHES 64

struct gpu_script {
    char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE];
    char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
    unsigned int pci_bus;
    unsigned long long memory_total, memory_used, memory_reserved; /* bytes */
    unsigned int power_mw[2];                                        /* [idle, busy] */
    unsigned int util_gpu[2], util_memory[2];                        /* percent, [idle, busy] */
    unsigned long long energy_mj;                                    /* counter at the first nvmlInit */
    unsigned int temperature_c;
    char busy_file[PATH_MAX];
    char processes_file[PATH_MAX]; /* read at each nvmlDeviceGetComputeRunningProcesses_v3 */
};

struct nvmlDevice_st {
    unsigned int index;
    struct gpu_script s;

    /* Energy: the counter at seg_start_ns plus the current state's power times the time since. */
    int busy;
    long long seg_start_ns;
    double seg_energy_mj;
    unsigned long long last_energy_mj;

    /* State switches, oldest first, for the utilization samples. */
    int first_busy;
    int nswitches;
    struct {
        long long t_ns;
        int busy;
    } switches[MAX_SWITCHES];
};

struct nvmlEventSet_st {
    unsigned long long types[MAX_GPUS];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int refcount;          /* nvmlInit_v2 minus nvmlShutdown calls (NVML counts references) */
static int configured;        /* the script was read (by the first successful nvmlInit) */
static unsigned int ngpus;
static struct nvmlDevice_st gpus[MAX_GPUS];
static char driver_version[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE];
static long long origin_mono_ns;  /* CLOCK_MONOTONIC at the first nvmlInit */
static long long origin_real_us;  /* CLOCK_REALTIME at the same moment, in microseconds */

static long long mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long real_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* The unix time in microseconds of a CLOCK_MONOTONIC instant (NVML's timestamps are CPU time in µs). */
static unsigned long long unix_us(long long t_ns) {
    return (unsigned long long)(origin_real_us + (t_ns - origin_mono_ns) / 1000);
}

/* ---- Reading the script ------------------------------------------------------------------ */

/* env returns the value of FAKENVML_GPU<i>_<key>, else (when shared, or for i < 0) of
 * FAKENVML_<key>, else NULL; name receives the variable's name. */
static const char *env(int i, const char *key, int shared, char name[64]) {
    const char *v;
    if (i >= 0) {
        snprintf(name, 64, "FAKENVML_GPU%d_%s", i, key);
        if ((v = getenv(name)) != NULL && *v != '\0') {
            return v;
        }
    }
    if (i < 0 || shared) {
        snprintf(name, 64, "FAKENVML_%s", key);
        if ((v = getenv(name)) != NULL && *v != '\0') {
            return v;
        }
    }
    return NULL;
}

static int bad(const char *name, const char *v, const char *why) {
    fprintf(stderr, "fakenvml: %s=%s: %s\n", name, v, why);
    return -1;
}

/* number reads a decimal integer in [0, max] into *out, or leaves the default. */
static int number(int i, const char *key, unsigned long long max, unsigned long long *out) {
    char name[64], *end;
    const char *v = env(i, key, 1, name);
    unsigned long long n;
    if (v == NULL) {
        return 0;
    }
    if (*v < '0' || *v > '9') {
        return bad(name, v, "not a non-negative decimal integer");
    }
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno != 0 || *end != '\0') {
        return bad(name, v, "not a non-negative decimal integer");
    }
    if (n > max) {
        char why[64];
        snprintf(why, sizeof why, "larger than %llu", max);
        return bad(name, v, why);
    }
    *out = n;
    return 0;
}

static int number32(int i, const char *key, unsigned int max, unsigned int *out) {
    unsigned long long n = *out;
    if (number(i, key, max, &n) != 0) {
        return -1;
    }
    *out = (unsigned int)n;
    return 0;
}

static int string(int i, const char *key, int shared, char *out, size_t size) {
    char name[64];
    const char *v = env(i, key, shared, name);
    if (v == NULL) {
        return 0;
    }
    if (strlen(v) >= size) {
        return bad(name, v, "too long");
    }
    strcpy(out, v);
    return 0;
}

/* valid_uuid: "GPU-" then the 8-4-4-4-12 hexadecimal form nvmlDeviceGetUUID returns. */
static int valid_uuid(const char *u) {
    static const char form[] = "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    size_t k;
    if (strlen(u) != sizeof form - 1) {
        return 0;
    }
    for (k = 0; k < sizeof form - 1; k++) {
        char c = u[k];
        if (form[k] != 'x') {
            if (c != form[k]) {
                return 0;
            }
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return 0;
        }
    }
    return 1;
}

static int read_gpu(int i, struct gpu_script *g) {
    int err = 0;
    memset(g, 0, sizeof *g);
    snprintf(g->uuid, sizeof g->uuid, "GPU-fa4e0000-0000-4000-8000-%012x", (unsigned int)i);
    strcpy(g->name, "NVIDIA Fake H200");
    g->pci_bus = 0x18 + (unsigned int)i;
    g->memory_total = 150754820096ULL; /* 143771 MiB, an H200's nvmlDeviceGetMemoryInfo total */
    g->power_mw[0] = 75000;
    g->power_mw[1] = 450000;
    g->util_gpu[1] = 100;
    g->util_memory[1] = 50;
    g->temperature_c = 35;

    err |= string(i, "UUID", 0, g->uuid, sizeof g->uuid);
    if (err == 0 && !valid_uuid(g->uuid)) {
        char name[64];
        snprintf(name, sizeof name, "FAKENVML_GPU%d_UUID", i);
        err |= bad(name, g->uuid, "not of the form GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (hexadecimal)");
    }
    err |= string(i, "NAME", 1, g->name, sizeof g->name);
    err |= number(i, "MEMORY_TOTAL", ULLONG_MAX, &g->memory_total);
    err |= number(i, "MEMORY_USED", ULLONG_MAX, &g->memory_used);
    err |= number(i, "MEMORY_RESERVED", ULLONG_MAX, &g->memory_reserved);
    if (err == 0 && (g->memory_used > g->memory_total || g->memory_reserved > g->memory_total - g->memory_used)) {
        fprintf(stderr, "fakenvml: GPU %d: MEMORY_USED + MEMORY_RESERVED exceed MEMORY_TOTAL\n", i);
        err = -1;
    }
    err |= number32(i, "POWER_MW", UINT_MAX, &g->power_mw[0]);
    err |= number32(i, "BUSY_POWER_MW", UINT_MAX, &g->power_mw[1]);
    err |= number32(i, "UTIL_GPU", 100, &g->util_gpu[0]);
    err |= number32(i, "UTIL_MEMORY", 100, &g->util_memory[0]);
    err |= number32(i, "BUSY_UTIL_GPU", 100, &g->util_gpu[1]);
    err |= number32(i, "BUSY_UTIL_MEMORY", 100, &g->util_memory[1]);
    err |= number(i, "ENERGY_MJ", ULLONG_MAX / 2, &g->energy_mj);
    err |= number32(i, "TEMPERATURE_C", 200, &g->temperature_c);
    err |= string(i, "BUSY_FILE", 1, g->busy_file, sizeof g->busy_file);
    err |= string(i, "PROCESSES_FILE", 1, g->processes_file, sizeof g->processes_file);
    return err;
}

/* configure reads the whole script; on error it prints why and returns -1. */
static int configure(void) {
    unsigned long long n = 1, cuda = 13000; /* cuda: checked here, read by nvmlSystemGetCudaDriverVersion */
    unsigned int i, j;
    int err = 0;
    strcpy(driver_version, "580.95.05");
    err |= number(-1, "GPU_COUNT", MAX_GPUS, &n);
    err |= string(-1, "DRIVER_VERSION", 1, driver_version, sizeof driver_version);
    err |= number(-1, "CUDA_DRIVER_VERSION", INT_MAX, &cuda);
    if (err != 0) {
        return -1;
    }
    ngpus = (unsigned int)n;
    for (i = 0; i < ngpus; i++) {
        memset(&gpus[i], 0, sizeof gpus[i]);
        gpus[i].index = i;
        err |= read_gpu((int)i, &gpus[i].s);
    }
    for (i = 0; err == 0 && i < ngpus; i++) {
        for (j = 0; j < i; j++) {
            if (strcasecmp(gpus[i].s.uuid, gpus[j].s.uuid) == 0) {
                fprintf(stderr, "fakenvml: GPUs %u and %u have the same UUID %s\n", j, i, gpus[i].s.uuid);
                err = -1;
            }
        }
    }
    return err;
}

/* ---- The busy switch and the energy counter ------------------------------------------------ */

static int busy_now(const struct nvmlDevice_st *d) {
    return d->s.busy_file[0] != '\0' && access(d->s.busy_file, F_OK) == 0;
}

/* observe notes, at time now, whether the GPU is busy (whether its busy file exists). The energy
 * counter accrues at the power of the state observed last, so a switch counts from the first NVML
 * call on that GPU that sees it. */
static void observe(struct nvmlDevice_st *d, long long now) {
    int b = busy_now(d);
    if (b == d->busy) {
        return;
    }
    d->seg_energy_mj += (double)d->s.power_mw[d->busy] * (double)(now - d->seg_start_ns) / 1e9;
    d->seg_start_ns = now;
    d->busy = b;
    if (d->nswitches == MAX_SWITCHES) {
        d->first_busy = d->switches[0].busy;
        memmove(&d->switches[0], &d->switches[1], sizeof d->switches[0] * (MAX_SWITCHES - 1));
        d->nswitches--;
    }
    d->switches[d->nswitches].t_ns = now;
    d->switches[d->nswitches].busy = b;
    d->nswitches++;
}

/* energy_mj: the counter at now: E0 + the integral of the scripted power since the first nvmlInit
 * (mW × s = mJ), never lower than a value returned before. */
static unsigned long long energy_mj(struct nvmlDevice_st *d, long long now) {
    double e = d->seg_energy_mj + (double)d->s.power_mw[d->busy] * (double)(now - d->seg_start_ns) / 1e9;
    unsigned long long v = (unsigned long long)e;
    if (v < d->last_energy_mj) {
        v = d->last_energy_mj;
    }
    d->last_energy_mj = v;
    return v;
}

/* busy_at: the state in effect at time t (for samples). */
static int busy_at(const struct nvmlDevice_st *d, long long t) {
    int b = d->first_busy, k;
    for (k = 0; k < d->nswitches && d->switches[k].t_ns <= t; k++) {
        b = d->switches[k].busy;
    }
    return b;
}

/* ---- Common checks ------------------------------------------------------------------------- */

/* device checks that NVML is initialised and d is one of its handles; it locks mu on success and
 * observes the busy switch. Callers unlock. */
static nvmlReturn_t device(nvmlDevice_t d, long long *now) {
    pthread_mutex_lock(&mu);
    if (refcount == 0) {
        pthread_mutex_unlock(&mu);
        return NVML_ERROR_UNINITIALIZED;
    }
    if ((uintptr_t)d < (uintptr_t)&gpus[0] || (uintptr_t)d >= (uintptr_t)&gpus[ngpus] ||
        ((uintptr_t)d - (uintptr_t)&gpus[0]) % sizeof gpus[0] != 0) {
        pthread_mutex_unlock(&mu);
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    *now = mono_ns();
    observe(d, *now);
    return NVML_SUCCESS;
}

static nvmlReturn_t initialized(void) {
    pthread_mutex_lock(&mu);
    if (refcount == 0) {
        pthread_mutex_unlock(&mu);
        return NVML_ERROR_UNINITIALIZED;
    }
    return NVML_SUCCESS;
}

static nvmlReturn_t unlock(nvmlReturn_t ret) {
    pthread_mutex_unlock(&mu);
    return ret;
}

/* copy_string copies s into out (length bytes) with its NUL, or fails with INSUFFICIENT_SIZE. */
static nvmlReturn_t copy_string(char *out, unsigned int length, const char *s) {
    if (strlen(s) + 1 > length) {
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    memcpy(out, s, strlen(s) + 1);
    return NVML_SUCCESS;
}

/* ---- Initialisation ------------------------------------------------------------------------ */

/* nvmlInit_v2: reference counted ("Shutdown will only occur after the reference count reaches
 * zero"). FAKENVML_INIT_RETURN=<code> makes it fail with that NVML return code instead, e.g. 9
 * (NVML_ERROR_DRIVER_NOT_LOADED) or 4 (NVML_ERROR_NO_PERMISSION). An invalid script returns
 * NVML_ERROR_UNKNOWN after printing why on stderr. */
NVML_API nvmlReturn_t nvmlInit_v2(void) {
    unsigned long long forced = 0;
    unsigned int i;
    if (number(-1, "INIT_RETURN", NVML_ERROR_UNKNOWN, &forced) != 0) {
        return NVML_ERROR_UNKNOWN;
    }
    if (forced != 0) {
        return (nvmlReturn_t)forced;
    }
    pthread_mutex_lock(&mu);
    if (!configured) {
        if (configure() != 0) {
            return unlock(NVML_ERROR_UNKNOWN);
        }
        configured = 1;
        origin_mono_ns = mono_ns();
        origin_real_us = real_us();
        for (i = 0; i < ngpus; i++) {
            struct nvmlDevice_st *d = &gpus[i];
            d->busy = d->first_busy = busy_now(d);
            d->seg_start_ns = origin_mono_ns;
            d->seg_energy_mj = (double)d->s.energy_mj;
            d->last_energy_mj = d->s.energy_mj;
        }
    }
    refcount++;
    return unlock(NVML_SUCCESS);
}

/* nvmlInit: the v1 entry point, kept by the real library for binary compatibility. */
NVML_API nvmlReturn_t nvmlInit(void) { return nvmlInit_v2(); }

/* nvmlInitWithFlags: nvmlInit_v2 with NVML_INIT_FLAG_* flags, which change nothing here. */
NVML_API nvmlReturn_t nvmlInitWithFlags(unsigned int flags) {
    (void)flags;
    return nvmlInit_v2();
}

/* nvmlShutdown: NVML_ERROR_UNINITIALIZED when NVML is not initialised. The script and the energy
 * counter survive (the real counter runs "since the driver was last reloaded"). */
NVML_API nvmlReturn_t nvmlShutdown(void) {
    pthread_mutex_lock(&mu);
    if (refcount == 0) {
        return unlock(NVML_ERROR_UNINITIALIZED);
    }
    refcount--;
    return unlock(NVML_SUCCESS);
}

NVML_API const char *nvmlErrorString(nvmlReturn_t result) {
    switch (result) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_NO_PERMISSION: return "Insufficient Permissions";
    case NVML_ERROR_ALREADY_INITIALIZED: return "Already Initialized";
    case NVML_ERROR_NOT_FOUND: return "Not Found";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    case NVML_ERROR_INSUFFICIENT_POWER: return "Insufficient External Power";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
    case NVML_ERROR_TIMEOUT: return "Timeout";
    case NVML_ERROR_IRQ_ISSUE: return "Interrupt Request Issue";
    case NVML_ERROR_LIBRARY_NOT_FOUND: return "NVML Shared Library Not Found";
    case NVML_ERROR_FUNCTION_NOT_FOUND: return "Function Not Found";
    case NVML_ERROR_CORRUPTED_INFOROM: return "Corrupted infoROM";
    case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
    case NVML_ERROR_RESET_REQUIRED: return "GPU requires restart";
    case NVML_ERROR_OPERATING_SYSTEM: return "The operating system has blocked the request";
    case NVML_ERROR_LIB_RM_VERSION_MISMATCH: return "RM has detected an NVML/RM version mismatch";
    case NVML_ERROR_IN_USE: return "In use by another client";
    case NVML_ERROR_MEMORY: return "Insufficient Memory";
    case NVML_ERROR_NO_DATA: return "No data";
    case NVML_ERROR_ARGUMENT_VERSION_MISMATCH: return "Argument version mismatch";
    default: return "Unknown Error";
    }
}

/* ---- System queries ------------------------------------------------------------------------ */

NVML_API nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length) {
    nvmlReturn_t ret = initialized();
    if (ret != NVML_SUCCESS) {
        return ret;
    }
    if (version == NULL) {
        return unlock(NVML_ERROR_INVALID_ARGUMENT);
    }
    return unlock(copy_string(version, length, driver_version));
}

/* nvmlSystemGetCudaDriverVersion_v2: 1000 × major + 10 × minor (13000 is CUDA 13.0). Like the
 * real function (its documented return codes have no NVML_ERROR_UNINITIALIZED), it works before
 * nvmlInit. */
NVML_API nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *cudaDriverVersion) {
    unsigned long long v = 13000;
    if (cudaDriverVersion == NULL) {
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    if (number(-1, "CUDA_DRIVER_VERSION", INT_MAX, &v) != 0) {
        return NVML_ERROR_UNKNOWN;
    }
    *cudaDriverVersion = (int)v;
    return NVML_SUCCESS;
}

NVML_API nvmlReturn_t nvmlSystemGetCudaDriverVersion(int *cudaDriverVersion) {
    return nvmlSystemGetCudaDriverVersion_v2(cudaDriverVersion);
}

/* ---- Device handles ------------------------------------------------------------------------ */

NVML_API nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount) {
    nvmlReturn_t ret = initialized();
    if (ret != NVML_SUCCESS) {
        return ret;
    }
    if (deviceCount == NULL) {
        return unlock(NVML_ERROR_INVALID_ARGUMENT);
    }
    *deviceCount = ngpus;
    return unlock(NVML_SUCCESS);
}

NVML_API nvmlReturn_t nvmlDeviceGetCount(unsigned int *deviceCount) { return nvmlDeviceGetCount_v2(deviceCount); }

NVML_API nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
    nvmlReturn_t ret = initialized();
    if (ret != NVML_SUCCESS) {
        return ret;
    }
    if (device == NULL || index >= ngpus) {
        return unlock(NVML_ERROR_INVALID_ARGUMENT);
    }
    *device = &gpus[index];
    return unlock(NVML_SUCCESS);
}

NVML_API nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *device) {
    return nvmlDeviceGetHandleByIndex_v2(index, device);
}

/* nvmlDeviceGetHandleByUUID: NVML_ERROR_NOT_FOUND for a UUID no GPU has. */
NVML_API nvmlReturn_t nvmlDeviceGetHandleByUUID(const char *uuid, nvmlDevice_t *device) {
    unsigned int i;
    nvmlReturn_t ret = initialized();
    if (ret != NVML_SUCCESS) {
        return ret;
    }
    if (uuid == NULL || device == NULL) {
        return unlock(NVML_ERROR_INVALID_ARGUMENT);
    }
    for (i = 0; i < ngpus; i++) {
        if (strcasecmp(uuid, gpus[i].s.uuid) == 0) {
            *device = &gpus[i];
            return unlock(NVML_SUCCESS);
        }
    }
    return unlock(NVML_ERROR_NOT_FOUND);
}

/* ---- Identity ------------------------------------------------------------------------------ */

NVML_API nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char *uuid, unsigned int length) {
    long long now;
    nvmlReturn_t ret = device(d, &now);
    if (ret != NVML_SUCCESS) {
        return ret;
    }
    if (uuid == NULL) {
        return unlock(NVML_ERROR_INVALID_ARGUMENT);
    }
    return unlock(copy_string(uuid, length, d->s.uuid));
}

NVML_API nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char *name, unsigned int length) {
    long long now;
    nvmlReturn_t ret = device(d, &now);
    if (ret != NVML_SUCCESS) {
        return ret;
    }
    if (name == NULL) {
        return unlock(NVML_ERROR_INVALID_ARGUMENT);
    }
    return unlock(copy_string(name, length, d->s.name));
}

NVML_API nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t d, unsigned int *index) {
    long long now;
    nvmlReturn_t ret = device(d, &now);
    if (ret != NVML_SUCCESS) {
        return ret;
    }
    if (index == NULL) {
        return unlock(NVML_ERROR_INVALID_ARGUMENT);
    }
    *index = d->index;
    return unlock(NVML_SUCCESS);
}

/* nvmlDeviceGetPciInfo_v3: domain 0, bus 0x18 + index, device 0; the IDs of an H200 SXM
 * (device 0x2335, vendor 0x10de). */
NVML_API nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t d, nvmlPciInfo_t *pci) {
    long long now;
    nvmlReturn_t ret = device(d, &now);
    if (ret != NVML_SUCCESS) {
        return ret;
    }
    if (pci == NULL) {
        return unlock(NVML_ERROR_INVALID_ARGUMENT);
    }
    memset(pci, 0, sizeof *pci);
    pci->domain = 0;
    pci->bus = d->s.pci_bus & 0xff;
    pci->device = 0;
    pci->pciDeviceId = 0x233510de;
    pci->pciSubSystemId = 0x18be10de;
    snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "%04X:%02X:%02X.0", pci->domain, pci->bus, pci->device);
    snprintf(pci->busId, sizeof pci->busId, "%08X:%02X:%02X.0", pci->domain, pci->bus, pci->device);
    return unlock(NVML_SUCCESS);
}

/* ---- Utilization ----------------------------------------------------------------------------- */

NVML_API nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t d, nvmlUtilization_t *utilization) {
    long long now;
    nvmlReturn_t ret = device(d, &now);
    if (ret != NVML_SUCCESS) {
        return ret;
    }
    if (utilization == NULL) {
        return unlock(NVML_ERROR_INVALID_ARGUMENT);
    }
    utilization->gpu = d->s.util_gpu[d->busy];
    utilization->memory = d->s.util_memory[d->busy];
    return unlock(NVML_SUCCESS);
}

/* The fake GPU has no video engines at work: 0 % over a 167 ms sampling period. */
static nvmlReturn_t codec_utilization(nvmlDevice_t d, unsigned int *utilization, unsigned int *samplingPeriodUs) {
    long long now;
    nvmlReturn_t ret = device(d, &now);
    if (ret != NVML_SUCCESS) {
        return ret;
    }
    if (utilization == NULL || samplingPeriodUs == NULL) {
        return unlock(NVML_ERROR_INVALID_ARGUMENT);
    }
    *utilization = 0;
    *samplingPeriodUs = 167000;
    return unlock(NVML_SUCCESS);
}

NVML_API nvmlReturn_t nvmlDeviceGetEncoderUtilization(nvmlDevice_t d, unsigned int *utilization,
                                                      unsigned int *samplingPeriodUs) {
    return codec_utilization(d, utilization, samplingPeriodUs);
}

NVML_API nvmlReturn_t nvmlDeviceGetDecoderUtilization(nvmlDevice_t d, unsigned int *utilization,
                                                      unsigned int *samplingPeriodUs) {
    return codec_utilization(d, utilization, samplingPeriodUs);
}

/* nvmlDeviceGetSamples: one sample every 200 ms since the first nvmlInit, the last 300 kept;
 * values are unsigned ints (percent, or mW for NVML_TOTAL_POWER_SAMPLES) of the state in effect
 * at each sample's time. With samples NULL, *sampleCount is set to the number available. Samples
 * are returned oldest first, as many as fit. NVML_ERROR_NOT_FOUND when none is newer than
 * lastSeenTimeStamp. Other sampling types are NOT_SUPPORTED. */
NVML_API nvmlReturn_t nvmlDeviceGetSamples(nvmlDevice_t d, nvmlSamplingType_t type, unsigned long long lastSeenTimeStamp,
                                           nvmlValueType_t *sampleValType, unsigned int *sampleCount,
                                           nvmlSample_t *samples) {
    long long now, k, first, last;
    unsigned int n = 0;
    nvmlReturn_t ret = device(d, &now);
    if (ret != NVML_SUCCESS) {
        return ret;
    }
    if (sampleCount == NULL || sampleValType == NULL || (samples != NULL && *sampleCount == 0)) {
        return unlock(NVML_ERROR_INVALID_ARGUMENT);
    }
    if (type != NVML_TOTAL_POWER_SAMPLES && type != NVML_GPU_UTILIZATION_SAMPLES &&
        type != NVML_MEMORY_UTILIZATION_SAMPLES) {
        return unlock(NVML_ERROR_NOT_SUPPORTED);
    }
    *sampleValType = NVML_VALUE_TYPE_UNSIGNED_INT;
    last = (now - origin_mono_ns) / SAMPLE_PERIOD_NS; /* sample k is taken at origin + k periods */
    first = last - SAMPLE_BUFFER + 1;
    if (first < 1) {
        first = 1;
    }
    while (first <= last && unix_us(origin_mono_ns + first * SAMPLE_PERIOD_NS) <= lastSeenTimeStamp) {
        first++;
    }
    if (first > last) {
        return unlock(NVML_ERROR_NOT_FOUND);
    }
    if (samples == NULL) {
        *sampleCount = (unsigned int)(last - first + 1);
        return unlock(NVML_SUCCESS);
    }
    for (k = first; k <= last && n < *sampleCount; k++, n++) {
        long long t = origin_mono_ns + k * SAMPLE_PERIOD_NS;
        int b = busy_at(d, t);
        unsigned int v = type == NVML_TOTAL_POWER_SAMPLES     ? d->s.power_mw[b]
                         : type == NVML_GPU_UTILIZATION_SAMPLES ? d->s.util_gpu[b]
                                                                : d->s.util_memory[b];
        samples[n].timeStamp = unix_us(t);
        samples[n].sampleValue.ullVal = 0;
        samples[n].sampleValue.uiVal = v;
    }
    *sampleCount = n;
    return unlock(NVML_SUCCESS);
}

/* ---- Memory ------------------------------------------------------------------------------- */

/* nvmlDeviceGetMemoryInfo: v1's used is reserved + allocated (nvml.h, nvmlMemory_t). */
NVML_API nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t *memory) {
    long long now;
    nvmlReturn_t ret = device(d, &now);
    if (ret != NVML_SUCCESS) {
        return ret;
    }
    if (memory == NULL) {
        return unlock(NVML_ERROR_INVALID_ARGUMENT);
    }
    memory->total = d->s.memory_total;
    memory->used = d->s.memory_used + d->s.memory_reserved;
    memory->free = memory->total - memory->used;
    return unlock(NVML_SUCCESS);
}

/* nvmlDeviceGetMemoryInfo_v2: the caller sets version to nvmlMemory_v2, else
 * NVML_ERROR_ARGUMENT_VERSION_MISMATCH; used is allocated memory only, reserved is apart. */
NVML_API nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t d, nvmlMemory_v2_t *memory) {
    long long now;
    nvmlReturn_t ret = device(d, &now);
    if (ret != NVML_SUCCESS) {
        return ret;
    }
    if (memory == NULL) {
        return unlock(NVML_ERROR_INVALID_ARGUMENT);
    }
    if (memory->version != nvmlMemory_v2) {
        return unlock(NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
    }
    memory->total = d->s.memory_total;
    memory->reserved = d->s.memory_reserved;
    memory->used = d->s.memory_used;
    memory->free = memory->total - memory->reserved - memory->used;
    return unlock(NVML_SUCCESS);
}

/* ---- Temperature, power, energy ------------------------------------------------------------ */

/* nvmlDeviceGetTemperature: °C; NVML_TEMPERATURE_GPU is the only sensor type. */
NVML_API nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t d, nvmlTemperatureSensors_t sensorType,
                                               unsigned int *temp) {
    long long now;
    nvmlReturn_t ret = device(d, &now);
    if (ret != NVML_SUCCESS) {
        return ret;
    }
    if (temp == NULL || sensorType != NVML_TEMPERATURE_GPU) {
        return unlock(NVML_ERROR_INVALID_ARGUMENT);
    }
    *temp = d->s.temperature_c;
    return unlock(NVML_SUCCESS);
}

/* nvmlDeviceGetPowerUsage: mW. The scripted power is constant while the state holds, so the real
 * function's 1 s average (Ampere and newer) and an instantaneous reading are the same. */
NVML_API nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned int *power) {
    long long now;
    nvmlReturn_t ret = device(d, &now);
    if (ret != NVML_SUCCESS) {
        return ret;
    }
    if (power == NULL) {
        return unlock(NVML_ERROR_INVALID_ARGUMENT);
    }
    *power = d->s.power_mw[d->busy];
    return unlock(NVML_SUCCESS);
}

/* nvmlDeviceGetTotalEnergyConsumption: mJ "since the driver was last reloaded"; here E0
 * (FAKENVML_ENERGY_MJ) plus the scripted power integrated over CLOCK_MONOTONIC time since the
 * first nvmlInit. */
NVML_API nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t d, unsigned long long *energy) {
    long long now;
    nvmlReturn_t ret = device(d, &now);
    if (ret != NVML_SUCCESS) {
        return ret;
    }
    if (energy == NULL) {
        return unlock(NVML_ERROR_INVALID_ARGUMENT);
    }
    *energy = energy_mj(d, now);
    return unlock(NVML_SUCCESS);
}

/* nvmlDeviceGetFieldValues: energy (fields 83 and 191, unsigned long long mJ) and power (185 and
 * 186, unsigned int mW); every other field gets nvmlReturn NVML_ERROR_NOT_SUPPORTED. The call
 * itself succeeds: "you must check the nvmlReturn field of each value". */
NVML_API nvmlReturn_t nvmlDeviceGetFieldValues(nvmlDevice_t d, int valuesCount, nvmlFieldValue_t *values) {
    long long now;
    int k;
    nvmlReturn_t ret = device(d, &now);
    if (ret != NVML_SUCCESS) {
        return ret;
    }
    if (values == NULL || valuesCount <= 0) {
        return unlock(NVML_ERROR_INVALID_ARGUMENT);
    }
    for (k = 0; k < valuesCount; k++) {
        nvmlFieldValue_t *v = &values[k];
        v->timestamp = (long long)unix_us(now);
        v->latencyUsec = 0;
        memset(&v->value, 0, sizeof v->value);
        switch (v->fieldId) {
        case NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION:
        case NVML_FI_DEV_ENERGY:
            v->valueType = NVML_VALUE_TYPE_UNSIGNED_LONG_LONG;
            v->value.ullVal = energy_mj(d, now);
            v->nvmlReturn = NVML_SUCCESS;
            break;
        case NVML_FI_DEV_POWER_AVERAGE:
        case NVML_FI_DEV_POWER_INSTANT:
            v->valueType = NVML_VALUE_TYPE_UNSIGNED_INT;
            v->value.uiVal = d->s.power_mw[d->busy];
            v->nvmlReturn = NVML_SUCCESS;
            break;
        default:
            v->nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
        }
    }
    return unlock(NVML_SUCCESS);
}

/* ---- Errors and processes ------------------------------------------------------------------ */

/* nvmlDeviceGetTotalEccErrors: ECC is on and nothing has gone wrong: 0. */
NVML_API nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t d, nvmlMemoryErrorType_t errorType,
                                                  nvmlEccCounterType_t counterType, unsigned long long *eccCounts) {
    long long now;
    nvmlReturn_t ret = device(d, &now);
    if (ret != NVML_SUCCESS) {
        return ret;
    }
    if (eccCounts == NULL ||
        (errorType != NVML_MEMORY_ERROR_TYPE_CORRECTED && errorType != NVML_MEMORY_ERROR_TYPE_UNCORRECTED) ||
        (counterType != NVML_VOLATILE_ECC && counterType != NVML_AGGREGATE_ECC)) {
        return unlock(NVML_ERROR_INVALID_ARGUMENT);
    }
    *eccCounts = 0;
    return unlock(NVML_SUCCESS);
}

/* The most compute processes a GPU's processes file may list. */
#define MAX_PROCESSES 64

/* read_processes reads d's processes file: one "PID USED_BYTES" line per process, in decimal
 * (blank lines and lines starting with # are skipped). No file set, or no such file, is no
 * process. It returns the count, or -1 after saying on stderr why the file is malformed. */
static int read_processes(const struct nvmlDevice_st *d, nvmlProcessInfo_t out[MAX_PROCESSES]) {
    const char *path = d->s.processes_file;
    char line[256];
    int n = 0, lineno = 0;
    FILE *f;
    if (path[0] == '\0') {
        return 0;
    }
    if ((f = fopen(path, "r")) == NULL) {
        if (errno == ENOENT) {
            return 0;
        }
        fprintf(stderr, "fakenvml: %s: %s\n", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        char *p = line, *end;
        unsigned long long pid, used;
        lineno++;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '\n' || *p == '\r' || *p == '\0' || *p == '#') {
            continue;
        }
        if (n == MAX_PROCESSES) {
            fprintf(stderr, "fakenvml: %s: more than %d processes\n", path, MAX_PROCESSES);
            n = -1;
            break;
        }
        errno = 0;
        pid = strtoull(p, &end, 10);
        if (*p >= '0' && *p <= '9' && errno == 0 && pid > 0 && pid <= UINT_MAX && (*end == ' ' || *end == '\t')) {
            p = end;
            while (*p == ' ' || *p == '\t') {
                p++;
            }
            used = strtoull(p, &end, 10);
            if (*p >= '0' && *p <= '9' && errno == 0) {
                while (*end == ' ' || *end == '\t' || *end == '\r') {
                    end++;
                }
                if (*end == '\n' || *end == '\0') {
                    out[n].pid = (unsigned int)pid;
                    out[n].usedGpuMemory = used;
                    out[n].gpuInstanceId = 0xFFFFFFFFu; /* not a MIG device */
                    out[n].computeInstanceId = 0xFFFFFFFFu;
                    n++;
                    continue;
                }
            }
        }
        fprintf(stderr, "fakenvml: %s:%d: not \"PID USED_BYTES\" (decimal, PID > 0)\n", path, lineno);
        n = -1;
        break;
    }
    fclose(f);
    return n;
}

/* nvmlDeviceGetComputeRunningProcesses_v3: the processes of the GPU's processes file (none when it
 * has none): with *infoCount too small for them, NVML_ERROR_INSUFFICIENT_SIZE and the count needed
 * in *infoCount ("infoCount will contain minimal amount of space necessary for the call to
 * complete"); else the processes and NVML_SUCCESS ("NVML_SUCCESS if none are running" too). A
 * malformed file: NVML_ERROR_UNKNOWN. */
NVML_API nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t d, unsigned int *infoCount,
                                                              nvmlProcessInfo_t *infos) {
    long long now;
    nvmlProcessInfo_t procs[MAX_PROCESSES];
    int n;
    nvmlReturn_t ret = device(d, &now);
    if (ret != NVML_SUCCESS) {
        return ret;
    }
    if (infoCount == NULL || (infos == NULL && *infoCount != 0)) {
        return unlock(NVML_ERROR_INVALID_ARGUMENT);
    }
    if ((n = read_processes(d, procs)) < 0) {
        return unlock(NVML_ERROR_UNKNOWN);
    }
    if (*infoCount < (unsigned int)n) {
        *infoCount = (unsigned int)n;
        return unlock(NVML_ERROR_INSUFFICIENT_SIZE);
    }
    if (n > 0) {
        memcpy(infos, procs, (size_t)n * sizeof procs[0]);
    }
    *infoCount = (unsigned int)n;
    return unlock(NVML_SUCCESS);
}

/* nvmlDeviceGetProcessUtilization: no process sample is scripted (a listed process is idle): NVML_ERROR_NOT_FOUND
 * ("If no valid sample entries are found since the lastSeenTimeStamp"), for the sizing call
 * (utilization NULL) as for the reading one. */
NVML_API nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t d, nvmlProcessUtilizationSample_t *utilization,
                                                      unsigned int *processSamplesCount,
                                                      unsigned long long lastSeenTimeStamp) {
    long long now;
    nvmlReturn_t ret = device(d, &now);
    (void)utilization;
    (void)lastSeenTimeStamp;
    if (ret != NVML_SUCCESS) {
        return ret;
    }
    if (processSamplesCount == NULL) {
        return unlock(NVML_ERROR_INVALID_ARGUMENT);
    }
    *processSamplesCount = 0;
    return unlock(NVML_ERROR_NOT_FOUND);
}

/* ---- MIG ----------------------------------------------------------------------------------- */

/* nvmlDeviceGetMigMode: the fake GPU supports MIG (as an H200 does) but has it disabled, now and
 * after the next reset. */
NVML_API nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t d, unsigned int *currentMode, unsigned int *pendingMode) {
    long long now;
    nvmlReturn_t ret = device(d, &now);
    if (ret != NVML_SUCCESS) {
        return ret;
    }
    if (currentMode == NULL || pendingMode == NULL) {
        return unlock(NVML_ERROR_INVALID_ARGUMENT);
    }
    *currentMode = NVML_DEVICE_MIG_DISABLE;
    *pendingMode = NVML_DEVICE_MIG_DISABLE;
    return unlock(NVML_SUCCESS);
}

/* nvmlDeviceIsMigDeviceHandle: every handle is a GPU's. */
NVML_API nvmlReturn_t nvmlDeviceIsMigDeviceHandle(nvmlDevice_t d, unsigned int *isMigDevice) {
    long long now;
    nvmlReturn_t ret = device(d, &now);
    if (ret != NVML_SUCCESS) {
        return ret;
    }
    if (isMigDevice == NULL) {
        return unlock(NVML_ERROR_INVALID_ARGUMENT);
    }
    *isMigDevice = 0;
    return unlock(NVML_SUCCESS);
}

/* ---- Queries the fake GPU does not support ------------------------------------------------- */

/* These are present, but answer NVML_ERROR_NOT_SUPPORTED ("if the device does not support this
 * feature") after the usual argument checks, as a GPU without the feature does (an H200 SXM has
 * no fan). */
static nvmlReturn_t not_supported(nvmlDevice_t d, const void *out) {
    long long now;
    nvmlReturn_t ret = device(d, &now);
    if (ret != NVML_SUCCESS) {
        return ret;
    }
    return unlock(out == NULL ? NVML_ERROR_INVALID_ARGUMENT : NVML_ERROR_NOT_SUPPORTED);
}

NVML_API nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t d, nvmlClockType_t type, unsigned int *clock) {
    (void)type;
    return not_supported(d, clock);
}

NVML_API nvmlReturn_t nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t d, unsigned long long *clocksEventReasons) {
    return not_supported(d, clocksEventReasons);
}

NVML_API nvmlReturn_t nvmlDeviceGetFanSpeed(nvmlDevice_t d, unsigned int *speed) { return not_supported(d, speed); }

NVML_API nvmlReturn_t nvmlDeviceGetPerformanceState(nvmlDevice_t d, nvmlPstates_t *pState) {
    return not_supported(d, pState);
}

NVML_API nvmlReturn_t nvmlDeviceGetPcieThroughput(nvmlDevice_t d, nvmlPcieUtilCounter_t counter, unsigned int *value) {
    (void)counter;
    return not_supported(d, value);
}

/* ---- Events -------------------------------------------------------------------------------- */

NVML_API nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t *set) {
    nvmlReturn_t ret = initialized();
    if (ret != NVML_SUCCESS) {
        return ret;
    }
    if (set == NULL) {
        return unlock(NVML_ERROR_INVALID_ARGUMENT);
    }
    *set = calloc(1, sizeof **set);
    return unlock(*set == NULL ? NVML_ERROR_MEMORY : NVML_SUCCESS);
}

/* nvmlDeviceGetSupportedEventTypes: critical XID errors only. */
NVML_API nvmlReturn_t nvmlDeviceGetSupportedEventTypes(nvmlDevice_t d, unsigned long long *eventTypes) {
    long long now;
    nvmlReturn_t ret = device(d, &now);
    if (ret != NVML_SUCCESS) {
        return ret;
    }
    if (eventTypes == NULL) {
        return unlock(NVML_ERROR_INVALID_ARGUMENT);
    }
    *eventTypes = nvmlEventTypeXidCriticalError;
    return unlock(NVML_SUCCESS);
}

/* nvmlDeviceRegisterEvents: NVML_ERROR_NOT_SUPPORTED, registering nothing, when some requested
 * type is not supported ("event set can still be used"). */
NVML_API nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t d, unsigned long long eventTypes, nvmlEventSet_t set) {
    long long now;
    nvmlReturn_t ret = device(d, &now);
    if (ret != NVML_SUCCESS) {
        return ret;
    }
    if (set == NULL || eventTypes == 0) {
        return unlock(NVML_ERROR_INVALID_ARGUMENT);
    }
    if ((eventTypes & ~(unsigned long long)nvmlEventTypeXidCriticalError) != 0) {
        return unlock(NVML_ERROR_NOT_SUPPORTED);
    }
    set->types[d->index] |= (unsigned long long)eventTypes;
    return unlock(NVML_SUCCESS);
}

/* nvmlEventSetWait_v2: the fake GPU raises no event: it sleeps timeoutms, then
 * NVML_ERROR_TIMEOUT ("if no event arrived in specified timeout"). */
NVML_API nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int timeoutms) {
    struct timespec ts;
    nvmlReturn_t ret = initialized();
    if (ret != NVML_SUCCESS) {
        return ret;
    }
    pthread_mutex_unlock(&mu);
    if (set == NULL || data == NULL) {
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    ts.tv_sec = timeoutms / 1000;
    ts.tv_nsec = (long)(timeoutms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    return NVML_ERROR_TIMEOUT;
}

NVML_API nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set) {
    nvmlReturn_t ret = initialized();
    if (ret != NVML_SUCCESS) {
        return ret;
    }
    free(set);
    return unlock(NVML_SUCCESS);
}
