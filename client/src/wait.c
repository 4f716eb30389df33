/*  client/src/wait.c - zmgr_as_completed and zmgr_wait over futures
 *  Both put a watcher on each distinct future (futures.c calls it when the
 *  future ends or is destroyed) and read the connection through
 *  futures_wait until enough watchers fired. */
#include "jobs_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct zmgr_as_completed {
    jobs_ext_t *ext;     /* handle to pump, or NULL if all were done */
    size_t n;            /* distinct futures */
    size_t left;         /* neither yielded nor destroyed */
    jobs_watch_t *watch; /* one per future */
    jobs_watch_t **ring; /* fired, in completion order */
    size_t rhead, rtail;
};

/*  The one handle every unfinished future belongs to (NULL when all are
 *  done). -1: NULL entries or several handles. */
static int s_common_ext (zmgr_future_t **fs, size_t n, jobs_ext_t **ext_p)
{
    *ext_p = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!fs[i])
            return -1;
        if (fs[i]->done)
            continue;
        if (!fs[i]->ext || (*ext_p && *ext_p != fs[i]->ext))
            return -1;
        *ext_p = fs[i]->ext;
    }
    return 0;
}

/*  The distinct futures of fs (as Python makes a set of them), in order. */
static zmgr_future_t **s_distinct (zmgr_future_t **fs, size_t n, size_t *count)
{
    zmgr_future_t **out = malloc ((n ? n : 1) * sizeof *out);
    u64map_t seen = {0};
    if (!out || u64map_reserve (&seen, n + 1)) {
        free (out);
        u64map_fini (&seen);
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t key = (uint64_t)(uintptr_t)fs[i];
        if (u64map_get (&seen, key))
            continue;
        u64map_put (&seen, key, fs[i]);
        out[k++] = fs[i];
    }
    u64map_fini (&seen);
    *count = k;
    return out;
}

static void s_ac_watch (jobs_watch_t *w, zmgr_future_t *f, bool gone)
{
    (void)f;
    zmgr_as_completed_t *it = w->owner;
    if (gone) {
        if (!w->dead) {
            w->dead = true; /* never yielded; skipped if already in the ring */
            it->left--;
        }
        return;
    }
    it->ring[it->rtail++] = w;
}

static int s_cmp_seq (const void *a, const void *b)
{
    const jobs_watch_t *x = *(jobs_watch_t *const *)a, *y = *(jobs_watch_t *const *)b;
    return x->future->seq < y->future->seq ? -1 : x->future->seq > y->future->seq;
}

zmgr_as_completed_t *zmgr_as_completed_new (zmgr_future_t **fs, size_t n)
{
    jobs_ext_t *ext;
    if ((n && !fs) || s_common_ext (fs, n, &ext) != 0)
        return NULL;
    zmgr_as_completed_t *it = calloc (1, sizeof *it);
    size_t k = 0;
    zmgr_future_t **d = it ? s_distinct (fs, n, &k) : NULL;
    if (it && d) {
        it->watch = calloc (k ? k : 1, sizeof *it->watch);
        it->ring = calloc (k ? k : 1, sizeof *it->ring);
    }
    if (!it || !d || !it->watch || !it->ring) {
        free (d);
        if (it) {
            free (it->watch);
            free (it->ring);
            free (it);
        }
        return NULL;
    }
    it->ext = ext;
    it->n = it->left = k;
    /*  Those already done come first, in the order they finished. */
    for (size_t i = 0; i < k; i++) {
        jobs_watch_t *w = &it->watch[i];
        w->fn = s_ac_watch;
        w->owner = it;
        w->index = i;
        futures_watch_add (d[i], w);
        if (d[i]->done) {
            w->fired = true;
            it->ring[it->rtail++] = w;
        }
    }
    qsort (it->ring, it->rtail, sizeof *it->ring, s_cmp_seq);
    free (d);
    return it;
}

