/*  client/cli/json.h - JSON text <-> zmgr values, for the zmgr CLI
 *  The CLI reads its value arguments as JSON (jansson) and prints results
 *  as JSON. Values travel as msgpack, so this is a JSON <-> msgpack mapping;
 *  CLI.md, "Values", is the user's description of it:
 *
 *    JSON null, true/false, string   <-> msgpack nil, bool, str
 *    JSON integer                    <-> msgpack int (uint above INT64_MAX
 *                                        prints exactly; as an argument it
 *                                        is accepted only at top level)
 *    JSON real                       <-> msgpack float (printed shortest
 *                                        round-trip; NaN/Inf print as null)
 *    JSON array / object             <-> msgpack array / map
 *    {"$bin": "<base64>"}            <-> msgpack bin
 *    {"$ext": [type, "<base64>"]}    <-> msgpack ext
 *
 *  A map key that is not a string prints as a string holding the key's
 *  JSON text (key 1 prints as "1"). A string that is not valid UTF-8 prints
 *  with each bad byte replaced by U+FFFD.
 *
 *  Names are cli_json_*, not json_*, because json_* is jansson's
 *  namespace. */
#ifndef ZMGR_CLI_JSON_H
#define ZMGR_CLI_JSON_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>
#include <msgpack.h>

#include "zmgr.h"

/*  The value a command-line argument stands for: the argument parsed as
 *  JSON (any JSON text, not only arrays and objects) if it parses; a
 *  decimal integer too big for JSON's int64 as a msgpack uint; otherwise
 *  the argument itself as a string ("apple" -> "apple"). An argument that
 *  starts with `{`, `[` or `"` (after blanks) but is not valid JSON, or a
 *  number out of range, is an error rather than a string: it was meant as
 *  JSON. Returns the value (yours: zmgr_value_destroy) or NULL with a
 *  message in err (err_size bytes, NUL-terminated). */
zmgr_value_t *cli_json_parse_arg (const char *arg, char *err, size_t err_size);

/*  The value of a JSON document (borrowed). Returns the value (yours) or
 *  NULL with a message in err. */
zmgr_value_t *cli_json_to_value (const json_t *json, char *err, size_t err_size);

/*  Writes value as compact JSON to out, without a newline. Returns 0, or
 *  -1 when the value cannot be unpacked or out reports an error. */
int cli_json_print (FILE *out, const zmgr_value_t *value);

/*  Same for a msgpack-c object (borrowed). */
int cli_json_print_object (FILE *out, const msgpack_object *obj);

/*  Writes len bytes of s as a JSON string literal, quotes included. */
void cli_json_print_str (FILE *out, const char *s, size_t len);

/*  Offset of the first byte of s (len bytes) that does not begin a
 *  well-formed UTF-8 sequence; len when they all do. */
size_t cli_utf8_bad (const char *s, size_t len);

#endif
