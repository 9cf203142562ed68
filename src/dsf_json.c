/* The one place that talks to jansson.
 *
 * Every dsf_json_t holds one jansson reference of its own, dropped by a
 * cleanup on the pool it was made from (as mod_md's md_json.c does). A child
 * got with dsf_json_get/dsf_json_at takes its own reference too, so it stays
 * valid for the lifetime of the pool it was allocated from even if the parent
 * dies first or the parent's slot is overwritten. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <jansson.h>
#include "dsf_json.h"

struct dsf_json_t {
    json_t *j;
};

static apr_status_t json_pool_cleanup(void *data)
{
    dsf_json_t *w = data;
    if (w->j) {
        json_decref(w->j);
        w->j = NULL;
    }
    return APR_SUCCESS;
}

/* Wraps j for p's lifetime. steal: the caller's reference becomes ours;
 * otherwise we take a new one. NULL j gives NULL. */
static dsf_json_t *json_wrap(apr_pool_t *p, json_t *j, int steal)
{
    dsf_json_t *w;
    if (!j)
        return NULL;
    w = apr_palloc(p, sizeof(*w));
    w->j = steal ? j : json_incref(j);
    apr_pool_cleanup_register(p, w, json_pool_cleanup, apr_pool_cleanup_null);
    return w;
}

/* Nesting of [ and { outside strings, stopping as soon as max is passed, so
 * jansson (which recurses up to 2048 levels) never sees deep input. */
static int json_too_deep(const char *buf, apr_size_t len, int max)
{
    apr_size_t i;
    int depth = 0, in_str = 0;

    for (i = 0; i < len; i++) {
        char c = buf[i];
        if (in_str) {
            if (c == '\\')
                i++;                    /* skip the escaped character */
            else if (c == '"')
                in_str = 0;
        }
        else if (c == '"')
            in_str = 1;
        else if (c == '[' || c == '{') {
            if (++depth > max)
                return 1;
        }
        else if ((c == ']' || c == '}') && depth > 0)
            depth--;
    }
    return 0;
}

apr_status_t dsf_json_parse(dsf_json_t **pj, apr_pool_t *p, const char *buf,
                            apr_size_t len, dsf_json_error_t *err)
{
    json_error_t jerr;
    json_t *j;
    apr_status_t rv = APR_SUCCESS;

    *pj = NULL;
    if (err)
        memset(err, 0, sizeof(*err));
    if (json_too_deep(buf, len, DSF_JSON_MAX_DEPTH)) {
        if (err)
            apr_snprintf(err->text, sizeof(err->text),
                         "nested deeper than %d levels", DSF_JSON_MAX_DEPTH);
        rv = DSF_ETOOBIG;
        goto leave;
    }
    /* DECODE_ANY: scalars are values too (the caller decides what it wants).
     * ALLOW_NUL: "\u0000" is valid JSON; we re-serialise, never strlen. */
    j = json_loadb(buf, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!j) {
        if (err) {
            err->line = jerr.line > 0 ? jerr.line : 0;
            err->column = jerr.column > 0 ? jerr.column : 0;
            err->position = jerr.position > 0 ? (apr_size_t)jerr.position : 0;
            apr_cpystrn(err->text, jerr.text, sizeof(err->text));
        }
        rv = DSF_EINPUT;
        goto leave;
    }
    *pj = json_wrap(p, j, 1);
leave:
    return rv;
}

dsf_json_t *dsf_json_object(apr_pool_t *p)
{
    return json_wrap(p, json_object(), 1);
}

dsf_json_t *dsf_json_array(apr_pool_t *p)
{
    return json_wrap(p, json_array(), 1);
}

const char *dsf_json_dump(const dsf_json_t *j, apr_pool_t *p, apr_size_t *plen)
{
    const size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY;
    size_t need;
    char *out;

    if (plen)
        *plen = 0;
    if (!j || !j->j)
        return NULL;
    /* Measure, then write straight into the pool: no malloc'ed copy. */
    need = json_dumpb(j->j, NULL, 0, flags);
    if (!need)
        return NULL;
    out = apr_palloc(p, need + 1);
    if (json_dumpb(j->j, out, need, flags) != need)
        return NULL;
    out[need] = '\0';
    if (plen)
        *plen = need;
    return out;
}

int dsf_json_is_object(const dsf_json_t *j)
{
    return j && json_is_object(j->j);
}

int dsf_json_is_array(const dsf_json_t *j)
{
    return j && json_is_array(j->j);
}

int dsf_json_is_string(const dsf_json_t *j)
{
    return j && json_is_string(j->j);
}

int dsf_json_is_null(const dsf_json_t *j)
{
    return j && json_is_null(j->j);
}

