/*
 * platform.h: the few OS services the library needs (threads, a mutex, a condition variable,
 * atomics, aligned memory, a monotonic clock) behind one small portable interface, so that the
 * library builds with gcc, clang, Apple clang and MSVC without OpenMP or C11 <threads.h>.
 */
#ifndef BN_PLATFORM_H
#define BN_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
/* HANDLE, SRWLOCK and CONDITION_VARIABLE by layout (platform.c checks the sizes): <windows.h>
 * here would hand every file that includes this header its macros (min, max, near, far, ...)
 * and about a second of parse time per file. */
typedef void *bn_thread;
typedef struct { void *opaque; } bn_mutex;
typedef struct { void *opaque; } bn_cond;
#else
#  include <pthread.h>
typedef pthread_t bn_thread;
typedef pthread_mutex_t bn_mutex;
typedef pthread_cond_t bn_cond;
#endif

int bn_thread_start(bn_thread *t, void (*fn)(void *), void *arg); /* 0 on success */
void bn_thread_join(bn_thread t);
void bn_mutex_init(bn_mutex *m);
void bn_mutex_destroy(bn_mutex *m);
void bn_mutex_lock(bn_mutex *m);
void bn_mutex_unlock(bn_mutex *m);
void bn_cond_init(bn_cond *c);
void bn_cond_destroy(bn_cond *c);
void bn_cond_wait(bn_cond *c, bn_mutex *m);
void bn_cond_broadcast(bn_cond *c);

void *bn_aligned_alloc(size_t alignment, size_t size); /* NULL on failure; free with bn_aligned_free */
void bn_aligned_free(void *p);
double bn_now_seconds(void);                            /* monotonic */
void bn_cpu_relax(void);                                /* pause / yield hint inside spin loops */
void bn_thread_yield(void);                             /* let another runnable thread have this CPU */

/* Sequentially consistent atomics on naturally aligned 32/64-bit integers. */
#if defined(_MSC_VER) && !defined(__clang__)
#  include <intrin.h>
static inline int32_t bn_atomic_load32(volatile int32_t *p) { return _InterlockedOr((volatile long *)p, 0); }
static inline void bn_atomic_store32(volatile int32_t *p, int32_t v) { _InterlockedExchange((volatile long *)p, v); }
static inline int32_t bn_atomic_add32(volatile int32_t *p, int32_t v) { return _InterlockedExchangeAdd((volatile long *)p, v); }
static inline int64_t bn_atomic_load64(volatile int64_t *p) { return _InterlockedOr64(p, 0); }
static inline void bn_atomic_store64(volatile int64_t *p, int64_t v) { _InterlockedExchange64(p, v); }
static inline int64_t bn_atomic_add64(volatile int64_t *p, int64_t v) { return _InterlockedExchangeAdd64(p, v); }
#else
static inline int32_t bn_atomic_load32(volatile int32_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline void bn_atomic_store32(volatile int32_t *p, int32_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
static inline int32_t bn_atomic_add32(volatile int32_t *p, int32_t v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
static inline int64_t bn_atomic_load64(volatile int64_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline void bn_atomic_store64(volatile int64_t *p, int64_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
static inline int64_t bn_atomic_add64(volatile int64_t *p, int64_t v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
#endif

#endif /* BN_PLATFORM_H */
