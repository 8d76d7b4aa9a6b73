/*
 * kernel_check.c: checks every SIMD kernel table against the scalar reference, bit for bit.
 *
 * A standalone program (libc + libm only) linked directly with the kernel files:
 *   kernels_ref.c (required) and whichever of kernels_neon.c, kernels_dotprod.c,
 *   kernels_avx2.c, kernels_avx512.c the build passes. The variant getters are weak references,
 *   so a file left out of the link reads as "not linked" instead of breaking the build.
 * A variant is checked when its getter returns a table (it was compiled for this architecture)
 * and this CPU can run it (x86: __builtin_cpu_supports + F16C from cpuid; AArch64 Linux:
 * getauxval(AT_HWCAP) ASIMD / ASIMDDP).
 *
 * Inputs are seeded (argv[1] = seed, default 1). The reference output of each case is computed
 * once; every variant runs the same case over several row ranges (odd starts and counts, an
 * empty range, the whole matrix split into 1, 2 and 3 contiguous chunks as the thread pool
 * does) into an output prefilled with a sentinel, and the whole output buffer is compared, so
 * writes outside [r0, r1) are caught too. Float outputs compare by bits, except that any NaN
 * matches any NaN (IEEE leaves the payload open when two NaNs meet, and a compiler may commute
 * the reference's scalar adds); int8 / int32 outputs compare exactly.
 *
 * Output: lines starting with "#" are information (which variants ran); one "FAIL ..." line per
 * failing check (variant, entry, shape, first mismatching index, both values); the last line is
 * "N passed, M failed". Exit status 0 iff M == 0 (2 on a setup error).
 *
 * Build and run: see native/tests/README.md.
 */
#define _DEFAULT_SOURCE 1 /* mmap / sysconf under -std=c11 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/internal.h"

#if defined(__aarch64__) && defined(__linux__)
#  include <sys/auxv.h>
#  ifndef HWCAP_ASIMD
#    define HWCAP_ASIMD (1UL << 1)
#  endif
#  ifndef HWCAP_ASIMDDP
#    define HWCAP_ASIMDDP (1UL << 20)
#  endif
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#  include <cpuid.h>
#endif
#if defined(__unix__) || defined(__APPLE__)
#  include <sys/mman.h>
#  include <unistd.h>
#  define HAVE_GUARD_PAGES 1
#elif defined(_WIN32)
#  define WIN32_LEAN_AND_MEAN
#  include <windows.h>
#  include <malloc.h>
#  define HAVE_GUARD_PAGES 1
#endif

/* Variant files missing from the link resolve to NULL instead of failing the link. */
#if defined(__GNUC__) || defined(__clang__)
#  pragma weak bn_kernels_avx2
#  pragma weak bn_kernels_avx512
#  pragma weak bn_kernels_neon
#  pragma weak bn_kernels_dotprod
#endif

/* ------------------------------------------------------------------------------------------ */
/* tallies and reporting */

static long g_passed, g_failed;

static void pass(void) { g_passed++; }

static void fail(const char *variant, const char *entry, const char *shape, const char *detail) {
    g_failed++;
    printf("FAIL %s %s [%s]: %s\n", variant, entry, shape, detail);
}

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float f32_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static int same_f32(float a, float b) {
    return f32_bits(a) == f32_bits(b) || (isnan(a) && isnan(b));
}

/* Compares n floats; on a mismatch records one failure naming the first bad index. */
static void check_f32(const char *variant, const char *entry, const char *shape,
                      const float *got, const float *want, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (!same_f32(got[i], want[i])) {
            char detail[200];
            snprintf(detail, sizeof detail,
                     "first mismatch at index %zu: got %.9g (0x%08x), want %.9g (0x%08x)", i,
                     (double)got[i], (unsigned)f32_bits(got[i]), (double)want[i],
                     (unsigned)f32_bits(want[i]));
            fail(variant, entry, shape, detail);
            return;
        }
    }
    pass();
}

/* ------------------------------------------------------------------------------------------ */
/* deterministic random inputs (splitmix64) */

static uint64_t g_rng;