static bool s_pred_ac (void *arg)
{
    zmgr_as_completed_t *it = arg;
    return it->rhead < it->rtail || it->left == 0;
}

int zmgr_as_completed_next (zmgr_as_completed_t *it, int timeout_ms, zmgr_future_t **next)
{
    if (next)
        *next = NULL;
    if (!it || !next)
        return ZMGR_EINVAL;
    long long deadline = jobs_deadline (timeout_ms);
    for (;;) {
        while (it->rhead < it->rtail) {
            jobs_watch_t *w = it->ring[it->rhead++];
            if (w->dead)
                continue;
            futures_watch_remove (w);
            w->dead = true; /* yielded */
            it->left--;
            *next = w->future;
            return 0;
        }
        if (it->left == 0)
            return ZMGR_EEMPTY;
        if (!it->ext)
            return ZMGR_EINVAL;
        int rc = futures_wait (it->ext, deadline, s_pred_ac, it);
        if (rc)
            return rc;
    }
}

void zmgr_as_completed_destroy (zmgr_as_completed_t **it_p)
{
    if (!it_p || !*it_p)
        return;
    zmgr_as_completed_t *it = *it_p;
    for (size_t i = 0; i < it->n; i++)
        futures_watch_remove (&it->watch[i]);
    free (it->watch);
    free (it->ring);
    free (it);
    *it_p = NULL;
}

/*  State of one zmgr_wait. */
typedef struct {
    zmgr_wait_t mode;
    size_t n;       /* distinct futures */
    size_t ndone;   /* done (or destroyed) so far */
    size_t nfailed; /* done with an error */
} s_waitset_t;

static void s_wait_watch (jobs_watch_t *w, zmgr_future_t *f, bool gone)
{
    s_waitset_t *ws = w->owner;
    if (gone) {
        if (!w->fired)
            ws->ndone++; /* cannot end any more: stop waiting for it */
        return;
    }
    ws->ndone++;
    if (f->status < 0)
        ws->nfailed++;
}

static bool s_pred_wait (void *arg)
{
    s_waitset_t *ws = arg;
    if (ws->ndone == ws->n)
        return true;
    switch (ws->mode) {
    case ZMGR_FIRST_COMPLETED:
        return ws->ndone > 0;
    case ZMGR_FIRST_EXCEPTION:
        return ws->nfailed > 0;
    default:
        return false;
    }
}

int zmgr_wait (zmgr_future_t **fs, size_t n, zmgr_wait_t mode, int timeout_ms,
               size_t *ndone)
{
    if (ndone)
        *ndone = 0;
    jobs_ext_t *ext;
    if ((n && !fs) || s_common_ext (fs, n, &ext) != 0 ||
        (mode != ZMGR_FIRST_COMPLETED && mode != ZMGR_FIRST_EXCEPTION &&
         mode != ZMGR_ALL_COMPLETED))
        return ZMGR_EINVAL;
    size_t k;
    zmgr_future_t **d = s_distinct (fs, n, &k);
    jobs_watch_t *watch = d ? calloc (k ? k : 1, sizeof *watch) : NULL;
    if (!watch) {
        free (d);
        return ZMGR_ENOMEM;
    }
    s_waitset_t ws = {mode, k, 0, 0};
    for (size_t i = 0; i < k; i++) {
        if (d[i]->done) {
            ws.ndone++;
            ws.nfailed += d[i]->status < 0;
            continue;
        }
        watch[i].fn = s_wait_watch;
        watch[i].owner = &ws;
        futures_watch_add (d[i], &watch[i]);
    }
    int rc = s_pred_wait (&ws)
                 ? 0
                 : futures_wait (ext, jobs_deadline (timeout_ms), s_pred_wait, &ws);
    for (size_t i = 0; i < k; i++)
        futures_watch_remove (&watch[i]);
    free (watch);
    free (d);
    if (ndone)
        *ndone = ws.ndone;
    return rc;
}
