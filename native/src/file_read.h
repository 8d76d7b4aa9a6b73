/*
 * file_read.h: positional reads from a read-only file (pread / ReadFile with an offset), safe to
 * call from several threads at once. Used where mapping a file would keep its pages in the
 * process's resident set: the embedding rows of fast mode (model_embedding.c).
 */
#ifndef BN_FILE_READ_H
#define BN_FILE_READ_H

#include <stddef.h>
#include <stdint.h>

typedef struct bn_file bn_file;

/* Opens path (UTF-8) for reading; *size gets its length in bytes. 0 on success, else -1. */
int bn_file_open(const char *path, bn_file **out, uint64_t *size);

/* Reads exactly len bytes at offset into buf. 0 on success, -1 on an error or a short read
 * (the file shrank). */
int bn_file_read_at(bn_file *f, void *buf, size_t len, uint64_t offset);

void bn_file_close(bn_file *f);

#endif /* BN_FILE_READ_H */
