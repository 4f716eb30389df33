/*  daemon/unique.c - the unique-key index of jobs (unique.h)
 *  A chained hash table of copied entries, grown by doubling; FNV-1a, as
 *  the owner keys in jobs.c. An entry is the owner, a NUL (an owner is a C
 *  string) and the key. Keys are short (at most 256 bytes, checked by the
 *  command half). */
#include "unique.h"
#include "util.h"

#include <string.h>

typedef struct s_entry {
    struct s_entry *next; /* chain */
    uint64_t id;          /* the job */
    size_t len;
    char key[]; /* len bytes: owner, NUL, key; not terminated */
} s_entry_t;

static s_entry_t **s_buckets; /* power of two of them, or NULL */
static size_t s_nbuckets;
static size_t s_count;

static uint64_t s_hash (const char *key, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)key[i]) * 1099511628211ull;
    return h;
}

/*  The entry (owner, NUL, key) as one string in buf (size bytes), or in
 *  a new allocation when it does not fit (*owned then set). */
static const char *s_join (const char *owner, const char *key, size_t len, char *buf,
                           size_t size, size_t *total, char **owned)
{
    size_t olen = strlen (owner);
    *total = olen + 1 + len;
    char *out = buf;
    *owned = NULL;
    if (*total > size)
        out = *owned = xmalloc (*total);
    memcpy (out, owner, olen + 1);
    memcpy (out + olen + 1, key, len);
    return out;
}

static s_entry_t **s_slot (const char *key, size_t len)
{
    if (!s_nbuckets)
        return NULL;
    s_entry_t **pp = &s_buckets[s_hash (key, len) & (s_nbuckets - 1)];
    while (*pp && !((*pp)->len == len && memcmp ((*pp)->key, key, len) == 0))
        pp = &(*pp)->next;
    return pp;
}

uint64_t unique_get (const char *owner, const char *key, size_t len)
{
    char buf[384], *owned;
    size_t total;
    const char *k = s_join (owner, key, len, buf, sizeof buf, &total, &owned);
    s_entry_t **pp = s_slot (k, total);
    xfree (owned);
    return pp && *pp ? (*pp)->id : 0;
}

static void s_put (const char *key, size_t len, uint64_t id)
{
    s_entry_t **pp = s_slot (key, len);
    if (pp && *pp) {
        (*pp)->id = id;
        return;
    }
    if (s_count >= s_nbuckets) {
        size_t n = s_nbuckets ? s_nbuckets * 2 : 256;
        s_entry_t **t = xcalloc (n, sizeof *t);
        for (size_t i = 0; i < s_nbuckets; i++)
            for (s_entry_t *e = s_buckets[i], *next; e; e = next) {
                next = e->next;
                size_t b = s_hash (e->key, e->len) & (n - 1);
                e->next = t[b];
                t[b] = e;
            }
        xfree (s_buckets);
        s_buckets = t;
        s_nbuckets = n;
    }
    s_entry_t *e = xmalloc (sizeof *e + len);
    e->id = id;
    e->len = len;
    memcpy (e->key, key, len);
    size_t b = s_hash (key, len) & (s_nbuckets - 1);
    e->next = s_buckets[b];
    s_buckets[b] = e;
    s_count++;
}

void unique_put (const char *owner, const char *key, size_t len, uint64_t id)
{
    char buf[384], *owned;
    size_t total;
    const char *k = s_join (owner, key, len, buf, sizeof buf, &total, &owned);
    s_put (k, total, id);
    xfree (owned);
}

void unique_del (const char *owner, const char *key, size_t len, uint64_t id)
{
    char buf[384], *owned;
    size_t total;
    const char *k = s_join (owner, key, len, buf, sizeof buf, &total, &owned);
    s_entry_t **pp = s_slot (k, total);
    xfree (owned);
    if (!pp || !*pp || (*pp)->id != id)
        return;
    s_entry_t *e = *pp;
    *pp = e->next;
    xfree (e);
    s_count--;
}

size_t unique_count (void)
{
    return s_count;
}

void unique_shutdown (void)
{
    for (size_t i = 0; i < s_nbuckets; i++)
        while (s_buckets[i]) {
            s_entry_t *e = s_buckets[i];
            s_buckets[i] = e->next;
            xfree (e);
        }
    xfree (s_buckets);
    s_buckets = NULL;
    s_nbuckets = s_count = 0;
}
