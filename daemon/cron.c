/*  daemon/cron.c - cron expressions: parsing and the next tick (cron.h)
 *  The next tick is found by walking the wall clock of the zone (a plain
 *  calendar, field by field, skipping whole months, days, hours and
 *  minutes that cannot match), then mapping the wall time found to an
 *  instant. Only that mapping needs the zone's rules: it is done with
 *  mktime/localtime_r under TZ set to the zone for the call and put back
 *  after. The broker is one thread, so the switch is seen by nothing
 *  else; glibc caches the zone last loaded, so a call costs a file read
 *  only when the zone changes. */
#define _GNU_SOURCE
#include "cron.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- parsing ------------------------------------------------------------- */

static const char *const s_months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const s_days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
static const char *const s_field_names[] = {"second",       "minute", "hour",
                                            "day of month", "month",  "day of week"};

/*  A number or (months, weekdays) a name at *p: -1 when neither. */
static long s_value (const char **p, int field)
{
    const char *s = *p;
    if (isdigit ((unsigned char)*s)) {
        long v = 0;
        while (isdigit ((unsigned char)*s) && v < 1000)
            v = v * 10 + (*s++ - '0');
        *p = s;
        return v;
    }
    const char *const *names = field == 4 ? s_months : field == 5 ? s_days : NULL;
    size_t count = field == 4 ? 12 : 7;
    if (!names)
        return -1;
    for (size_t i = 0; i < count; i++)
        if (strncasecmp (s, names[i], 3) == 0 && !isalpha ((unsigned char)s[3])) {
            *p = s + 3;
            return (long)i + (field == 4 ? 1 : 0);
        }
    return -1;
}

/*  Parses one field (text of len bytes) into a bit set of [lo, hi]. */
static int s_field (const char *text, size_t len, int field, long lo, long hi,
                    uint64_t *bits, bool *any, char *err, size_t err_len)
{
    char buf[128];
    if (len == 0 || len >= sizeof buf) {
        snprintf (err, err_len, "the %s field is %s", s_field_names[field],
                  len ? "too long" : "empty");
        return -1;
    }
    memcpy (buf, text, len);
    buf[len] = '\0';
    *bits = 0;
    *any = buf[0] == '*';
    /*  Day of week: 7 is Sunday too. */
    long top = field == 5 ? 7 : hi;
    for (char *item = buf, *next; item; item = next) {
        next = strchr (item, ',');
        if (next)
            *next++ = '\0';
        const char *p = item;
        long a, b, step = 1;
        if (*p == '*') {
            a = lo;
            b = hi;
            p++;
        } else {
            if ((a = s_value (&p, field)) < 0)
                goto bad;
            b = a;
            if (*p == '-') {
                p++;
                if ((b = s_value (&p, field)) < 0)
                    goto bad;
            }
        }
        if (*p == '/') {
            p++;
            if (!isdigit ((unsigned char)*p))
                goto bad;
            step = 0;
            while (isdigit ((unsigned char)*p) && step < 1000)
                step = step * 10 + (*p++ - '0');
            /*  "N/STEP" runs from N to the end of the range. */
            if (item[0] != '*' && !strchr (item, '-'))
                b = top == 7 ? 6 : hi;
        }
        if (*p != '\0')
            goto bad;
        if (a < lo || b > top || a > b || step < 1 || step > hi - lo + 1) {
            snprintf (err, err_len, "the %s field '%s' is out of its range %ld-%ld",
                      s_field_names[field], item, lo, top);
            return -1;
        }
        for (long v = a; v <= b; v += step)
            *bits |= 1ull << (field == 5 && v == 7 ? 0 : v);
        continue;
    bad:
        snprintf (err, err_len, "the %s field '%s' is not a cron list (*, N, N-M, /STEP)",
                  s_field_names[field], item);
        return -1;
    }
    return 0;
}

