/* The one place that talks to jansson. Values are tied to an APR pool: the
 * reference taken here is dropped when that pool is cleared. */
#ifndef DSF_JSON_H
#define DSF_JSON_H

#include "dsf.h"

typedef struct dsf_json_t dsf_json_t;

typedef struct {
    int line;          /* 1-based, 0 when unknown */
    int column;        /* 1-based */
    apr_size_t position;
    char text[160];    /* jansson's reason */
} dsf_json_error_t;

#define DSF_JSON_MAX_DEPTH 64   /* deeper input is refused, jansson allows 2048 */

/* Parses exactly one JSON value (any type, scalars too) from buf (len bytes;
 * need not be NUL-ended); duplicate keys allowed, the last one wins.
 * Returns DSF_EINPUT with err filled on malformed input, DSF_ETOOBIG when
 * nested deeper than DSF_JSON_MAX_DEPTH. */
apr_status_t dsf_json_parse(dsf_json_t **pj, apr_pool_t *p, const char *buf,
                            apr_size_t len, dsf_json_error_t *err);

dsf_json_t *dsf_json_object(apr_pool_t *p);
dsf_json_t *dsf_json_array(apr_pool_t *p);

/* Compact serialisation (no spaces), allocated from p: reals in their
 * shortest round-tripping form, U+FFFE/U+FFFF escaped (SQS refuses them). */
const char *dsf_json_dump(const dsf_json_t *j, apr_pool_t *p, apr_size_t *plen);

int dsf_json_is_object(const dsf_json_t *j);
int dsf_json_is_array(const dsf_json_t *j);
int dsf_json_is_string(const dsf_json_t *j);
int dsf_json_is_null(const dsf_json_t *j);
/* Same JSON value (object key order ignored); 0 when either is NULL. */
int dsf_json_equal(const dsf_json_t *a, const dsf_json_t *b);
/* "an object", "an array", "a string", "a number", "a boolean", "null";
 * for messages such as "expected a JSON object or array, got a number". */
const char *dsf_json_type_name(const dsf_json_t *j);

/* Children are wrappers allocated from p holding their own reference: valid
 * for p's lifetime whatever happens to the parent. NULL when absent. */
dsf_json_t *dsf_json_get(const dsf_json_t *j, const char *key, apr_pool_t *p);
const char *dsf_json_get_str(const dsf_json_t *j, const char *key);  /* NULL unless a string */
int dsf_json_get_bool(const dsf_json_t *j, const char *key, int dflt);
long long dsf_json_get_int(const dsf_json_t *j, const char *key, long long dflt);
const char *dsf_json_str(const dsf_json_t *j);                       /* NULL unless a string */
apr_size_t dsf_json_size(const dsf_json_t *j);                       /* array length */
dsf_json_t *dsf_json_at(const dsf_json_t *j, apr_size_t i, apr_pool_t *p);

/* Setters: values are copied; s may hold any bytes up to len (0: strlen). */
apr_status_t dsf_json_set_str(dsf_json_t *j, const char *key, const char *s);
apr_status_t dsf_json_set_strn(dsf_json_t *j, const char *key, const char *s, apr_size_t len);
apr_status_t dsf_json_set_int(dsf_json_t *j, const char *key, long long v);
apr_status_t dsf_json_set_real(dsf_json_t *j, const char *key, double v);
apr_status_t dsf_json_set_bool(dsf_json_t *j, const char *key, int v);
apr_status_t dsf_json_set(dsf_json_t *j, const char *key, dsf_json_t *child);
apr_status_t dsf_json_append(dsf_json_t *array, dsf_json_t *child);
apr_status_t dsf_json_append_str(dsf_json_t *array, const char *s);
apr_status_t dsf_json_append_int(dsf_json_t *array, long long v);

/* Writes s (exactly len bytes) as a JSON string literal, quotes included,
 * into an APR string; NULL when s is not valid UTF-8. */
const char *dsf_json_quote(apr_pool_t *p, const char *s, apr_size_t len);

#endif
