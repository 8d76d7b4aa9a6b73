/*
 * windows_check.c: runs the library's Windows code paths (Win32 threads, SRW lock and condition
 * variable in platform.c, ReadFile with an OVERLAPPED offset in file_read.c, the CPU probe and
 * the export macros) on Windows or under Wine.
 *
 * Linked statically with every object of the library, cross-compiled with MinGW-w64
 * (tests/native/test_windows_wine.py; by hand: native/tests/README.md). It checks:
 *   platform    aligned allocation, the monotonic clock, atomics from several threads,
 *               condition-variable hand-offs between two threads;
 *   file_read   reads at offsets across a file and at its last byte, reads past the end (must
 *               fail), a missing file, a folder, an invalid UTF-8 path, a non-ASCII UTF-8 name,
 *               a file another handle is writing, deleting the file while it is open, concurrent
 *               reads, and offsets above 4 GiB in a sparse file (OVERLAPPED.OffsetHigh);
 *   threadpool  pools of 1, 2, 3 and 8 threads: thousands of jobs of 1 to 1000 tasks (fewer and
 *               more tasks than threads), every task exactly once per job; jobs after the workers
 *               went to sleep; uneven tasks; pools created and freed repeatedly;
 *   api         through bitnet.h: the CPU probe against the compiler's own CPU check, the kernel
 *               choice, contexts of several threads giving the reference's results bit for bit,
 *               cancellation, one context shared by three threads.
 *
 * Scratch files go to the current folder and are deleted. Output: one "ok <check>" or
 * "FAIL <check>: <why>" line per check, "#" lines for information and for a check that could
 * not run (with the reason); the last line is "N passed, M failed". Exit status 0 iff M == 0.
 * A check that hangs for WATCHDOG_S seconds fails the run (exit status 3).
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <winioctl.h>

#include <cpuid.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/bitnet.h"
#include "../src/file_read.h"
#include "../src/platform.h"
#include "../src/threadpool.h"

#define WATCHDOG_S 60

/* ------------------------------------------------------------------------------------------ */
/* tallies, reporting, and the watchdog */

static volatile LONG g_passed, g_failed;

/* Records one check: "ok <name>" or "FAIL <name>: <why>". */
static void check(int ok, const char *why, const char *name_fmt, ...) {
    char name[240];
    va_list args;
    va_start(args, name_fmt);
    vsnprintf(name, sizeof name, name_fmt, args);
    va_end(args);
    if (ok) {
        InterlockedIncrement(&g_passed);
        printf("ok %s\n", name);
    } else {
        InterlockedIncrement(&g_failed);
        printf("FAIL %s: %s\n", name, why ? why : "check failed");
    }
}

