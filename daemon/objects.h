/*  daemon/objects.h - making and unmaking objects of every type
 *  One place knows which pure half (types.h) backs which type: a new
 *  object gets its state and its destructor here, for the commands that
 *  create on first use and for recovery's replay alike. */
#ifndef ZMGRD_OBJECTS_H
#define ZMGRD_OBJECTS_H

#include <stddef.h>

#include "store.h"

/*  Adds an object of type named name: NULL with *status ZMGR_ELIMIT past
 *  limit objects (0: none), or ZMGR_EINVAL for an unknown type. Records
 *  nothing (commands.c records EFF_CREATE). */
object_t *object_new (const char *name, size_t len, int type, size_t limit, int *status);

/*  Deletes obj: its parked requests fail with ENOTFOUND, then it goes.
 *  Records nothing. */
void object_remove (object_t *obj);

/*  obj's version as watch notices report it: its durable version
 *  (store.h), raised by every effect recorded on it. */
uint64_t obj_version (const object_t *obj);

#endif