const char *dsf_json_type_name(const dsf_json_t *j)
{
    if (!j || !j->j)
        return "nothing";
    switch (json_typeof(j->j)) {
    case JSON_OBJECT:  return "an object";
    case JSON_ARRAY:   return "an array";
    case JSON_STRING:  return "a string";
    case JSON_INTEGER:
    case JSON_REAL:    return "a number";
    case JSON_TRUE:
    case JSON_FALSE:   return "a boolean";
    case JSON_NULL:    return "null";
    }
    return "nothing";
}

dsf_json_t *dsf_json_get(const dsf_json_t *j, const char *key, apr_pool_t *p)
{
    if (!j || !json_is_object(j->j))
        return NULL;
    return json_wrap(p, json_object_get(j->j, key), 0);
}

const char *dsf_json_get_str(const dsf_json_t *j, const char *key)
{
    json_t *v;
    if (!j || !json_is_object(j->j))
        return NULL;
    v = json_object_get(j->j, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int dsf_json_get_bool(const dsf_json_t *j, const char *key, int dflt)
{
    json_t *v;
    if (!j || !json_is_object(j->j))
        return dflt;
    v = json_object_get(j->j, key);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

long long dsf_json_get_int(const dsf_json_t *j, const char *key, long long dflt)
{
    json_t *v;
    if (!j || !json_is_object(j->j))
        return dflt;
    v = json_object_get(j->j, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

const char *dsf_json_str(const dsf_json_t *j)
{
    return j && json_is_string(j->j) ? json_string_value(j->j) : NULL;
}

apr_size_t dsf_json_size(const dsf_json_t *j)
{
    return j && json_is_array(j->j) ? json_array_size(j->j) : 0;
}

dsf_json_t *dsf_json_at(const dsf_json_t *j, apr_size_t i, apr_pool_t *p)
{
    if (!j || !json_is_array(j->j))
        return NULL;
    return json_wrap(p, json_array_get(j->j, i), 0);
}

/* Setters steal a fresh value into the parent; NULL from jansson means
 * invalid UTF-8 or out of memory. */
static apr_status_t json_set_new(dsf_json_t *j, const char *key, json_t *v)
{
    if (!v)
        return APR_EINVAL;
    if (!j || !json_is_object(j->j) || !key) {
        json_decref(v);
        return APR_EINVAL;
    }
    return json_object_set_new(j->j, key, v) ? APR_EINVAL : APR_SUCCESS;
}

static apr_status_t json_append_new(dsf_json_t *a, json_t *v)
{
    if (!v)
        return APR_EINVAL;
    if (!a || !json_is_array(a->j)) {
        json_decref(v);
        return APR_EINVAL;
    }
    return json_array_append_new(a->j, v) ? APR_EINVAL : APR_SUCCESS;
}

apr_status_t dsf_json_set_str(dsf_json_t *j, const char *key, const char *s)
{
    return s ? json_set_new(j, key, json_string(s)) : APR_EINVAL;
}

apr_status_t dsf_json_set_strn(dsf_json_t *j, const char *key, const char *s, apr_size_t len)
{
    if (!s)
        return APR_EINVAL;
    return json_set_new(j, key, json_stringn(s, len ? len : strlen(s)));
}

apr_status_t dsf_json_set_int(dsf_json_t *j, const char *key, long long v)
{
    return json_set_new(j, key, json_integer((json_int_t)v));
}

apr_status_t dsf_json_set_real(dsf_json_t *j, const char *key, double v)
{
    return json_set_new(j, key, json_real(v));   /* NULL for NaN/inf */
}

apr_status_t dsf_json_set_bool(dsf_json_t *j, const char *key, int v)
{
    return json_set_new(j, key, json_boolean(v));
}

apr_status_t dsf_json_set(dsf_json_t *j, const char *key, dsf_json_t *child)
{
    if (!child || !child->j)
        return APR_EINVAL;
    /* The parent takes its own reference: child's pool may die first. */
    return json_set_new(j, key, json_incref(child->j));
}

apr_status_t dsf_json_append(dsf_json_t *array, dsf_json_t *child)
{
    if (!child || !child->j)
        return APR_EINVAL;
    return json_append_new(array, json_incref(child->j));
}

apr_status_t dsf_json_append_str(dsf_json_t *array, const char *s)
{
    return s ? json_append_new(array, json_string(s)) : APR_EINVAL;
}

apr_status_t dsf_json_append_int(dsf_json_t *array, long long v)
{
    return json_append_new(array, json_integer((json_int_t)v));
}

const char *dsf_json_quote(apr_pool_t *p, const char *s, apr_size_t len)
{
    dsf_json_t w;
    const char *out;

    if (!s)
        return NULL;
    w.j = json_stringn(s, len);
    if (!w.j)
        return NULL;                     /* not valid UTF-8 */
    out = dsf_json_dump(&w, p, NULL);
    json_decref(w.j);
    return out;
}