int cron_parse (const char *spec, cron_spec_t *out, char *err, size_t err_len)
{
    static const struct {
        const char *name, *spec;
    } macros[] = {
        {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"},
    };
    memset (out, 0, sizeof *out);
    if (err_len)
        err[0] = '\0';
    if (!spec) {
        snprintf (err, err_len, "no cron spec");
        return -1;
    }
    while (*spec == ' ' || *spec == '\t')
        spec++;
    if (spec[0] == '@') {
        for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++)
            if (strcmp (spec, macros[i].name) == 0)
                return cron_parse (macros[i].spec, out, err, err_len);
        snprintf (err, err_len, "unknown cron macro '%.32s'", spec);
        return -1;
    }
    const char *start[7];
    size_t len[7], n = 0;
    for (const char *p = spec; *p;) {
        if (*p == ' ' || *p == '\t') {
            p++;
            continue;
        }
        if (n == 6) {
            snprintf (err, err_len,
                      "a cron spec has 5 fields (or 6, with seconds first)");
            return -1;
        }
        start[n] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        len[n] = (size_t)(p - start[n]);
        n++;
    }
    if (n != 5 && n != 6) {
        snprintf (err, err_len,
                  "a cron spec has 5 fields (or 6, with seconds first), not %zu", n);
        return -1;
    }
    static const long lo[] = {0, 0, 0, 1, 1, 0}, hi[] = {59, 59, 23, 31, 12, 6};
    uint64_t bits[6];
    bool any[6];
    size_t first = n == 6 ? 0 : 1;
    bits[0] = 1; /* 5 fields: second 0 */
    any[0] = false;
    for (size_t i = 0; i < n; i++)
        if (s_field (start[i], len[i], (int)(first + i), lo[first + i], hi[first + i],
                     &bits[first + i], &any[first + i], err, err_len) != 0)
            return -1;
    out->sec = bits[0];
    out->min = bits[1];
    out->hour = (uint32_t)bits[2];
    out->mday = (uint32_t)bits[3];
    out->mon = (uint16_t)bits[4];
    out->wday = (uint8_t)bits[5];
    out->mday_any = any[3];
    out->wday_any = any[5];
    out->seconds = n == 6;
    return 0;
}

/* ---- zones ----------------------------------------------------------------- */

