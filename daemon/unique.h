/*  daemon/unique.h - the unique-key index of jobs: key -> job id
 *  A job submitted with a key (job.submit option "key") is entered here
 *  for as long as it is in the job table (pending, scheduled, running,
 *  or final within its result TTL); a submit with a key that is entered
 *  gets that job's id instead of a new job (jobs_cmd.c). The index holds
 *  no state of its own that a restart must keep: the key rides in the
 *  job's submit effect, and replaying that enters it again. */
#ifndef ZMGRD_UNIQUE_H
#define ZMGRD_UNIQUE_H

#include <stddef.h>
#include <stdint.h>

/*  Keys belong to the key that submitted the job (its owner, jobs.c): a
 *  key another owner uses is another entry, so that no key can take, or
 *  learn of, a unique key another one uses. */
/*  The job id entered for owner's key, or 0. */
uint64_t unique_get (const char *owner, const char *key, size_t len);
/*  Enters owner's key for job id (replacing an entry of that key). */
void unique_put (const char *owner, const char *key, size_t len, uint64_t id);
/*  Removes owner's key's entry if it is job id's. */
void unique_del (const char *owner, const char *key, size_t len, uint64_t id);
size_t unique_count (void);
void unique_shutdown (void);

#endif