static DWORD WINAPI watchdog_main(LPVOID unused) {
    (void)unused;
    LONG last = -1;
    int idle_s = 0;
    for (;;) {
        Sleep(1000);
        const LONG done = g_passed + g_failed;
        if (done != last) {
            last = done;
            idle_s = 0;
        } else if (++idle_s >= WATCHDOG_S) {
            printf("FAIL watchdog: no check finished for %d s (a hang after check %ld)\n",
                   WATCHDOG_S, (long)done);
            printf("%ld passed, %ld failed\n", (long)g_passed, (long)g_failed + 1);
            fflush(stdout);
            ExitProcess(3);
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* platform.c */

typedef struct {
    volatile int64_t *counter64;
    volatile int32_t *counter32;
    int adds;
} add_work;

static void add_many(void *arg) {
    const add_work *w = (const add_work *)arg;
    for (int i = 0; i < w->adds; i++) {
        bn_atomic_add64(w->counter64, 3);
        bn_atomic_add32(w->counter32, 1);
    }
}

/* Two threads hand a token back and forth: `turn` says whose it is. */
typedef struct {
    bn_mutex lock;
    bn_cond changed;
    int turn, rounds;
} handoff;

static void handoff_partner(void *arg) {
    handoff *h = (handoff *)arg;
    for (int i = 0; i < h->rounds; i++) {
        bn_mutex_lock(&h->lock);
        while (h->turn != 1) bn_cond_wait(&h->changed, &h->lock);
        h->turn = 0;
        bn_cond_broadcast(&h->changed);
        bn_mutex_unlock(&h->lock);
    }
}

static void check_platform(void) {
    int aligned = 1;
    static const size_t alignments[] = {16, 64, 4096};
    for (int i = 0; i < 3; i++) {
        for (size_t size = 0; size < 5000; size += 1237) {
            unsigned char *p = bn_aligned_alloc(alignments[i], size);
            if (!p || (uintptr_t)p % alignments[i] != 0) aligned = 0;
            if (p) memset(p, 0x5a, size);
            bn_aligned_free(p);
        }
    }
    check(aligned, NULL, "platform: bn_aligned_alloc at alignments 16, 64, 4096 (sizes 0..4948)");

    const double t0 = bn_now_seconds();
    Sleep(30);
    const double waited = bn_now_seconds() - t0;
    char why[120];
    snprintf(why, sizeof why, "a 30 ms Sleep measured %.6f s", waited);
    check(waited >= 0.02 && waited < 5.0, why, "platform: bn_now_seconds advances across Sleep(30)");

    volatile int64_t counter64 = 0;
    volatile int32_t counter32 = 0;
    add_work work = {&counter64, &counter32, 100000};
    bn_thread threads[4];
    int started = 0;
    for (int i = 0; i < 4; i++) started += bn_thread_start(&threads[i], add_many, &work) == 0;
    for (int i = 0; i < started; i++) bn_thread_join(threads[i]);
    check(started == 4 && counter64 == 4 * 3 * 100000 && counter32 == 4 * 100000, NULL,
          "platform: 4 threads x 100000 atomic adds (32 and 64 bit) sum exactly");

    handoff h = {.turn = 0, .rounds = 2000};
    bn_mutex_init(&h.lock);
    bn_cond_init(&h.changed);
    bn_thread partner;
    const int partner_started = bn_thread_start(&partner, handoff_partner, &h) == 0;
    for (int i = 0; partner_started && i < h.rounds; i++) {
        bn_mutex_lock(&h.lock);
        while (h.turn != 0) bn_cond_wait(&h.changed, &h.lock);
        h.turn = 1;
        bn_cond_broadcast(&h.changed);
        bn_mutex_unlock(&h.lock);
    }
    if (partner_started) bn_thread_join(partner);
    bn_cond_destroy(&h.changed);
    bn_mutex_destroy(&h.lock);
    check(partner_started && h.turn == 0, NULL,
          "platform: 2000 condition-variable hand-offs between two threads");
}

/* ------------------------------------------------------------------------------------------ */
/* file_read.c */

#define FOUR_GIB ((uint64_t)1 << 32)

/* The byte the test files hold at `offset`. Differs between offsets 4 GiB apart, so a read that
 * lost OVERLAPPED.OffsetHigh returns the wrong bytes. */
static uint8_t file_byte(uint64_t offset) {
    return (uint8_t)(((offset + 1) * 0x9e3779b97f4a7c15ULL) >> 56);
}

static int widen(const char *utf8, wchar_t *out, int out_len) {
    return MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, out, out_len) > 0;
}

static HANDLE create_for_writing(const char *path, DWORD share) {
    wchar_t wide[MAX_PATH];
    if (!widen(path, wide, MAX_PATH)) return INVALID_HANDLE_VALUE;
    return CreateFileW(wide, GENERIC_READ | GENERIC_WRITE, share, NULL, CREATE_ALWAYS,
                       FILE_ATTRIBUTE_NORMAL, NULL);
}

static int delete_file(const char *path) {
    wchar_t wide[MAX_PATH];
    return widen(path, wide, MAX_PATH) && DeleteFileW(wide);
}

/* Writes file_byte() over [offset, offset + len). */
static int write_pattern(HANDLE h, uint64_t offset, uint64_t len) {
    static uint8_t chunk[65536];
    while (len > 0) {
        const DWORD n = len < sizeof chunk ? (DWORD)len : (DWORD)sizeof chunk;
        for (DWORD i = 0; i < n; i++) chunk[i] = file_byte(offset + i);
        OVERLAPPED at = {0};
        at.Offset = (DWORD)offset;
        at.OffsetHigh = (DWORD)(offset >> 32);
        DWORD wrote = 0;
        if (!WriteFile(h, chunk, n, &wrote, &at) || wrote != n) return 0;
        offset += n;
        len -= n;
    }
    return 1;
}

static int create_pattern_file(const char *path, uint64_t size) {
    HANDLE h = create_for_writing(path, 0);
    if (h == INVALID_HANDLE_VALUE) return 0;
    const int ok = write_pattern(h, 0, size);
    return CloseHandle(h) && ok;
}

/* bn_file_read_at of len bytes at offset succeeds with file_byte() (zeros in a hole) and writes
 * nothing past len. */
static int read_matches(bn_file *f, uint64_t offset, size_t len, int hole) {
    uint8_t *buf = malloc(len + 64);
    if (!buf) return 0;
    memset(buf, 0xa5, len + 64);
    int ok = bn_file_read_at(f, buf, len, offset) == 0;
    for (size_t i = 0; ok && i < len; i++) ok = buf[i] == (hole ? 0 : file_byte(offset + i));
    for (size_t i = len; ok && i < len + 64; i++) ok = buf[i] == 0xa5;
    free(buf);
    return ok;
}

static int read_fails(bn_file *f, uint64_t offset, size_t len) {
    uint8_t buf[16];
    return len <= sizeof buf && bn_file_read_at(f, buf, len, offset) == -1;
}

typedef struct {
    bn_file *f;
    uint64_t size, seed;
    int reads, bad;
} reader_work;

static void read_randomly(void *arg) {
    reader_work *w = (reader_work *)arg;
    uint64_t s = w->seed;
    for (int i = 0; i < w->reads; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        const size_t len = 1 + (size_t)((s >> 20) % 5000);
        const uint64_t offset = (s >> 33) % (w->size - len + 1);
        if (!read_matches(w->f, offset, len, 0)) w->bad++;
    }
}

static void check_file_reads(void) {
    const char *path = "windows_check_data.bin";
    const uint64_t size = 3 * 65536 + 4097; /* odd, several 64 KiB chunks */
    if (!create_pattern_file(path, size)) {
        check(0, "could not write the test file", "file_read: test file written");
        return;
    }
    bn_file *f = NULL;
    uint64_t got_size = 0;
    const int opened = bn_file_open(path, &f, &got_size) == 0 && f;
    check(opened && got_size == size, NULL, "file_read: open a %llu-byte file, size reported",
          (unsigned long long)size);
    if (!opened) {
        delete_file(path);
        return;
    }

    static const struct { uint64_t offset; size_t len; } reads[] = {
        {0, 1}, {1, 7}, {4095, 2}, {65535, 65538}, {0, 3 * 65536 + 4097},
        {3 * 65536 + 4096, 1}, /* the last byte */ {3 * 65536 + 4090, 7}, {3 * 65536 + 4097, 0},
    };
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
        check(read_matches(f, reads[i].offset, reads[i].len, 0), NULL,
              "file_read: %llu bytes at offset %llu", (unsigned long long)reads[i].len,
              (unsigned long long)reads[i].offset);
    }
    static const struct { uint64_t offset; size_t len; } past_end[] = {
        {3 * 65536 + 4096, 2}, {3 * 65536 + 4097, 1}, {3 * 65536 + 9000, 1}, {FOUR_GIB + 1, 1},
    };
    for (size_t i = 0; i < sizeof past_end / sizeof past_end[0]; i++) {
        check(read_fails(f, past_end[i].offset, past_end[i].len),
              "returned 0: a short read must fail",
              "file_read: %llu bytes at offset %llu fail (past the end)",
              (unsigned long long)past_end[i].len, (unsigned long long)past_end[i].offset);
    }

    reader_work work[4];
    bn_thread threads[4];
    int started = 0;
    for (int i = 0; i < 4; i++) {
        work[i] = (reader_work){f, size, 1000 + (uint64_t)i, 400, 0};
        started += bn_thread_start(&threads[i], read_randomly, &work[i]) == 0;
    }
    for (int i = 0; i < started; i++) bn_thread_join(threads[i]);
    int bad = 0;
    for (int i = 0; i < started; i++) bad += work[i].bad;
    check(started == 4 && bad == 0, "wrong bytes or a failed read",
          "file_read: 4 threads x 400 reads at random offsets of one open file");

    /* The app keeps the model file mapped and may replace it: the handle shares deletion. */
    wchar_t wide[MAX_PATH];
    const int deleted = widen(path, wide, MAX_PATH) && DeleteFileW(wide);
    check(deleted && read_matches(f, 12345, 1000, 0), NULL,
          "file_read: the file can be deleted while open, and the open file still reads");
    bn_file_close(f);
    if (!deleted) delete_file(path);
}

static void check_file_opens(void) {
    bn_file *f = (bn_file *)1;
    uint64_t size = 0;
    check(bn_file_open("windows_check_missing.bin", &f, &size) == -1 && f == NULL, NULL,
          "file_read: a missing file fails to open");
    check(bn_file_open(".", &f, &size) == -1 && f == NULL, NULL,
          "file_read: a folder fails to open");
    check(bn_file_open("bad\xff\xfe.bin", &f, &size) == -1 && f == NULL, NULL,
          "file_read: an invalid UTF-8 path fails to open");

    /* "u with diaeresis" and the two CJK characters for "model", as UTF-8 bytes. */
    const char *unicode = "windows_check_\xc3\xbc_\xe6\xa8\xa1\xe5\x9e\x8b.bin";
    const int written = create_pattern_file(unicode, 1000);
    const int opened = written && bn_file_open(unicode, &f, &size) == 0;
    check(opened && size == 1000 && read_matches(f, 990, 10, 0), NULL,
          "file_read: a UTF-8 name with non-ASCII characters opens and reads");
    if (opened) bn_file_close(f);
    if (written) delete_file(unicode);

    const char *shared = "windows_check_shared.bin";
    HANDLE writer = create_for_writing(shared, FILE_SHARE_READ | FILE_SHARE_WRITE);
    const int have_writer = writer != INVALID_HANDLE_VALUE && write_pattern(writer, 0, 5000);
    const int opened_shared = have_writer && bn_file_open(shared, &f, &size) == 0;
    check(opened_shared && size == 5000 && read_matches(f, 4000, 1000, 0), NULL,
          "file_read: opens and reads a file another handle has open for writing");
    if (opened_shared) bn_file_close(f);
    if (writer != INVALID_HANDLE_VALUE) CloseHandle(writer);
    delete_file(shared);
}

/* A sparse file a little over 4 GiB, with data at 12345, around 4 GiB, at 4 GiB + 12345 and
 * in its last bytes; the rest are holes. */
static void check_file_above_4gib(void) {
    const char *path = "windows_check_sparse.bin";
    const uint64_t size = FOUR_GIB + 65539;
    HANDLE h = create_for_writing(path, 0);
    if (h == INVALID_HANDLE_VALUE) {
        check(0, "could not create it", "file_read: sparse test file created");
        return;
    }
    DWORD unused = 0, error = 0;
    LARGE_INTEGER end;
    end.QuadPart = (LONGLONG)size;
    if (!DeviceIoControl(h, FSCTL_SET_SPARSE, NULL, 0, NULL, 0, &unused, NULL) ||
        !SetFilePointerEx(h, end, NULL, FILE_BEGIN) || !SetEndOfFile(h)) {
        error = GetLastError();
        CloseHandle(h);
        delete_file(path);
        printf("# skip file_read above 4 GiB: the filesystem refused a sparse %llu-byte file "
               "(error %lu)\n", (unsigned long long)size, (unsigned long)error);
        return;
    }
    const int written = write_pattern(h, 12345, 4096) && write_pattern(h, FOUR_GIB - 100, 200) &&
                        write_pattern(h, FOUR_GIB + 12345, 4096) && write_pattern(h, size - 3, 3);
    CloseHandle(h);
    check(written, NULL, "file_read: markers written into a sparse file above 4 GiB");

    bn_file *f = NULL;
    uint64_t got_size = 0;
    const int opened = written && bn_file_open(path, &f, &got_size) == 0;
    check(opened && got_size == size, NULL, "file_read: a %llu-byte sparse file reports its size",
          (unsigned long long)size);
    if (opened) {
        check(read_matches(f, 12345, 4096, 0), NULL, "file_read: 4096 bytes at offset 12345");
        check(read_matches(f, FOUR_GIB + 12345, 4096, 0), NULL,
              "file_read: 4096 bytes at offset 4 GiB + 12345 (not the bytes at 12345)");
        check(read_matches(f, FOUR_GIB - 100, 200, 0), NULL,
              "file_read: 200 bytes across the 4 GiB boundary");
        check(read_matches(f, FOUR_GIB + 30000, 4096, 1), NULL,
              "file_read: 4096 bytes of a hole above 4 GiB read as zeros");
        check(read_matches(f, size - 1, 1, 0), NULL, "file_read: the last byte, above 4 GiB");
        check(read_fails(f, size - 1, 2) && read_fails(f, size, 1), NULL,
              "file_read: reads past the end of the sparse file fail");
        bn_file_close(f);
    }
    delete_file(path);
}

/* ------------------------------------------------------------------------------------------ */
/* threadpool.c */

#define MAX_TASKS 1024

typedef struct {
    volatile int32_t runs[MAX_TASKS + 1]; /* per task: how many times it ran; +1 catches overruns */
    volatile int32_t by_thread[BN_MAX_THREADS];
    volatile int32_t bad_thread_index;
    int n_threads;
} count_job;

static void count_task(void *arg, int64_t task, int thread_index) {
    count_job *j = (count_job *)arg;
    bn_atomic_add32(&j->runs[task], 1);
    if (thread_index < 0 || thread_index >= j->n_threads) bn_atomic_store32(&j->bad_thread_index, 1);
    else bn_atomic_add32(&j->by_thread[thread_index], 1);
}

static void uneven_task(void *arg, int64_t task, int thread_index) {
    if (task % 5 == 0) {
        Sleep(2);
    } else {
        volatile int sink = 0;
        for (int i = 0; i < (int)(task % 7) * 20000; i++) sink += i;
    }
    count_task(arg, task, thread_index);
}

/* Every task of the last job ran exactly once and nothing past n_tasks; resets the counts.
 * Returns the number of threads that ran tasks. */
static int job_ran_once(count_job *j, int64_t n_tasks, char *why, size_t why_len) {
    int ok = !j->bad_thread_index;
    if (!ok) snprintf(why, why_len, "a task got a thread index outside [0, %d)", j->n_threads);
    for (int64_t i = 0; i <= n_tasks && i <= MAX_TASKS; i++) {
        const int32_t want = i < n_tasks ? 1 : 0;
        if (ok && j->runs[i] != want) {
            snprintf(why, why_len, "job of %lld tasks: task %lld ran %ld times",
                     (long long)n_tasks, (long long)i, (long)j->runs[i]);
            ok = 0;
        }
        j->runs[i] = 0;
    }
    int threads_used = 0;
    for (int t = 0; t < j->n_threads; t++) {
        threads_used += j->by_thread[t] != 0;
        j->by_thread[t] = 0;
    }
    j->bad_thread_index = 0;
    return ok ? threads_used : -1;
}

static void check_pool(int n_threads, int n_jobs) {
    bn_pool *pool = bn_pool_create(n_threads);
    check(pool && bn_pool_threads(pool) == n_threads, NULL, "threadpool: create %d threads",
          n_threads);
    if (!pool) return;
    static count_job job;
    memset((void *)&job, 0, sizeof job);
    job.n_threads = n_threads;
    char why[160] = "";

    const int64_t sizes[] = {1, 2, 3, 5, 7, 8, 9, 16, 64, 250, 1000,
                             n_threads > 1 ? n_threads - 1 : 1, n_threads, n_threads + 1};
    const int n_sizes = (int)(sizeof sizes / sizeof sizes[0]);
    int ok = 1;
    for (int i = 0; ok && i < n_jobs; i++) {
        const int64_t n_tasks = sizes[i % n_sizes];
        bn_pool_run(pool, count_task, &job, n_tasks);
        ok = job_ran_once(&job, n_tasks, why, sizeof why) >= 0;
    }
    check(ok, why, "threadpool %d threads: %d jobs of 1 to 1000 tasks, each task exactly once",
          n_threads, n_jobs);

    ok = 1;
    for (int i = 0; ok && i < 4; i++) {
        Sleep(20); /* past the workers' spin: they wait on the condition variable */
        bn_pool_run(pool, count_task, &job, 2 * n_threads + 1);
        ok = job_ran_once(&job, 2 * n_threads + 1, why, sizeof why) >= 0;
    }
    check(ok, why, "threadpool %d threads: 4 jobs after the workers went to sleep", n_threads);

    bn_pool_run(pool, uneven_task, &job, 40);
    const int used = job_ran_once(&job, 40, why, sizeof why);
    if (used >= 0 && used < (n_threads > 1 ? 2 : 1)) {
        snprintf(why, sizeof why, "only %d thread(s) ran tasks", used);
    }
    check(used >= (n_threads > 1 ? 2 : 1), why,
          "threadpool %d threads: 40 tasks of uneven length, each once, %d threads took part",
          n_threads, used);
    bn_pool_free(pool);
}

/* With more threads than CPUs every job waits milliseconds for a descheduled spinning worker. */
static int jobs_for(int n_threads) {
    SYSTEM_INFO info;
    GetSystemInfo(&info);
    return n_threads <= (int)info.dwNumberOfProcessors ? 3000 : 200;
}

static void check_pools(void) {
    check(!bn_pool_create(0) && !bn_pool_create(BN_MAX_THREADS + 1), NULL,
          "threadpool: 0 and %d threads are refused", BN_MAX_THREADS + 1);
    static const int thread_counts[] = {1, 2, 3, 8};
    for (int i = 0; i < 4; i++) check_pool(thread_counts[i], jobs_for(thread_counts[i]));

    static count_job job;
    int ok = 1;
    char why[160] = "";
    for (int i = 0; ok && i < 30; i++) {
        const int n_threads = i % 2 ? 8 : 3;
        bn_pool *pool = bn_pool_create(n_threads);
        if (!pool) { ok = 0; snprintf(why, sizeof why, "create %d failed", n_threads); break; }
        if (i % 3 == 0) {
            job.n_threads = n_threads;
            bn_pool_run(pool, count_task, &job, 100);
            ok = job_ran_once(&job, 100, why, sizeof why) >= 0;
        } /* else freed right away, while its workers may still be starting */
        bn_pool_free(pool);
    }
    check(ok, why, "threadpool: 30 pools of 3 and 8 threads created and freed, some with a job");
}

/* ------------------------------------------------------------------------------------------ */
/* the public API: CPU probe, kernel choice, contexts */

#define MM_M 200 /* not a multiple of the 16-row tasks */
#define MM_K 512
#define MM_TOKENS 3

typedef struct {
    uint8_t w[MM_M * MM_K / 4 + BN_I2S_TAIL_BYTES];
    float x[MM_TOKENS * MM_K];
} matmul_inputs;

static int i2s_matmul(bn_ctx *ctx, const matmul_inputs *in, float *y) {
    static int8_t q[MM_TOKENS * MM_K];
    float scales[MM_TOKENS];
    int32_t sums[MM_TOKENS];
    int status = bn_quantize_activations(ctx, in->x, MM_TOKENS, MM_K, q, sizeof q, scales, sums);
    if (status != BN_OK) return status;
    return bn_i2s_matmul(ctx, in->w, sizeof in->w, MM_M, MM_K, q, sizeof q, scales, sums,
                         MM_TOKENS, y, MM_TOKENS * MM_M);
}

static int make_inputs(matmul_inputs *in) {
    static int8_t t[MM_M * MM_K];
    uint64_t s = 7;
    for (int i = 0; i < MM_M * MM_K; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        t[i] = (int8_t)((s >> 40) % 3) - 1;
    }
    for (int i = 0; i < MM_TOKENS * MM_K; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        in->x[i] = (float)((int64_t)(s >> 40) - (1 << 23)) / (float)(1 << 20);
    }
    return bn_i2s_pack(t, sizeof t, MM_M, MM_K, 0.75f, in->w, sizeof in->w) == BN_OK;
}

static int cpu_has_f16c(void) {
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && ((c >> 29) & 1);
}

static void check_cpu_probe(void) {
    check(bn_abi_version() == BN_ABI_VERSION, NULL, "api: bn_abi_version() is %d", BN_ABI_VERSION);
    check(strcmp(bn_cpu_arch(), "x86_64") == 0, bn_cpu_arch(), "api: bn_cpu_arch() is x86_64");

    __builtin_cpu_init();
    const uint32_t features = bn_cpu_features();
    const struct { const char *name; uint32_t bit; int has; } agree[] = {
        {"avx", BN_CPU_AVX, __builtin_cpu_supports("avx")},
        {"avx2", BN_CPU_AVX2, __builtin_cpu_supports("avx2")},
        {"fma", BN_CPU_FMA, __builtin_cpu_supports("fma")},
        {"f16c", BN_CPU_F16C, cpu_has_f16c() && __builtin_cpu_supports("avx")},
        {"avx512f", BN_CPU_AVX512F, __builtin_cpu_supports("avx512f")},
        {"avx512bw", BN_CPU_AVX512BW, __builtin_cpu_supports("avx512bw")},
        {"avx512vnni", BN_CPU_AVX512VNNI, __builtin_cpu_supports("avx512vnni")},
    };
    for (size_t i = 0; i < sizeof agree / sizeof agree[0]; i++) {
        check(((features & agree[i].bit) != 0) == (agree[i].has != 0), NULL,
              "api: CPU probe and the compiler's CPU check agree on %s (%s)", agree[i].name,
              agree[i].has ? "present" : "absent");
    }

    char brand[64], names[200] = "";
    bn_cpu_brand(brand, sizeof brand);
    for (int bit = 0; bit < BN_CPU_FEATURE_COUNT; bit++) {
        if (features & (1u << bit)) {
            strncat(names, " ", sizeof names - strlen(names) - 1);
            strncat(names, bn_cpu_feature_name(bit), sizeof names - strlen(names) - 1);
        }
    }
    const int best = bn_kernel_best();
    printf("# cpu: %s; features:%s; best kernel: %s\n", brand, names, bn_kernel_name(best));

    const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                     cpu_has_f16c();
    const int avx512 = avx2 && __builtin_cpu_supports("avx512f") &&
                       __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                       __builtin_cpu_supports("avx512vnni");
    const int want = avx512 ? BN_KERNEL_AVX512 : avx2 ? BN_KERNEL_AVX2 : BN_KERNEL_REF;
    check(best == want && bn_kernel_supported(best), NULL,
          "api: best kernel is %s, the fastest this CPU runs", bn_kernel_name(want));
    check(bn_kernel_compiled(BN_KERNEL_AVX2) && bn_kernel_compiled(BN_KERNEL_AVX512) &&
              !bn_kernel_supported(BN_KERNEL_NEON) && !bn_kernel_supported(BN_KERNEL_DOTPROD),
          NULL, "api: avx2 and avx512 compiled in, neon and dotprod not supported on x86-64");
}

typedef struct {
    bn_ctx *ctx;
    const matmul_inputs *in;
    const float *want;
    int calls, bad;
    float y[MM_TOKENS * MM_M];
} sharer_work;

static void share_context(void *arg) {
    sharer_work *w = (sharer_work *)arg;
    for (int i = 0; i < w->calls; i++) {
        if (i2s_matmul(w->ctx, w->in, w->y) != BN_OK || memcmp(w->y, w->want, sizeof w->y))
            w->bad++;
    }
}

static void check_contexts(void) {
    static matmul_inputs in;
    static float want[MM_TOKENS * MM_M], y[MM_TOKENS * MM_M];
    bn_ctx *ref = NULL;
    const int ready = make_inputs(&in) && bn_ctx_create(1, BN_KERNEL_REF, &ref) == BN_OK &&
                      i2s_matmul(ref, &in, want) == BN_OK;
    check(ready, NULL, "api: reference result on 1 thread");
    bn_ctx_free(ref);
    if (!ready) return;

    const int best = bn_kernel_best();
    static const int thread_counts[] = {1, 2, 3, 8};
    for (int i = 0; i < 4; i++) {
        bn_ctx *ctx = NULL;
        const int created = bn_ctx_create(thread_counts[i], best, &ctx) == BN_OK;
        memset(y, 0xff, sizeof y);
        check(created && bn_ctx_threads(ctx) == thread_counts[i] && bn_ctx_kernel(ctx) == best &&
                  i2s_matmul(ctx, &in, y) == BN_OK && memcmp(y, want, sizeof y) == 0,
              NULL, "api: context of %d threads, kernel %s: i2s matmul equals the reference",
              thread_counts[i], bn_kernel_name(best));
        bn_ctx_free(ctx);
    }

    bn_ctx *ctx = NULL;
    check(bn_ctx_create(0, best, &ctx) == BN_ERR_THREADS && !ctx &&
              bn_ctx_create(BN_MAX_THREADS + 1, best, &ctx) == BN_ERR_THREADS && !ctx,
          NULL, "api: contexts of 0 and %d threads are refused", BN_MAX_THREADS + 1);

    if (bn_ctx_create(1, best, &ctx) != BN_OK) {
        check(0, NULL, "api: context created");
        return;
    }
    int ok = 1;
    static const int resize[] = {8, 3, 2, 1};
    for (int i = 0; i < 4; i++) {
        memset(y, 0xff, sizeof y);
        ok = ok && bn_ctx_set_threads(ctx, resize[i]) == BN_OK && bn_ctx_threads(ctx) == resize[i] &&
             i2s_matmul(ctx, &in, y) == BN_OK && memcmp(y, want, sizeof y) == 0;
    }
    check(ok, NULL, "api: bn_ctx_set_threads 8, 3, 2, 1 keeps the results");

    bn_ctx_set_threads(ctx, 4);
    bn_ctx_cancel(ctx);
    const int refused = bn_ctx_cancelled(ctx) && i2s_matmul(ctx, &in, y) == BN_ERR_CANCELLED;
    bn_ctx_clear_cancel(ctx);
    check(refused && i2s_matmul(ctx, &in, y) == BN_OK && memcmp(y, want, sizeof y) == 0, NULL,
          "api: a cancelled context refuses work and works again after clearing");

    static sharer_work work[3];
    bn_thread threads[3];
    int started = 0;
    for (int i = 0; i < 3; i++) {
        work[i] = (sharer_work){.ctx = ctx, .in = &in, .want = want, .calls = 20};
        started += bn_thread_start(&threads[i], share_context, &work[i]) == 0;
    }
    for (int i = 0; i < started; i++) bn_thread_join(threads[i]);
    int bad = 0;
    for (int i = 0; i < started; i++) bad += work[i].bad;
    check(started == 3 && bad == 0, "a call failed or differed",
          "api: 3 threads x 20 matmuls on one context of 4 threads (calls serialised)");
    bn_ctx_free(ctx);
}

/* ------------------------------------------------------------------------------------------ */

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0); /* every line out before a crash */
    HANDLE watchdog = CreateThread(NULL, 0, watchdog_main, NULL, 0, NULL);
    if (!watchdog) printf("# watchdog thread not started: a hang will not be reported\n");

    check_platform();
    check_file_reads();
    check_file_opens();
    check_file_above_4gib();
    check_pools();
    check_cpu_probe();
    check_contexts();

    printf("%ld passed, %ld failed\n", (long)g_passed, (long)g_failed);
    return g_failed == 0 ? 0 : 1;
}