bool cron_zone_valid (const char *tz)
{
    if (!tz || !*tz)
        return true;
    size_t len = strlen (tz);
    if (len > 64 || tz[0] == '/' || strstr (tz, ".."))
        return false;
    for (const char *p = tz; *p; p++)
        if (!isalnum ((unsigned char)*p) && !strchr ("/_+-", *p))
            return false;
    const char *dir = getenv ("TZDIR");
    char path[512];
    snprintf (path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", tz);
    struct stat st;
    return stat (path, &st) == 0 && S_ISREG (st.st_mode);
}

/*  TZ set to a zone for one computation, and put back after. */
typedef struct {
    char saved[256]; /* TZ as it was */
    bool had;        /* TZ was set */
    bool changed;    /* we set it */
} s_zone_t;

static void s_zone_enter (s_zone_t *z, const char *tz)
{
    z->changed = false;
    if (!tz || !*tz)
        return;
    const char *old = getenv ("TZ");
    z->had = old != NULL;
    snprintf (z->saved, sizeof z->saved, "%s", old ? old : "");
    setenv ("TZ", tz, 1);
    tzset ();
    z->changed = true;
}

static void s_zone_leave (s_zone_t *z)
{
    if (!z->changed)
        return;
    if (z->had)
        setenv ("TZ", z->saved, 1);
    else
        unsetenv ("TZ");
    tzset ();
}

/* ---- the next tick ----------------------------------------------------------- */

/*  A wall-clock time, as a plain calendar. */
typedef struct {
    int year, mon, mday, hour, min, sec; /* mon 1-12, mday 1-31 */
} s_civil_t;

static bool s_leap (int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int s_mdays (int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && s_leap (y) ? 29 : days[m - 1];
}

/*  Day of week (0 Sunday) of a date, from its day number since 1970. */
static int s_wday (int y, int m, int d)
{
    /*  Days from civil (proleptic Gregorian), after H. Hinnant's method. */
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    long days = (long)era * 146097 + doe - 719468;
    long w = (days + 4) % 7; /* 1970-01-01 was a Thursday */
    return (int)(w < 0 ? w + 7 : w);
}

static bool s_day_matches (const cron_spec_t *c, const s_civil_t *t)
{
    bool dom = (c->mday >> t->mday) & 1;
    bool dow = (c->wday >> s_wday (t->year, t->mon, t->mday)) & 1;
    if (c->mday_any && c->wday_any)
        return true;
    if (c->mday_any)
        return dow;
    if (c->wday_any)
        return dom;
    return dom || dow;
}

static void s_next_month (s_civil_t *t)
{
    t->mday = 1;
    t->hour = t->min = t->sec = 0;
    if (++t->mon > 12) {
        t->mon = 1;
        t->year++;
    }
}

static void s_next_day (s_civil_t *t)
{
    t->hour = t->min = t->sec = 0;
    if (++t->mday > s_mdays (t->year, t->mon))
        s_next_month (t);
}

static void s_next_hour (s_civil_t *t)
{
    t->min = t->sec = 0;
    if (++t->hour > 23)
        s_next_day (t);
}

static void s_next_min (s_civil_t *t)
{
    t->sec = 0;
    if (++t->min > 59)
        s_next_hour (t);
}

static void s_next_sec (s_civil_t *t)
{
    if (++t->sec > 59)
        s_next_min (t);
}

/*  The instants a wall time has in the current zone: the earliest one
 *  after after_s, or, for a wall time in a DST gap, the first instant
 *  after the gap; -1 when it is not after after_s. */
static int64_t s_instant (const s_civil_t *c, int64_t after_s)
{
    int64_t best = -1;
    for (int dst = 0; dst <= 1; dst++) {
        struct tm tm = {.tm_year = c->year - 1900,
                        .tm_mon = c->mon - 1,
                        .tm_mday = c->mday,
                        .tm_hour = c->hour,
                        .tm_min = c->min,
                        .tm_sec = c->sec,
                        .tm_isdst = dst};
        time_t t = mktime (&tm);
        if (t == (time_t)-1)
            continue;
        struct tm back;
        localtime_r (&t, &back);
        if (back.tm_year != c->year - 1900 || back.tm_mon != c->mon - 1 ||
            back.tm_mday != c->mday || back.tm_hour != c->hour || back.tm_min != c->min ||
            back.tm_sec != c->sec)
            continue; /* not this wall time with that DST flag */
        if ((int64_t)t > after_s && (best < 0 || (int64_t)t < best))
            best = (int64_t)t;
    }
    if (best >= 0)
        return best;
    /*  In no zone offset: a gap. mktime moves it past the gap. */
    struct tm tm = {.tm_year = c->year - 1900,
                    .tm_mon = c->mon - 1,
                    .tm_mday = c->mday,
                    .tm_hour = c->hour,
                    .tm_min = c->min,
                    .tm_sec = c->sec,
                    .tm_isdst = -1};
    time_t t = mktime (&tm);
    struct tm back;
    localtime_r (&t, &back);
    bool gap = back.tm_year != c->year - 1900 || back.tm_mon != c->mon - 1 ||
               back.tm_mday != c->mday || back.tm_hour != c->hour ||
               back.tm_min != c->min;
    return gap && t != (time_t)-1 && (int64_t)t > after_s ? (int64_t)t : -1;
}

int64_t cron_next (const cron_spec_t *c, const char *tz, int64_t after_s)
{
    if (!c->sec || !c->min || !c->hour || !c->mday || !c->mon || !c->wday)
        return -1;
    s_zone_t zone;
    s_zone_enter (&zone, tz);
    time_t a = (time_t)after_s;
    struct tm now;
    localtime_r (&a, &now);
    s_civil_t t = {now.tm_year + 1900, now.tm_mon + 1, now.tm_mday,
                   now.tm_hour,        now.tm_min,     now.tm_sec};
    int limit_year = t.year + 8;
    if (c->seconds)
        s_next_sec (&t);
    else
        s_next_min (&t);
    int64_t found = -1;
    /*  Each step skips at least one second and, when a field does not
     *  match, the whole unit; 8 years of days bound the walk. */
    for (int steps = 0; steps < 1000000 && t.year <= limit_year; steps++) {
        if (!((c->mon >> t.mon) & 1)) {
            s_next_month (&t);
            continue;
        }
        if (!s_day_matches (c, &t)) {
            s_next_day (&t);
            continue;
        }
        if (!((c->hour >> t.hour) & 1)) {
            s_next_hour (&t);
            continue;
        }
        if (!((c->min >> t.min) & 1)) {
            s_next_min (&t);
            continue;
        }
        if (!((c->sec >> t.sec) & 1)) {
            s_next_sec (&t);
            continue;
        }
        int64_t at = s_instant (&t, after_s);
        if (at >= 0) {
            found = at;
            break;
        }
        /*  Not after after_s in real time (the wall clock went back):
         *  walk on. */
        if (c->seconds)
            s_next_sec (&t);
        else
            s_next_min (&t);
    }
    s_zone_leave (&zone);
    return found;
}
