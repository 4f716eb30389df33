/*  tests/fuzz/fuzz_dispatch.c - libFuzzer target for the whole request path
 *  Each input is split into frames; the first byte of each frame picks one
 *  of four fake peers and the rest goes through the kit's dispatch harness
 *  (tests/kit_dispatch.c) exactly as a frame from the ROUTER would, so the
 *  codec, the command table and every handler (parking included) see
 *  arbitrary input. Whatever came in, every reply must be well formed: the
 *  harness counts the ones that do not decode, and one is a crash here.
 *  Build: cmake -DZMGR_FUZZ=ON -DCMAKE_C_COMPILER=clang; run:
 *  build-fuzz/tests/fuzz/fuzz_dispatch -max_total_time=60 */
#include "kit.h"
#include "cmd.h"
#include "commands.h"
#include "config.h"
#include "jobs.h"
#include "log.h"
#include "objects.h"
#include "outbox.h"
#include "replies.h"
#include "park.h"
#include "peers.h"
#include "stats.h"
#include "store.h"
#include "types.h"

#include <stdlib.h>
#include <string.h>

/*  Smaller limits than the unit tests' (kit_srv_init), so that inputs of a
 *  few kilobytes reach them. */
static void s_init (void)
{
    kit_srv_init ();
    g_cfg.max_msg = 1 << 16;
    g_cfg.max_depth = PROTO_MAX_DEPTH;
    g_cfg.max_objects = 64;
    g_cfg.max_items = 256;
    g_cfg.max_pending = 8;
    g_cfg.max_jobs = 256;
    log_init (LOG_CRIT);
}

/*  One frame from fake peer p (id one byte, on fd 10 + p); its replies are
 *  checked and dropped. */
static void s_frame (uint8_t p, const uint8_t *data, size_t len)
{
    kit_dispatch (&p, 1, 10 + p, data, len);
    if (kit_bad_replies () != 0)
        abort ();
    kit_replies_clear ();
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static bool ready;
    static const uint8_t hello[] = { 0x96, 0x01, 0x01, 0xc0, 0x01, 0xa6, 'c', 'l',
                                     'i',  'e',  'n',  't',  0x80 };
    if (!ready) {
        s_init ();
        ready = true;
    }
    /*  Every peer says hello first, so the handlers are reached. */
    for (uint8_t p = 0; p < 4; p++)
        s_frame (p, hello, sizeof hello);
    /*  Frames are separated by the byte sequence 0xff 0x00 0xff. */
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        bool end = i == size || (i + 2 < size && data[i] == 0xff && data[i + 1] == 0x00
                                 && data[i + 2] == 0xff);
        if (!end)
            continue;
        if (i > start)
            s_frame (data[start] & 3, data + start + 1, i - start - 1);
        start = i + 3;
        i += 2;
    }
    /*  Deadlines pass; one peer leaves; everything is cleared for the next
     *  input so that runs stay independent. */
    park_expire (now_ms () + 1000000);
    jobs_expire (now_ms () + 1000000);
    peers_shutdown ();
    jobs_shutdown ();
    store_shutdown ();
    if (kit_bad_replies () != 0)
        abort ();
    kit_replies_clear ();
    /*  And what requests can change beyond the objects: admin.shutdown,
     *  admin.log_level (one input at debug once logged 370 MB), the
     *  reply table, a save asked for. */
    g_stats.stopping = false;
    g_log_level = LOG_CRIT;
    replies_fini ();
    store_save_requested ();
    return 0;
}