static uint64_t rng_u64(void) {
    uint64_t z = (g_rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint32_t rng_below(uint32_t n) { return (uint32_t)(rng_u64() % n); }

static float rng_unit(void) { return (float)(rng_u64() >> 40) / 16777216.0f; } /* [0, 1) */

static float rng_normal(void) { /* Irwin-Hall approximation, good enough for test data */
    float s = 0.0f;
    for (int i = 0; i < 12; i++) s += rng_unit();
    return s - 6.0f;
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        printf("# out of memory\n");
        exit(2);
    }
    return p;
}

/* Input buffers end right before an inaccessible page, so a kernel that reads past the end of
 * its operands crashes the harness (the test then fails) instead of passing by luck. */
#ifdef HAVE_GUARD_PAGES
static size_t page_size(void) {
#  ifdef _WIN32
    SYSTEM_INFO info;
    GetSystemInfo(&info);
    return info.dwPageSize;
#  else
    return (size_t)sysconf(_SC_PAGESIZE);
#  endif
}

static size_t page_round(size_t n) {
    const size_t pg = page_size();
    return (n + pg - 1) / pg * pg;
}

static void *guarded_alloc(size_t n) {
    const size_t pg = page_size(), body = page_round(n);
#  ifdef _WIN32
    char *base = VirtualAlloc(NULL, body + pg, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    DWORD old;
    if (!base || !VirtualProtect(base + body, pg, PAGE_NOACCESS, &old)) {
        printf("# VirtualAlloc failed\n");
        exit(2);
    }
#  else
    char *base = mmap(NULL, body + pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED || mprotect(base + body, pg, PROT_NONE) != 0) {
        printf("# mmap failed\n");
        exit(2);
    }
#  endif
    return base + body - n;
}

static void guarded_free(void *p, size_t n) {
    char *base = (char *)p + n - page_round(n);
#  ifdef _WIN32
    VirtualFree(base, 0, MEM_RELEASE);
#  else
    munmap(base, page_round(n) + page_size());
#  endif
}
#else
static void *guarded_alloc(size_t n) { return xmalloc(n); }
static void guarded_free(void *p, size_t n) { (void)n; free(p); }
#endif

/* n must be a multiple of 64. The Windows C runtime has no C11 aligned_alloc. */
static void *aligned64_alloc(size_t n) {
#ifdef _WIN32
    void *p = _aligned_malloc(n, 64);
#else
    void *p = aligned_alloc(64, n);
#endif
    if (!p) {
        printf("# out of memory\n");
        exit(2);
    }
    return p;
}

static void aligned64_free(void *p) {
#ifdef _WIN32
    _aligned_free(p);
#else
    free(p);
#endif
}

/* ------------------------------------------------------------------------------------------ */
/* variants */

typedef struct {
    const char *name;
    const bn_kernel_table *t;
} variant;

static variant g_vars[4];
static int g_nvars;

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
static int x86_has_f16c(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    return (c >> 29) & 1;
}
#endif

/* 1 if this CPU can run the named variant; *why says why not. */
static int cpu_can_run(const char *name, const char **why) {
    *why = "not an instruction set of this architecture";
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && x86_has_f16c();
    if (strcmp(name, "avx2") == 0) {
        *why = "CPU lacks avx2/fma/f16c";
        return avx2;
    }
    if (strcmp(name, "avx512") == 0) {
#ifdef BN_EMULATED_AVX512
        return 1; /* built against SIMDe's portable AVX-512 (tests/native/test_avx512_emulated.py) */
#endif
        *why = "CPU lacks avx512f/bw/vl/vnni (or avx2/fma/f16c)";
        return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
    }
#elif defined(__aarch64__) && defined(__linux__)
    unsigned long hw = getauxval(AT_HWCAP);
    if (strcmp(name, "neon") == 0) {
        *why = "CPU lacks asimd";
        return (hw & HWCAP_ASIMD) != 0;
    }
    if (strcmp(name, "dotprod") == 0) {
        *why = "CPU lacks asimddp";
        return (hw & HWCAP_ASIMDDP) != 0;
    }
#elif defined(__aarch64__) && defined(__APPLE__)
    if (strcmp(name, "neon") == 0 || strcmp(name, "dotprod") == 0) return 1; /* every arm64 Mac */
#endif
    return 0;
}

static void add_variant(const char *name, const bn_kernel_table *(*get)(void)) {
    if (!get) {
        printf("# variant %s: not linked\n", name);
        return;
    }
    const bn_kernel_table *t = get();
    if (!t) {
        printf("# variant %s: not compiled for this architecture\n", name);
        return;
    }
    const char *why;
    if (!cpu_can_run(name, &why)) {
        printf("# variant %s: skipped (%s)\n", name, why);
        return;
    }
    if (!t->name || strcmp(t->name, name) != 0) {
        fail(name, "name", "table", "table name differs from the variant name");
    }
    printf("# variant %s: checking\n", name);
    g_vars[g_nvars].name = name;
    g_vars[g_nvars].t = t;
    g_nvars++;
}

/* ------------------------------------------------------------------------------------------ */
/* row plans: which [r0, r1) calls a variant makes for one case */

typedef struct {
    char label[64];
    int n;              /* number of calls */
    int64_t b[4];       /* calls are [b[i], b[i+1]) for i < n */
} row_plan;

static int make_plans(int64_t m, row_plan *p) {
    int n = 0;
    /* whole matrix as 1, 2 and 3 contiguous chunks (uneven, seeded boundaries) */
    p[n] = (row_plan){"split1", 1, {0, m}};
    n++;
    if (m >= 2) {
        int64_t a = 1 + rng_below((uint32_t)(m - 1));
        p[n] = (row_plan){"split2", 2, {0, a, m}};
        n++;
    }
    if (m >= 3) {
        int64_t a = 1 + rng_below((uint32_t)(m - 2));
        int64_t c = a + 1 + rng_below((uint32_t)(m - a - 1));
        p[n] = (row_plan){"split3", 3, {0, a, c, m}};
        n++;
    }
    /* partial ranges: odd starts and counts, single rows, an empty call */
    const int64_t ranges[][2] = {
        {1, m}, {1, m - 1}, {3, 3 + 5}, {m - 1, m}, {2, 3}, {m / 2, m / 2}, {m / 3, m - m / 3},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        int64_t r0 = ranges[i][0], r1 = ranges[i][1];
        if (r0 < 0 || r1 > m || r0 > r1) continue;
        p[n] = (row_plan){"", 1, {r0, r1}};
        snprintf(p[n].label, sizeof p[n].label, "rows=[%lld,%lld)", (long long)r0,
                 (long long)r1);
        n++;
    }
    return n;
}

#define SENTINEL_BITS 0xdeadbeefu /* a normal float (-6.3e18) no kernel output should equal */

typedef void (*gemm_call)(const bn_kernel_table *t, const void *args, int64_t r0, int64_t r1,
                          float *y);

/* Runs every row plan of one case on every variant and compares with yref, the reference over
 * [0, m) (n_tokens rows of y_stride floats). */
static void check_gemm_case(const char *entry, const char *shape, gemm_call call,
                            const void *args, int64_t m, int64_t n_tokens, int64_t y_stride,
                            const float *yref) {
    row_plan plans[12];
    const int np = make_plans(m, plans);
    const size_t ny = (size_t)(n_tokens * y_stride);
    float *y = guarded_alloc(ny * sizeof *y);
    float *want = xmalloc(ny * sizeof *want);
    for (int v = 0; v < g_nvars; v++) {
        for (int p = 0; p < np; p++) {
            const int64_t lo = plans[p].b[0], hi = plans[p].b[plans[p].n];
            for (size_t i = 0; i < ny; i++) {
                y[i] = f32_from_bits(SENTINEL_BITS);
                want[i] = y[i];
            }
            for (int64_t t = 0; t < n_tokens; t++)
                for (int64_t r = lo; r < hi; r++) want[t * y_stride + r] = yref[t * y_stride + r];
            for (int c = 0; c < plans[p].n; c++)
                call(g_vars[v].t, args, plans[p].b[c], plans[p].b[c + 1], y);
            char full[256];
            snprintf(full, sizeof full, "%.200s %.48s", shape, plans[p].label);
            check_f32(g_vars[v].name, entry, full, y, want, ny);
        }
    }
    guarded_free(y, ny * sizeof *y);
    free(want);
}

/* ------------------------------------------------------------------------------------------ */
/* i2s_gemm */

typedef struct {
    const uint8_t *w;
    int64_t k;
    float alpha;
    const int8_t *q;
    const float *scales;
    const int32_t *sums;
    int64_t n_tokens, y_stride;
} i2s_args;

static void call_i2s(const bn_kernel_table *t, const void *args, int64_t r0, int64_t r1,
                     float *y) {
    const i2s_args *a = args;
    t->i2s_gemm(a->w, a->k, r0, r1, a->alpha, a->q, a->scales, a->sums, a->n_tokens, y,
                a->y_stride);
}

enum { W_RANDOM, W_VALID, W_ALL3, W_ALL2 };
static const char *w_pattern_name[] = {"w=random-bytes", "w=codes0-2", "w=all-code3",
                                       "w=all-code2"};
enum { Q_RANDOM, Q_MAX, Q_MIN, Q_ALT };
static const char *q_pattern_name[] = {"q=random", "q=all+127", "q=all-128", "q=alternating"};

static void fill_q(int8_t *q, size_t n, int pattern) {
    for (size_t i = 0; i < n; i++) {
        switch (pattern) {
        case Q_RANDOM: q[i] = (int8_t)(int)(rng_below(256) - 128); break;
        case Q_MAX: q[i] = 127; break;
        case Q_MIN: q[i] = -128; break;
        default: q[i] = (i & 1) ? 127 : -128; break;
        }
    }
}

static void fill_token_params(int64_t n_tokens, int64_t k, const int8_t *q, float *scales,
                              int32_t *sums) {
    for (int64_t t = 0; t < n_tokens; t++) {
        int32_t s = 0;
        for (int64_t i = 0; i < k; i++) s += q[t * k + i];
        sums[t] = s;
        scales[t] = 127.0f / (0.01f + 40.0f * rng_unit());
    }
}

static void check_i2s_one(int64_t k, int64_t m, int64_t n_tokens, int wp, int qp) {
    const size_t wbytes = (size_t)(m * k / 4) + BN_I2S_TAIL_BYTES;
    uint8_t *w = guarded_alloc(wbytes);
    for (size_t i = 0; i < wbytes; i++) {
        switch (wp) {
        case W_RANDOM: w[i] = (uint8_t)rng_u64(); break;
        case W_VALID: {
            uint8_t b = 0;
            for (int j = 0; j < 4; j++) b = (uint8_t)(b << 2 | rng_below(3));
            w[i] = b;
        } break;
        case W_ALL3: w[i] = 0xff; break;
        default: w[i] = 0xaa; break;
        }
    }
    int8_t *q = guarded_alloc((size_t)(n_tokens * k));
    fill_q(q, (size_t)(n_tokens * k), qp);
    float *scales = xmalloc((size_t)n_tokens * sizeof(float));
    int32_t *sums = xmalloc((size_t)n_tokens * sizeof(int32_t));
    fill_token_params(n_tokens, k, q, scales, sums);
    const int64_t y_stride = m + (n_tokens & 1 ? 3 : 0);
    const i2s_args args = {w, k, 0.25f + rng_unit() * 3.0f, q, scales, sums, n_tokens, y_stride};

    float *yref = xmalloc((size_t)(n_tokens * y_stride) * sizeof(float));
    bn_kernels_ref()->i2s_gemm(w, k, 0, m, args.alpha, q, scales, sums, n_tokens, yref, y_stride);
    char shape[160];
    snprintf(shape, sizeof shape, "k=%lld m=%lld n_tokens=%lld y_stride=%lld %s %s",
             (long long)k, (long long)m, (long long)n_tokens, (long long)y_stride,
             w_pattern_name[wp], q_pattern_name[qp]);
    check_gemm_case("i2s_gemm", shape, call_i2s, &args, m, n_tokens, y_stride, yref);
    free(scales); free(sums); free(yref);
    guarded_free(w, wbytes);
    guarded_free(q, (size_t)(n_tokens * k));
}

static void check_i2s(void) {
    static const int64_t ks[] = {128, 256, 384, 2560, 6912};
    static const int64_t ms[] = {9, 7, 11, 13, 5};
    for (int s = 0; s < 5; s++) {
        const int64_t k = ks[s], m = ms[s];
        for (int64_t nt = 1; nt <= 17; nt++) check_i2s_one(k, m, nt, W_RANDOM, Q_RANDOM);
        for (int64_t nt = 1; nt <= 9; nt += 4) check_i2s_one(k, m, nt, W_VALID, Q_RANDOM);
        /* adversarial: extreme activations against every code, GEMV and GEMM shapes */
        for (int wp = 0; wp < 4; wp++)
            for (int qp = 1; qp < 4; qp++) {
                check_i2s_one(k, m, 1, wp, qp);
                check_i2s_one(k, m, 5, wp, qp);
                check_i2s_one(k, m, 8, wp, qp);
            }
    }
    /* more rows than one cache chunk of the SIMD drivers (about 64 KiB of weights) */
    check_i2s_one(6912, 83, 1, W_RANDOM, Q_RANDOM);
    check_i2s_one(6912, 83, 6, W_RANDOM, Q_RANDOM);
    check_i2s_one(128, 2100, 5, W_RANDOM, Q_RANDOM);
}

/* The reference itself against the spec's packing formula (docs/file-formats.md#i2_s): byte j of a block
 * = c[j]<<6 | c[32+j]<<4 | c[64+j]<<2 | c[96+j], c = t + 1, and D - S = sum of t * q. */
static void check_ref_i2s_layout(void) {
    const int64_t k = 384, m = 3, n_tokens = 2;
    int8_t *t = xmalloc((size_t)(m * k));
    for (int64_t i = 0; i < m * k; i++) t[i] = (int8_t)((int)rng_below(3) - 1);
    uint8_t *w = xmalloc((size_t)(m * k / 4) + BN_I2S_TAIL_BYTES);
    memset(w, 0, (size_t)(m * k / 4) + BN_I2S_TAIL_BYTES);
    for (int64_t r = 0; r < m; r++)
        for (int64_t b = 0; b < k / 128; b++)
            for (int j = 0; j < 32; j++) {
                const int8_t *c = t + r * k + b * 128;
                w[r * k / 4 + b * 32 + j] = (uint8_t)((c[j] + 1) << 6 | (c[32 + j] + 1) << 4 |
                                                      (c[64 + j] + 1) << 2 | (c[96 + j] + 1));
            }
    int8_t q[2 * 384];
    fill_q(q, sizeof q, Q_RANDOM);
    float scales[2];
    int32_t sums[2];
    fill_token_params(n_tokens, k, q, scales, sums);
    float y[2 * 3];
    bn_kernels_ref()->i2s_gemm(w, k, 0, m, 1.5f, q, scales, sums, n_tokens, y, m);
    float want[2 * 3];
    for (int64_t tt = 0; tt < n_tokens; tt++)
        for (int64_t r = 0; r < m; r++) {
            int64_t dot = 0;
            for (int64_t i = 0; i < k; i++) dot += (int64_t)t[r * k + i] * q[tt * k + i];
            want[tt * m + r] = (float)(int32_t)dot / scales[tt] * 1.5f;
        }
    check_f32("ref", "i2s_gemm", "spec 2.5 packing formula, k=384 m=3 n_tokens=2", y, want, 6);
    free(t);
    free(w);
}

/* ------------------------------------------------------------------------------------------ */
/* f16_gemm */

typedef struct {
    const uint16_t *w;
    int64_t k;
    const float *x;
    int64_t n_tokens, y_stride;
} f16_args;

static void call_f16(const bn_kernel_table *t, const void *args, int64_t r0, int64_t r1,
                     float *y) {
    const f16_args *a = args;
    t->f16_gemm(a->w, a->k, r0, r1, a->x, a->n_tokens, y, a->y_stride);
}

enum { F_NORMAL, F_WIDE, F_CANCEL, F_TINY, F_SPECIAL };
static const char *f_pattern_name[] = {"normal", "wide-range", "cancellation", "subnormal-sums",
                                       "inf-nan"};

static void check_f16_one(int64_t k, int64_t m, int64_t n_tokens, int pattern) {
    uint16_t *w = guarded_alloc((size_t)(m * k) * sizeof *w);
    float *x = guarded_alloc((size_t)(n_tokens * k) * sizeof *x);
    for (int64_t i = 0; i < m * k; i++) {
        switch (pattern) {
        case F_NORMAL: w[i] = bn_f32_to_f16_scalar(0.05f * rng_normal()); break;
        case F_TINY: w[i] = bn_f32_to_f16_scalar(rng_normal()); break;
        case F_WIDE: { /* any finite half, subnormals and signed zeros included */
            uint16_t h;
            do h = (uint16_t)rng_u64(); while ((h & 0x7c00u) == 0x7c00u);
            w[i] = h;
        } break;
        case F_CANCEL: /* large terms of both signs, so summation order shows */
            w[i] = bn_f32_to_f16_scalar((rng_below(2) ? 1.0f : -1.0f) *
                                        (rng_below(4) ? 1000.0f * rng_unit() : 0.001f));
            break;
        default: {
            static const uint16_t special[4] = {0x7c00u, 0xfc00u, 0x7e01u, 0x7d00u}; /* inf, NaNs */
            const uint32_t u = rng_below(40);
            w[i] = u < 4 ? special[u] : bn_f32_to_f16_scalar(rng_normal());
        } break;
        }
    }
    for (int64_t i = 0; i < n_tokens * k; i++) {
        if (pattern == F_WIDE) {
            x[i] = ldexpf(rng_normal(), (int)rng_below(40) - 20);
        } else if (pattern == F_TINY) { /* lane sums in the f32 subnormal range (< 2^-126) */
            x[i] = ldexpf(rng_normal(), -128 - (int)rng_below(16));
        } else if (pattern == F_CANCEL) {
            x[i] = (rng_below(2) ? 1.0f : -1.0f) * (rng_below(3) ? 3.0e3f : 1.0e-3f) * rng_unit();
        } else {
            x[i] = rng_normal();
            if (pattern == F_SPECIAL && rng_below(50) == 0) x[i] = 0.0f; /* inf * 0 = NaN */
        }
    }
    const int64_t y_stride = m + (n_tokens & 1 ? 0 : 2);
    const f16_args args = {w, k, x, n_tokens, y_stride};
    float *yref = xmalloc((size_t)(n_tokens * y_stride) * sizeof(float));
    bn_kernels_ref()->f16_gemm(w, k, 0, m, x, n_tokens, yref, y_stride);
    char shape[160];
    snprintf(shape, sizeof shape, "k=%lld m=%lld n_tokens=%lld y_stride=%lld %s", (long long)k,
             (long long)m, (long long)n_tokens, (long long)y_stride, f_pattern_name[pattern]);
    check_gemm_case("f16_gemm", shape, call_f16, &args, m, n_tokens, y_stride, yref);
    guarded_free(w, (size_t)(m * k) * sizeof *w);
    guarded_free(x, (size_t)(n_tokens * k) * sizeof *x);
    free(yref);
}

static void check_f16(void) {
    static const int64_t ks[] = {32, 64, 96, 160, 256, 2560, 6912};
    for (int s = 0; s < 7; s++) {
        const int64_t k = ks[s], m = (s & 1) ? 7 : 9;
        for (int64_t nt = 1; nt <= 17; nt++) {
            if (k >= 2560 && !(nt <= 5 || nt == 17)) continue; /* keep qemu runs short */
            for (int p = 0; p < 4; p++) check_f16_one(k, m, nt, p);
        }
        check_f16_one(k, m, 1, F_SPECIAL);
        check_f16_one(k, m, 3, F_SPECIAL);
    }
    check_f16_one(2560, 29, 3, F_NORMAL); /* crosses the drivers' 64 KiB row chunks */
}

/* ------------------------------------------------------------------------------------------ */
/* i8_gemm */

typedef struct {
    const int8_t *w;
    const float *w_scales;
    int64_t k;
    const int8_t *q;
    const float *scales;
    int64_t n_tokens, y_stride;
} i8_args;

static void call_i8(const bn_kernel_table *t, const void *args, int64_t r0, int64_t r1,
                    float *y) {
    const i8_args *a = args;
    t->i8_gemm(a->w, a->w_scales, a->k, r0, r1, a->q, a->scales, a->n_tokens, y, a->y_stride);
}

enum { I_RANDOM, I_MAX_POS, I_MAX_NEG };
static const char *i_pattern_name[] = {"random", "w=-127,q=-128", "w=+127,q=-128"};

static void check_i8_one(int64_t k, int64_t m, int64_t n_tokens, int pattern) {
    int8_t *w = guarded_alloc((size_t)(m * k));
    int8_t *q = guarded_alloc((size_t)(n_tokens * k));
    for (int64_t i = 0; i < m * k; i++)
        w[i] = pattern == I_RANDOM ? (int8_t)((int)rng_below(255) - 127)
                                   : pattern == I_MAX_POS ? -127 : 127;
    fill_q(q, (size_t)(n_tokens * k), pattern == I_RANDOM ? Q_RANDOM : Q_MIN);
    float *w_scales = xmalloc((size_t)m * sizeof(float));
    float *scales = xmalloc((size_t)n_tokens * sizeof(float));
    for (int64_t r = 0; r < m; r++) w_scales[r] = 1e-3f * (0.1f + rng_unit());
    for (int64_t t = 0; t < n_tokens; t++) scales[t] = 127.0f / (0.01f + 40.0f * rng_unit());
    const int64_t y_stride = m + 1;
    const i8_args args = {w, w_scales, k, q, scales, n_tokens, y_stride};
    float *yref = xmalloc((size_t)(n_tokens * y_stride) * sizeof(float));
    bn_kernels_ref()->i8_gemm(w, w_scales, k, 0, m, q, scales, n_tokens, yref, y_stride);
    char shape[160];
    snprintf(shape, sizeof shape, "k=%lld m=%lld n_tokens=%lld y_stride=%lld %s", (long long)k,
             (long long)m, (long long)n_tokens, (long long)y_stride, i_pattern_name[pattern]);
    check_gemm_case("i8_gemm", shape, call_i8, &args, m, n_tokens, y_stride, yref);
    guarded_free(w, (size_t)(m * k));
    guarded_free(q, (size_t)(n_tokens * k));
    free(w_scales); free(scales); free(yref);
}

static void check_i8(void) {
    static const int64_t ks[] = {32, 64, 96, 160, 2560};
    for (int s = 0; s < 5; s++) {
        const int64_t k = ks[s], m = (s & 1) ? 11 : 9;
        for (int64_t nt = 1; nt <= 17; nt++) check_i8_one(k, m, nt, I_RANDOM);
        for (int p = 1; p < 3; p++) {
            check_i8_one(k, m, 1, p);
            check_i8_one(k, m, 5, p);
        }
    }
    check_i8_one(2560, 53, 5, I_RANDOM); /* crosses the drivers' 64 KiB row chunks */
}

/* ------------------------------------------------------------------------------------------ */
/* quantize_row */

enum {
    X_NORMAL, X_OUTLIER, X_ZERO, X_TINY, X_DENORMAL, X_NAN, X_POS_INF, X_NEG_INF, X_TIES_1,
    X_TIES_HALF, X_HUGE, X_CONST_NEG, X_PATTERNS
};
static const char *x_pattern_name[] = {"normal", "outlier", "zeros", "tiny", "denormal",
                                       "nan", "+inf", "-inf", "ties(s=1)", "ties(s=0.5)",
                                       "flt_max", "constant-negative"};

static void fill_x(float *x, int64_t k, int pattern) {
    const float scale = ldexpf(1.0f, (int)rng_below(20) - 10);
    for (int64_t i = 0; i < k; i++) {
        float v = rng_normal() * scale;
        switch (pattern) {
        case X_ZERO: v = (i & 1) ? -0.0f : 0.0f; break;
        case X_TINY: v = rng_normal() * 3e-6f; break;
        case X_DENORMAL: v = f32_from_bits((uint32_t)(rng_u64() & 0x807fffffu)); break;
        case X_TIES_1: /* amax 127 -> s = 1: x*s is exactly n + 0.5 */
            v = (float)((int)rng_below(258) - 129) + 0.5f;
            if (rng_below(8) == 0) v = (float)((int)rng_below(256) - 128);
            break;
        case X_TIES_HALF: /* amax 254 -> s = 0.5: odd integers give exact halves */
            v = (float)(2 * ((int)rng_below(254) - 127) + 1);
            break;
        case X_CONST_NEG: v = -3.25f; break;
        default: break;
        }
        x[i] = v;
    }
    if (pattern == X_OUTLIER) x[rng_below((uint32_t)k)] = 300.0f * scale * (rng_below(2) ? 1 : -1);
    if (pattern == X_NAN) {
        static const uint32_t nans[] = {0x7fc00000u, 0xffc00000u, 0x7f800001u, 0xff812345u,
                                        0x7fbfffffu};
        const int64_t n = 1 + k / 7;
        for (int64_t j = 0; j < n; j++) x[rng_below((uint32_t)k)] = f32_from_bits(nans[j % 5]);
        x[k - 1] = f32_from_bits(0x7f800001u); /* one in the scalar tail too */
    }
    if (pattern == X_POS_INF) x[rng_below((uint32_t)k)] = INFINITY;
    if (pattern == X_NEG_INF) x[rng_below((uint32_t)k)] = -INFINITY;
    if (pattern == X_TIES_1) x[rng_below((uint32_t)k)] = (rng_below(2) ? 127.0f : -127.0f);
    if (pattern == X_TIES_HALF) x[rng_below((uint32_t)k)] = (rng_below(2) ? 254.0f : -254.0f);
    if (pattern == X_HUGE) {
        x[rng_below((uint32_t)k)] = 3.4028235e38f;
        x[rng_below((uint32_t)k)] = -3.4028235e38f;
    }
}

static void check_quantize_one(int64_t k, int pattern) {
    float *x = guarded_alloc((size_t)k * sizeof *x);
    fill_x(x, k, pattern);
    const size_t guard = 32;
    int8_t *qref = xmalloc((size_t)k + guard), *q = xmalloc((size_t)k + guard);
    float sref;
    int32_t sumref;
    memset(qref, 0x5a, (size_t)k + guard);
    bn_kernels_ref()->quantize_row(x, k, qref, &sref, &sumref);
    char shape[96];
    snprintf(shape, sizeof shape, "k=%lld x=%s", (long long)k, x_pattern_name[pattern]);
    for (int v = 0; v < g_nvars; v++) {
        float s = f32_from_bits(SENTINEL_BITS);
        int32_t sum = 0x12345678;
        memset(q, 0x5a, (size_t)k + guard);
        g_vars[v].t->quantize_row(x, k, q, &s, &sum);
        char detail[200];
        size_t i = 0;
        while (i < (size_t)k + guard && q[i] == qref[i]) i++;
        if (i < (size_t)k + guard) {
            snprintf(detail, sizeof detail, "q: first mismatch at index %zu%s: got %d, want %d", i,
                     i >= (size_t)k ? " (past the row)" : "", q[i], qref[i]);
            fail(g_vars[v].name, "quantize_row", shape, detail);
        } else if (f32_bits(s) != f32_bits(sref)) {
            snprintf(detail, sizeof detail, "scale: got %.9g (0x%08x), want %.9g (0x%08x)",
                     (double)s, (unsigned)f32_bits(s), (double)sref, (unsigned)f32_bits(sref));
            fail(g_vars[v].name, "quantize_row", shape, detail);
        } else if (sum != sumref) {
            snprintf(detail, sizeof detail, "sum: got %ld, want %ld", (long)sum, (long)sumref);
            fail(g_vars[v].name, "quantize_row", shape, detail);
        } else {
            pass();
        }
    }
    guarded_free(x, (size_t)k * sizeof *x);
    free(q); free(qref);
}

/* The reference against a plain restatement of docs/numerics.md#activation-quantization (nearbyintf = round half
 * even). */
static void check_ref_quantize_oracle(int64_t k, int pattern) {
    float *x = xmalloc((size_t)k * sizeof *x);
    int8_t *q = xmalloc((size_t)k);
    fill_x(x, k, pattern);
    float s;
    int32_t sum;
    bn_kernels_ref()->quantize_row(x, k, q, &s, &sum);
    double amax = 1e-5;
    for (int64_t i = 0; i < k; i++)
        if (!isnan(x[i]) && fabs((double)x[i]) > amax) amax = fabs((double)x[i]);
    const float s_want = (float)(127.0 / amax);
    int32_t sum_want = 0;
    int ok = f32_bits(s) == f32_bits(s_want);
    for (int64_t i = 0; i < k && ok; i++) {
        const float v = x[i] * s_want;
        const int n = isnan(v) ? -128 : v < -128.0f ? -128 : v > 127.0f ? 127 : (int)nearbyintf(v);
        ok = q[i] == n;
        sum_want += n;
    }
    char shape[96];
    snprintf(shape, sizeof shape, "spec 1.4 oracle k=%lld x=%s", (long long)k,
             x_pattern_name[pattern]);
    if (ok && sum == sum_want) pass();
    else fail("ref", "quantize_row", shape, "differs from the spec restatement");
    free(x);
    free(q);
}

static void check_quantize(void) {
    for (int64_t k = 1; k <= 300; k++) {
        for (int p = 0; p < X_PATTERNS; p++) check_quantize_one(k, p);
    }
    static const int64_t big[] = {2560, 4096, 6912};
    for (int i = 0; i < 3; i++)
        for (int p = 0; p < X_PATTERNS; p++) check_quantize_one(big[i], p);
    for (int p = 0; p < X_PATTERNS; p++) {
        check_ref_quantize_oracle(61, p);
        check_ref_quantize_oracle(2560, p);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* read_sum */

static void check_read_sum(void) {
    static const size_t ns[] = {256, 512, 768, 4096, 65536 + 256};
    for (int s = 0; s < 5; s++) {
        for (int pattern = 0; pattern < 2; pattern++) {
            const size_t n = ns[s];
            uint8_t *p = aligned64_alloc(n);
            for (size_t i = 0; i < n; i++) p[i] = pattern ? 0xff : (uint8_t)rng_u64();
            const uint64_t want = bn_kernels_ref()->read_sum(p, n);
            char shape[64];
            snprintf(shape, sizeof shape, "n=%zu %s", n, pattern ? "all-0xff" : "random");
            for (int v = 0; v < g_nvars; v++) {
                const uint64_t got = g_vars[v].t->read_sum(p, n);
                if (got == want) {
                    pass();
                } else {
                    char detail[120];
                    snprintf(detail, sizeof detail, "got 0x%016llx, want 0x%016llx",
                             (unsigned long long)got, (unsigned long long)want);
                    fail(g_vars[v].name, "read_sum", shape, detail);
                }
            }
            aligned64_free(p);
        }
    }
}

/* ------------------------------------------------------------------------------------------ */

static void check_entries_present(void) {
    for (int v = 0; v < g_nvars; v++) {
        const bn_kernel_table *t = g_vars[v].t;
        if (t->i2s_gemm && t->f16_gemm && t->i8_gemm && t->quantize_row && t->read_sum) {
            pass();
        } else {
            fail(g_vars[v].name, "table", "entries", "an entry is NULL");
            g_vars[v] = g_vars[--g_nvars]; /* cannot call it */
            v--;
        }
    }
}

int main(int argc, char **argv) {
    const unsigned long long seed = argc > 1 ? strtoull(argv[1], NULL, 10) : 1;
    g_rng = seed;
    printf("# kernel_check seed %llu\n", seed);

    add_variant("avx2", bn_kernels_avx2);
    add_variant("avx512", bn_kernels_avx512);
    add_variant("neon", bn_kernels_neon);
    add_variant("dotprod", bn_kernels_dotprod);
    check_entries_present();

    check_ref_i2s_layout();
    check_quantize();
    check_i2s();
    check_f16();
    check_i8();
    check_read_sum();

    printf("%ld passed, %ld failed\n", g_passed, g_failed);
    return g_failed == 0 ? 0 : 1;
}
