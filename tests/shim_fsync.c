/*  tests/shim_fsync.c - an LD_PRELOAD shim whose fdatasync and fsync fail with EIO on cue
 *  it_fsync_fail.c starts zmgrd with LD_PRELOAD=<this module> to see what
 *  the broker does when the disk stops taking its log: both calls behave
 *  as usual (the system call itself) until either trigger says otherwise:
 *    ZMGR_SHIM_FSYNC_TRIGGER=PATH      fail while the file PATH exists
 *    ZMGR_SHIM_FSYNC_FAIL_AFTER=N      fail every call after the first N
 *  The first failure is reported once on stderr (zmgrd's log), so that a
 *  test's log shows the shim was there. The counter is per process: a
 *  forked snapshot writer counts on from its parent's count. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define S_EXPORT __attribute__ ((visibility ("default")))

static long s_calls;   /* fdatasync and fsync calls so far */

/*  Should this call fail? Reads the environment each time: it is cheap
 *  next to a sync, and a test may set the trigger file at any moment. */
static bool s_should_fail (void)
{
    s_calls++;
    const char *after = getenv ("ZMGR_SHIM_FSYNC_FAIL_AFTER");
    if (after && *after && s_calls > strtol (after, NULL, 10))
        return true;
    const char *trigger = getenv ("ZMGR_SHIM_FSYNC_TRIGGER");
    return trigger && *trigger && access (trigger, F_OK) == 0;
}

static int s_fail (const char *call)
{
    static bool told;
    if (!told) {
        told = true;
        static const char pre[] = "shim_fsync: failing ";
        static const char post[] = " with EIO from now on\n";
        size_t n = 0;
        while (call[n])
            n++;
        ssize_t w = write (2, pre, sizeof pre - 1);
        w = write (2, call, n);
        w = write (2, post, sizeof post - 1);
        (void) w;
    }
    errno = EIO;
    return -1;
}

S_EXPORT int fdatasync (int fd)
{
    if (s_should_fail ())
        return s_fail ("fdatasync");
    return (int) syscall (SYS_fdatasync, fd);
}

S_EXPORT int fsync (int fd)
{
    if (s_should_fail ())
        return s_fail ("fsync");
    return (int) syscall (SYS_fsync, fd);
}
