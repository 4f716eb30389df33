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

/*  The job id entered for key, or 0. */
uint64_t unique_get (const char *key, size_t len);
/*  Enters key for job id (replacing an entry of that key). */
void unique_put (const char *key, size_t len, uint64_t id);
/*  Removes key's entry if it is job id's. */
void unique_del (const char *key, size_t len, uint64_t id);
size_t unique_count (void);
void unique_shutdown (void);

#endif
