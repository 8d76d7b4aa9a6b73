/*
 * file_read.c: see file_read.h.
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#  define _POSIX_C_SOURCE 200809L /* pread, O_CLOEXEC under -std=c11 */
#endif

#include "file_read.h"

#include <stdlib.h>

#if defined(_WIN32)
#  define WIN32_LEAN_AND_MEAN
#  include <windows.h>

struct bn_file {
    HANDLE handle;
};

int bn_file_open(const char *path, bn_file **out, uint64_t *size) {
    *out = NULL;
    const int wide_len = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, NULL, 0);
    if (wide_len <= 0) return -1;
    wchar_t *wide = (wchar_t *)malloc((size_t)wide_len * sizeof(wchar_t));
    if (!wide) return -1;
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, wide, wide_len);
    /* Share everything: the app keeps the same file memory-mapped and may replace it. */
    HANDLE h = CreateFileW(wide, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                           NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_RANDOM_ACCESS, NULL);
    free(wide);
    if (h == INVALID_HANDLE_VALUE) return -1;
    LARGE_INTEGER length;
    bn_file *f = (bn_file *)malloc(sizeof *f);
    if (!f || !GetFileSizeEx(h, &length)) {
        free(f);
        CloseHandle(h);
        return -1;
    }
    f->handle = h;
    *size = (uint64_t)length.QuadPart;
    *out = f;
    return 0;
}

int bn_file_read_at(bn_file *f, void *buf, size_t len, uint64_t offset) {
    unsigned char *p = (unsigned char *)buf;
    while (len > 0) {
        /* On a synchronous handle ReadFile takes the offset from the OVERLAPPED and never reads
         * the handle's file pointer (it only moves it afterwards), so concurrent calls do not
         * race; Windows runs them one at a time per handle. */
        OVERLAPPED at = {0};
        at.Offset = (DWORD)(offset & 0xffffffffu);
        at.OffsetHigh = (DWORD)(offset >> 32);
        const DWORD want = len > 0x40000000u ? 0x40000000u : (DWORD)len;
        DWORD got = 0;
        if (!ReadFile(f->handle, p, want, &got, &at) || got == 0) return -1;
        p += got;
        len -= got;
        offset += got;
    }
    return 0;
}

void bn_file_close(bn_file *f) {
    if (!f) return;
    CloseHandle(f->handle);
    free(f);
}

#else
#  include <errno.h>
#  include <fcntl.h>
#  include <sys/stat.h>
#  include <unistd.h>

struct bn_file {
    int fd;
};

int bn_file_open(const char *path, bn_file **out, uint64_t *size) {
    *out = NULL;
    int flags = O_RDONLY;
#  ifdef O_CLOEXEC
    flags |= O_CLOEXEC;
#  endif
    /* A FIFO swapped in for the model file after the loader's check must not block open();
     * on a regular file O_NONBLOCK changes nothing (reads of regular files never block). */
    flags |= O_NONBLOCK;
    const int fd = open(path, flags);
    if (fd < 0) return -1;
    struct stat st;
    bn_file *f = (bn_file *)malloc(sizeof *f);
    if (!f || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        free(f);
        close(fd);
        return -1;
    }
    f->fd = fd;
    *size = (uint64_t)st.st_size;
    *out = f;
    return 0;
}

int bn_file_read_at(bn_file *f, void *buf, size_t len, uint64_t offset) {
    unsigned char *p = (unsigned char *)buf;
    while (len > 0) {
        const ssize_t got = pread(f->fd, p, len, (off_t)offset);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return -1;
        p += got;
        len -= (size_t)got;
        offset += (uint64_t)got;
    }
    return 0;
}

void bn_file_close(bn_file *f) {
    if (!f) return;
    close(f->fd);
    free(f);
}
#endif
