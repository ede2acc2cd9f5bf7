/* files.c - the files gcanalyze and its commands write (report -o, lohfrag -svg, the prompt's history).
 * Owns: gca_file_create/commit/discard, stdio over libgcdump's gcd_tmp_* (the one way the project writes a
 * file: PATH.tmp.PID created with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, fsync'd and renamed over PATH). */
#include "gca_plugin.h"
#include "gcdump.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

FILE *gca_file_create(const char *path, char *tmp, size_t cap)
{
    if (!path || !tmp || cap < 2) {
        errno = EINVAL;
        return NULL;
    }
    int fd = gcd_tmp_create(path, tmp, cap);
    if (fd < 0) {
        errno = -fd;
        return NULL;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        int e = errno;
        gcd_tmp_discard(fd, tmp);
        errno = e;
    }
    return f;
}

int gca_file_commit(FILE *f, const char *tmp, const char *path)
{
    int e = 0;
    errno = 0;
    if (fflush(f) != 0 || ferror(f))
        e = errno ? errno : EIO;
    /* fsync, close and rename through gcd_tmp_commit on a second
     * descriptor (the lock and the file stay with it) */
    int fd = e ? -1 : dup(fileno(f));
    if (!e && fd < 0)
        e = errno;
    if (fclose(f) != 0 && !e)
        e = errno ? errno : EIO;
    if (e) {
        if (fd >= 0)
            close(fd);
        gcd_tmp_discard(-1, tmp);
        return e;
    }
    return gcd_tmp_commit(fd, tmp, path, NULL);
}

void gca_file_discard(FILE *f, const char *tmp)
{
    if (f)
        fclose(f);
    gcd_tmp_discard(-1, tmp);
}
