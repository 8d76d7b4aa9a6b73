/*
 * cpu_probe.c: the one place that asks the CPU (and the OS) what it can run.
 *
 * x86-64: CPUID for the instruction bits, and XGETBV for whether the OS saves the AVX (YMM) and
 * AVX-512 (opmask, ZMM) register state: a CPU may report AVX-512 while the OS has it disabled, and
 * executing it then faults. AArch64: getauxval on Linux, sysctlbyname on macOS,
 * IsProcessorFeaturePresent on Windows. Probed once; the result is cached.
 */
#include <string.h>

#include "internal.h"
#include "platform.h"

#if defined(BN_ARCH_X86_64)
#  if defined(_MSC_VER)
#    include <intrin.h>
#    include <immintrin.h>
static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
    int regs[4];
    __cpuidex(regs, (int)leaf, (int)sub);
    for (int i = 0; i < 4; i++) r[i] = (uint32_t)regs[i];
}
static uint64_t xgetbv0(void) { return _xgetbv(0); }
#  else
#    include <cpuid.h>
static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
    __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
}
static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}
#  endif

enum { EAX, EBX, ECX, EDX };
#define BIT(reg, n) (((reg) >> (n)) & 1u)

/* XCR0 bits: 1 SSE, 2 AVX (upper YMM), 5 opmask, 6 ZMM_Hi256, 7 Hi16_ZMM. */
#define XCR0_AVX_STATE 0x06u
#define XCR0_AVX512_STATE 0xe6u

static uint32_t probe(void) {
    uint32_t r[4], features = 0;
    cpuid(0, 0, r);
    const uint32_t max_leaf = r[EAX];
    if (max_leaf < 1) return 0;
    cpuid(1, 0, r);
    const uint32_t ecx1 = r[ECX];
    if (BIT(ecx1, 9)) features |= BN_CPU_SSSE3;
    const int osxsave = BIT(ecx1, 27);
    const uint64_t xcr0 = osxsave ? xgetbv0() : 0;
    const int os_avx = (xcr0 & XCR0_AVX_STATE) == XCR0_AVX_STATE;
    const int os_avx512 = (xcr0 & XCR0_AVX512_STATE) == XCR0_AVX512_STATE;
    if (!os_avx) return features; /* every feature below needs the YMM state */
    if (BIT(ecx1, 28)) features |= BN_CPU_AVX;
    if (BIT(ecx1, 12)) features |= BN_CPU_FMA;
    if (BIT(ecx1, 29)) features |= BN_CPU_F16C;
    if (max_leaf >= 7) {
        cpuid(7, 0, r);
        const uint32_t ebx7 = r[EBX], ecx7 = r[ECX], max_sub = r[EAX];
        if (BIT(ebx7, 5)) features |= BN_CPU_AVX2;
        if (os_avx512) {
            if (BIT(ebx7, 16)) features |= BN_CPU_AVX512F;
            if (BIT(ebx7, 30)) features |= BN_CPU_AVX512BW;
            if (BIT(ebx7, 31)) features |= BN_CPU_AVX512VL;
            if (BIT(ecx7, 11)) features |= BN_CPU_AVX512VNNI;
        }
        if (max_sub >= 1) {
            cpuid(7, 1, r);
            if (BIT(r[EAX], 4)) features |= BN_CPU_AVXVNNI;
        }
    }
    return features;
}

