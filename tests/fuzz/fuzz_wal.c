/*  tests/fuzz/fuzz_wal.c - libFuzzer target for the durable store's reader
 *  An input describes a data dir: its first byte says whether it is a log
 *  segment or a snapshot, whether its header is right, whether a commit
 *  record follows each record, and whether the file is then cut or has a
 *  bit flipped (bytes 1 and 2 say where); the rest is effect payloads
 *  separated by 0xff 0x00 0xff, each framed with a correct checksum, so
 *  that the fuzzer reaches the decoding of effects (recovery.c) and not
 *  only the checksum test. zmgrd --store-check's path reads it, and
 *  --store-repair's every fourth input; nothing may crash, leak or read
 *  out of bounds, whatever the file holds.
 *  Run: build-fuzz/tests/fuzz/fuzz_wal -max_total_time=60 tests/fuzz/corpus/wal */
#define _GNU_SOURCE
#include "config.h"
#include "jobs.h"
#include "log.h"
#include "recovery.h"
#include "replies.h"
#include "store.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

static char s_dir[64];

static void s_put (FILE *f, const uint8_t *rec, size_t len)
{
    uint8_t frame[12];
    uint32_t l = (uint32_t) len;
    uint64_t sum = XXH3_64bits_withSeed (rec, len, (XXH64_hash_t) len);
    for (int i = 0; i < 4; i++)
        frame[i] = (uint8_t) (l >> (8 * i));
    for (int i = 0; i < 8; i++)
        frame[4 + i] = (uint8_t) (sum >> (8 * i));
    fwrite (frame, 1, sizeof frame, f);
    fwrite (rec, 1, len, f);
}

static void s_clear_dir (void)
{
    DIR *d = opendir (s_dir);
    struct dirent *e;
    while (d && (e = readdir (d)))
        if (e->d_name[0] != '.')
            unlinkat (dirfd (d), e->d_name, 0);
    if (d)
        closedir (d);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        snprintf (s_dir, sizeof s_dir, "/tmp/zmgr-fuzz-wal-XXXXXX");
        if (!mkdtemp (s_dir))
            abort ();
        g_cfg.data_dir = s_dir;
        g_cfg.max_depth = PROTO_MAX_DEPTH;
        g_cfg.max_msg = 1 << 20;
        g_log_level = -1;                     /* damage is logged: not here */
        if (!freopen ("/dev/null", "w", stdout))   /* nor the report */
            abort ();
        ready = true;
    }
    if (size < 3)
        return 0;
    uint8_t flags = data[0];
    bool snapshot = flags & 1, good_header = !(flags & 2), commits = flags & 4;
    s_clear_dir ();
    char path[128];
    snprintf (path, sizeof path, "%s/%s-%020d.%s", s_dir, snapshot ? "snap" : "wal", 1,
              snapshot ? "snap" : "log");
    FILE *f = fopen (path, "wb");
    if (!f)
        abort ();
    uint8_t header[16];
    memcpy (header, snapshot ? "ZMGRSNP1" : "ZMGRWAL1", 8);
    memset (header + 8, 0, 8);
    header[8] = good_header ? 1 : data[1];
    fwrite (header, 1, sizeof header, f);
    size_t start = 3;
    uint64_t count = 0;
    static const uint8_t commit = 0xc3;
    for (size_t i = 3; i <= size; i++) {
        bool end = i == size || (i + 2 < size && data[i] == 0xff && data[i + 1] == 0x00
                                 && data[i + 2] == 0xff);
        if (!end)
            continue;
        if (i > start) {
            s_put (f, data + start, i - start);
            count++;
            if (commits)
                s_put (f, &commit, 1);
        }
        start = i + 3;
        i += 2;
    }
    if (snapshot && (flags & 8)) {   /* a snapshot's end record, right or not */
        uint8_t endrec[10] = { 0xc0, 0xcf };
        uint64_t n = (flags & 16) ? count : count + data[2];
        for (int i = 0; i < 8; i++)
            endrec[2 + i] = (uint8_t) (n >> (8 * (7 - i)));
        s_put (f, endrec, sizeof endrec);
    }
    long len = ftell (f);
    fclose (f);
    if ((flags & 32) && len > 0 && truncate (path, len * data[1] / 256) != 0)
        abort ();
    if ((flags & 64) && len > 0) {
        int fd = open (path, O_RDWR);
        uint8_t b;
        off_t at = (off_t) ((uint64_t) len * data[2] / 256);
        if (fd >= 0 && pread (fd, &b, 1, at) == 1) {
            b ^= (uint8_t) (1u << (data[1] & 7));
            if (pwrite (fd, &b, 1, at) != 1)
                abort ();
        }
        if (fd >= 0)
            close (fd);
    }
    recovery_check ((flags & 128) != 0);
    store_shutdown ();
    jobs_shutdown ();
    replies_fini ();
    return 0;
}
