/* context.h: the bn_ctx object shared by the operation files. */
#ifndef BN_CONTEXT_H
#define BN_CONTEXT_H

#include "internal.h"
#include "platform.h"
#include "threadpool.h"

struct bn_ctx {
    bn_pool *pool;
    int kernel;                  /* bn_kernel */
    const bn_kernel_table *kt;   /* table of `kernel`, supported by this CPU */
    volatile int32_t cancelled;  /* raised by bn_ctx_cancel from any thread */
    bn_mutex op_lock;            /* one operation (or reconfiguration) at a time */
};

/* Split rows [0, m) into tasks for the pool: about 2 tasks per thread, multiples of 16 rows. */
int64_t bn_rows_per_task(const bn_ctx *ctx, int64_t m);

/* a * b into *out when both are >= 0 and the product stays below 2^62; 0 on overflow. */
int bn_mul_ok(int64_t a, int64_t b, int64_t *out);

#endif /* BN_CONTEXT_H */