void bn_cpu_brand(char *out, size_t out_len) {
    if (!out || out_len == 0) return;
    out[0] = '\0';
    uint32_t r[4];
    cpuid(0x80000000u, 0, r);
    if (r[EAX] < 0x80000004u) return;
    char brand[49];
    for (uint32_t i = 0; i < 3; i++) {
        cpuid(0x80000002u + i, 0, r);
        memcpy(brand + 16 * i, r, 16);
    }
    brand[48] = '\0';
    const char *s = brand;
    while (*s == ' ') s++;
    size_t n = strlen(s);
    if (n >= out_len) n = out_len - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

const char *bn_cpu_arch(void) { return "x86_64"; }

#elif defined(BN_ARCH_AARCH64)

#  if defined(__linux__)
#    include <sys/auxv.h>
#    ifndef HWCAP_ASIMD
#      define HWCAP_ASIMD (1 << 1)
#    endif
#    ifndef HWCAP_ASIMDDP
#      define HWCAP_ASIMDDP (1 << 20)
#    endif
#    ifndef HWCAP2_I8MM
#      define HWCAP2_I8MM (1 << 13)
#    endif
static uint32_t probe(void) {
    const unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
    uint32_t f = 0;
    if (hw & HWCAP_ASIMD) f |= BN_CPU_NEON;
    if (hw & HWCAP_ASIMDDP) f |= BN_CPU_DOTPROD;
    if (hw2 & HWCAP2_I8MM) f |= BN_CPU_I8MM;
    return f;
}
#  elif defined(__APPLE__)
#    include <sys/sysctl.h>
static int sysctl_flag(const char *name) {
    int value = 0;
    size_t size = sizeof value;
    if (sysctlbyname(name, &value, &size, NULL, 0) != 0) return 0;
    return value != 0;
}
static uint32_t probe(void) {
    uint32_t f = BN_CPU_NEON; /* every Apple arm64 CPU has Advanced SIMD */
    if (sysctl_flag("hw.optional.arm.FEAT_DotProd")) f |= BN_CPU_DOTPROD;
    if (sysctl_flag("hw.optional.arm.FEAT_I8MM")) f |= BN_CPU_I8MM;
    return f;
}
#  elif defined(_WIN32)
#    define WIN32_LEAN_AND_MEAN
#    include <windows.h>
#    ifndef PF_ARM_V82_DP_INSTRUCTIONS_AVAILABLE
#      define PF_ARM_V82_DP_INSTRUCTIONS_AVAILABLE 43
#    endif
static uint32_t probe(void) {
    uint32_t f = BN_CPU_NEON; /* Windows on ARM requires Advanced SIMD */
    if (IsProcessorFeaturePresent(PF_ARM_V82_DP_INSTRUCTIONS_AVAILABLE)) f |= BN_CPU_DOTPROD;
    /* No documented processor-feature constant for i8mm on Windows yet: reported absent. */
    return f;
}
#  else
static uint32_t probe(void) { return BN_CPU_NEON; }
#  endif

void bn_cpu_brand(char *out, size_t out_len) {
    if (out && out_len) out[0] = '\0';
#  if defined(__APPLE__)
    if (out && out_len) {
        size_t n = out_len;
        if (sysctlbyname("machdep.cpu.brand_string", out, &n, NULL, 0) != 0) out[0] = '\0';
        out[out_len - 1] = '\0';
    }
#  endif
}

const char *bn_cpu_arch(void) { return "aarch64"; }

#else

static uint32_t probe(void) { return 0; }
void bn_cpu_brand(char *out, size_t out_len) { if (out && out_len) out[0] = '\0'; }
const char *bn_cpu_arch(void) { return "other"; }

#endif

static const char *const feature_names[BN_CPU_FEATURE_COUNT] = {
    "ssse3", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512vnni",
    "avxvnni", "neon", "dotprod", "i8mm",
};

const char *bn_cpu_feature_name(int bit_index) {
    if (bit_index < 0 || bit_index >= BN_CPU_FEATURE_COUNT) return NULL;
    return feature_names[bit_index];
}

/* Marks the cached word as probed; feature bits stay below BN_CPU_FEATURE_COUNT. */
#define PROBED_BIT ((uint32_t)1 << 30)
typedef char bn_features_fit_below_the_probed_bit[BN_CPU_FEATURE_COUNT < 30 ? 1 : -1];

uint32_t bn_cpu_features(void) {
    /* One atomic word holds both the features and the "probed" mark, so no thread can see the
     * mark without the features (two plain volatiles could be reordered on ARM). Concurrent
     * first calls compute and store the same value. */
    static volatile int32_t cached = 0;
    uint32_t word = (uint32_t)bn_atomic_load32(&cached);
    if (!(word & PROBED_BIT)) {
        word = probe() | PROBED_BIT;
        bn_atomic_store32(&cached, (int32_t)word);
    }
    return word & ~PROBED_BIT;
}
