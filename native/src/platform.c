/* platform.c: POSIX and Win32 implementations of platform.h. */
#include "platform.h"

#include <stdlib.h>

#if defined(_WIN32)

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

/* Compile-time size checks (an array of size -1 does not compile). */
typedef char bn_mutex_is_srwlock[sizeof(bn_mutex) == sizeof(SRWLOCK) ? 1 : -1];
typedef char bn_cond_is_condition_variable[sizeof(bn_cond) == sizeof(CONDITION_VARIABLE) ? 1 : -1];

typedef struct { void (*fn)(void *); void *arg; } start_info;

static DWORD WINAPI thread_entry(LPVOID p) {
    start_info info = *(start_info *)p;
    free(p);
    info.fn(info.arg);
    return 0;
}

int bn_thread_start(bn_thread *t, void (*fn)(void *), void *arg) {
    start_info *info = (start_info *)malloc(sizeof *info);
    if (!info) return -1;
    info->fn = fn;
    info->arg = arg;
    *t = CreateThread(NULL, 0, thread_entry, info, 0, NULL);
    if (*t == NULL) { free(info); return -1; }
    return 0;
}
void bn_thread_join(bn_thread t) { WaitForSingleObject(t, INFINITE); CloseHandle(t); }
void bn_mutex_init(bn_mutex *m) { InitializeSRWLock((PSRWLOCK)m); }
void bn_mutex_destroy(bn_mutex *m) { (void)m; }
void bn_mutex_lock(bn_mutex *m) { AcquireSRWLockExclusive((PSRWLOCK)m); }
void bn_mutex_unlock(bn_mutex *m) { ReleaseSRWLockExclusive((PSRWLOCK)m); }
void bn_cond_init(bn_cond *c) { InitializeConditionVariable((PCONDITION_VARIABLE)c); }
void bn_cond_destroy(bn_cond *c) { (void)c; }
void bn_cond_wait(bn_cond *c, bn_mutex *m) {
    SleepConditionVariableSRW((PCONDITION_VARIABLE)c, (PSRWLOCK)m, INFINITE, 0);
}
void bn_cond_broadcast(bn_cond *c) { WakeAllConditionVariable((PCONDITION_VARIABLE)c); }
void *bn_aligned_alloc(size_t alignment, size_t size) { return _aligned_malloc(size ? size : 1, alignment); }
void bn_aligned_free(void *p) { _aligned_free(p); }
double bn_now_seconds(void) {
    LARGE_INTEGER f, c;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&c);
    return (double)c.QuadPart / (double)f.QuadPart;
}
void bn_cpu_relax(void) { YieldProcessor(); }
void bn_thread_yield(void) { SwitchToThread(); }

#else /* POSIX */

#include <sched.h>
#include <time.h>

typedef struct { void (*fn)(void *); void *arg; } start_info;

static void *thread_entry(void *p) {
    start_info info = *(start_info *)p;
    free(p);
    info.fn(info.arg);
    return NULL;
}

int bn_thread_start(bn_thread *t, void (*fn)(void *), void *arg) {
    start_info *info = (start_info *)malloc(sizeof *info);
    if (!info) return -1;
    info->fn = fn;
    info->arg = arg;
    if (pthread_create(t, NULL, thread_entry, info) != 0) { free(info); return -1; }
    return 0;
}
void bn_thread_join(bn_thread t) { pthread_join(t, NULL); }
void bn_mutex_init(bn_mutex *m) { pthread_mutex_init(m, NULL); }
void bn_mutex_destroy(bn_mutex *m) { pthread_mutex_destroy(m); }
void bn_mutex_lock(bn_mutex *m) { pthread_mutex_lock(m); }
void bn_mutex_unlock(bn_mutex *m) { pthread_mutex_unlock(m); }
void bn_cond_init(bn_cond *c) { pthread_cond_init(c, NULL); }
void bn_cond_destroy(bn_cond *c) { pthread_cond_destroy(c); }
void bn_cond_wait(bn_cond *c, bn_mutex *m) { pthread_cond_wait(c, m); }
void bn_cond_broadcast(bn_cond *c) { pthread_cond_broadcast(c); }
void *bn_aligned_alloc(size_t alignment, size_t size) {
    void *p = NULL;
    if (posix_memalign(&p, alignment, size ? size : 1) != 0) return NULL;
    return p;
}
void bn_aligned_free(void *p) { free(p); }
double bn_now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
void bn_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}
void bn_thread_yield(void) { sched_yield(); }

#endif
