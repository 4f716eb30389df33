/*  daemon/limit.c - per-function dispatch limits (limit.h)
 *  The bucket's level counts tokens in units of 1/period_ms, so that a
 *  refill of rate tokens per period is rate units per ms, exact in
 *  integers: no drift, however often it is refilled. */
#include "limit.h"

#include <stdlib.h>
#include <string.h>

static void s_refill (limit_t *l, int64_t now)
{
    if (l->rate <= 0)
        return;
    int64_t full = l->rate * l->period_ms;
    if (now > l->refilled_ms) {
        int64_t dt = now - l->refilled_ms;
        /*  A long idle time fills the bucket; bound dt first so that
         *  dt * rate cannot overflow. */
        if (dt > l->period_ms)
            dt = l->period_ms;
        l->level += dt * l->rate;
        if (l->level > full)
            l->level = full;
    }
    l->refilled_ms = now;
}

void limit_init (limit_t *l)
{
    memset (l, 0, sizeof *l);
    l->backoff_base_ms = l->backoff_max_ms = -1;
}

void limit_set (limit_t *l, int64_t rate, int64_t period_ms, int64_t concurrency,
                int64_t now)
{
    l->rate = rate > 0 && period_ms > 0 ? rate : 0;
    l->period_ms = l->rate ? period_ms : 0;
    l->level = l->rate * l->period_ms;
    l->refilled_ms = now;
    l->concurrency = concurrency > 0 ? concurrency : 0;
}

void limit_clear (limit_t *l)
{
    bool paused = l->paused;
    limit_init (l);
    l->paused = paused; /* pause and resume are their own commands */
}

void limit_set_backoff (limit_t *l, int64_t base_ms, int64_t max_ms)
{
    l->backoff_base_ms = base_ms >= 0 ? base_ms : -1;
    l->backoff_max_ms = max_ms >= 0 ? max_ms : -1;
}

bool limit_has_backoff (const limit_t *l)
{
    return l->backoff_base_ms >= 0 || l->backoff_max_ms >= 0;
}

int64_t limit_backoff_ms (const limit_t *l, int64_t job_base, int64_t job_max,
                          int64_t cfg_base, int64_t cfg_max, int64_t attempts,
                          uint64_t rnd)
{
    int64_t base = job_base >= 0                  ? job_base
                   : l && l->backoff_base_ms >= 0 ? l->backoff_base_ms
                                                  : cfg_base;
    int64_t max = job_max >= 0                  ? job_max
                  : l && l->backoff_max_ms >= 0 ? l->backoff_max_ms
                                                : cfg_max;
    if (base <= 0 || max <= 0)
        return 0;
    int64_t shift = attempts > 1 ? attempts - 1 : 0;
    int64_t d = base;
    while (shift-- > 0 && d < max)
        d *= 2; /* base and max are at most a day: no overflow */
    if (d > max)
        d = max;
    return d - (int64_t)(rnd % (uint64_t)(d / 2 + 1));
}

bool limit_any (const limit_t *l)
{
    return l->rate > 0 || l->concurrency > 0 || l->paused || limit_has_backoff (l);
}

bool limit_may_start (limit_t *l, uint64_t running, int64_t now)
{
    if (l->paused)
        return false;
    if (l->concurrency > 0 && running >= (uint64_t)l->concurrency)
        return false;
    if (l->rate > 0) {
        s_refill (l, now);
        if (l->level < l->period_ms)
            return false;
    }
    return true;
}

void limit_took (limit_t *l, int64_t now)
{
    if (l->rate <= 0)
        return;
    s_refill (l, now);
    l->level -= l->period_ms;
    if (l->level < 0)
        l->level = 0;
}

int64_t limit_wait_ms (limit_t *l, int64_t now)
{
    if (l->rate <= 0)
        return -1;
    s_refill (l, now);
    int64_t missing = l->period_ms - l->level;
    if (missing <= 0)
        return 0;
    return (missing + l->rate - 1) / l->rate;
}

int limit_parse_rate (const char *text, int64_t *rate, int64_t *period_ms)
{
    if (!text || !*text)
        return -1;
    char *end;
    long long n = strtoll (text, &end, 10);
    if (end == text || n < 1 || n > 1000000)
        return -1;
    int64_t period = 1000;
    if (*end == '/') {
        end++;
        if (!strcmp (end, "s") || !strcmp (end, "sec"))
            period = 1000;
        else if (!strcmp (end, "m") || !strcmp (end, "min"))
            period = 60000;
        else if (!strcmp (end, "h") || !strcmp (end, "hour"))
            period = 3600000;
        else
            return -1;
    } else if (*end != '\0')
        return -1;
    *rate = n;
    *period_ms = period;
    return 0;
}
