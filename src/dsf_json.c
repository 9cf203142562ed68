/* The one place that talks to jansson.
 *
 * Every dsf_json_t holds one jansson reference of its own, dropped by a
 * cleanup on the pool it was made from (as mod_md's md_json.c does). A child
 * got with dsf_json_get/dsf_json_at takes its own reference too, so it stays
 * valid for the lifetime of the pool it was allocated from even if the parent
 * dies first or the parent's slot is overwritten. */
#include <float.h>
#include <locale.h>
#include <stdio.h>
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

/* jansson quotes the offending input ("near '...'"): keep the message
 * printable ASCII, since it goes back to the client and into logs. */
static void sanitize(char *dst, const char *src, apr_size_t size)
{
    apr_size_t i;
    for (i = 0; i + 1 < size && src[i]; i++)
        dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
    dst[i] = '\0';
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
            sanitize(err->text, jerr.text, sizeof(err->text));
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

/* Compact serialisation, our own rather than json_dumpb() for two things a
 * receptor would notice: jansson prints reals with 17 digits (0.1 comes out
 * as 0.10000000000000001), and it writes U+FFFE/U+FFFF raw, which SQS
 * refuses in a message body. Output is otherwise what JSON_COMPACT gives. */
typedef struct {
    char *buf;
    apr_size_t len, cap;
    int failed;
} dump_buf_t;

#define DUMP_MAX_DEPTH 2048     /* as jansson's parser; also stops cycles */

static void dump_put(dump_buf_t *b, const char *s, apr_size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        apr_size_t cap = b->cap ? b->cap : 256;
        char *nb;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (!(nb = realloc(b->buf, cap))) {
            b->failed = 1;
            return;
        }
        b->buf = nb;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
}

static void dump_string(dump_buf_t *b, const char *s, apr_size_t n)
{
    static const char hex[] = "0123456789abcdef";
    apr_size_t i, run = 0;
    char esc[7];

    dump_put(b, "\"", 1);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *e = NULL;
        apr_size_t elen = 2, skip = 1;

        if (c == '"')       e = "\\\"";
        else if (c == '\\') e = "\\\\";
        else if (c == '\n') e = "\\n";
        else if (c == '\r') e = "\\r";
        else if (c == '\t') e = "\\t";
        else if (c == '\b') e = "\\b";
        else if (c == '\f') e = "\\f";
        else if (c < 0x20) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xf];
            e = esc;
            elen = 6;
        }
        else if (c == 0xEF && i + 2 < n && (unsigned char)s[i + 1] == 0xBF
                 && ((unsigned char)s[i + 2] & 0xFE) == 0xBE) {
            /* U+FFFE, U+FFFF: noncharacters SQS refuses; the escape is plain ASCII. */
            e = (unsigned char)s[i + 2] == 0xBE ? "\\ufffe" : "\\uffff";
            elen = 6;
            skip = 3;
        }
        if (!e) {
            run++;
            continue;
        }
        dump_put(b, s + i - run, run);
        run = 0;
        dump_put(b, e, elen);
        i += skip - 1;
    }
    dump_put(b, s + n - run, run);
    dump_put(b, "\"", 1);
}

/* The shortest %.Ng that reads back as the same double, written out in full
 * (100.0, not 1e2) below 1e16 where that adds no digits of noise, always
 * with a '.' or an exponent so it stays a real, the exponent without '+' or
 * leading zeros. */
static void dump_real(dump_buf_t *b, double v)
{
    char tmp[64], out[64], *e;
    const char *dp = localeconv()->decimal_point;
    int prec, x;
    apr_size_t i, o = 0;

    /* From 15: the closest 15-digit decimal, trailing zeros dropped by %g, is
     * the shortest whenever one of 15 digits or fewer reads back; at most
     * three tries instead of seventeen. Not so for subnormals, whose ulp is
     * coarse (5e-324): those search from 1. */
    prec = (v != 0 && (v < 0 ? -v : v) < DBL_MIN) ? 1 : 15;
    for (; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    if ((e = strchr(tmp, 'e')) != NULL && (x = atoi(e + 1)) >= 0 && x < 16)
        snprintf(tmp, sizeof(tmp), "%.*g", x + 1, v);
    for (i = 0; tmp[i] && o < sizeof(out) - 3; i++) {
        if (dp[0] && dp[0] != '.' && tmp[i] == dp[0])
            out[o++] = '.';            /* a locale's decimal comma */
        else
            out[o++] = tmp[i];
    }
    out[o] = '\0';
    if (!strpbrk(out, ".e")) {
        memcpy(out + o, ".0", 3);
    }
    else if ((e = strchr(out, 'e')) != NULL) {
        char *d = e + 1, *q;
        if (*d == '-')
            d++;
        for (q = d; *q == '+' || (*q == '0' && q[1]); q++)
            ;
        memmove(d, q, strlen(q) + 1);
    }
    dump_put(b, out, strlen(out));
}

static void dump_value(dump_buf_t *b, json_t *j, int depth)
{
    char num[32];
    void *it;
    apr_size_t i, n;

    if (depth > DUMP_MAX_DEPTH) {
        b->failed = 1;
        return;
    }
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        dump_put(b, "{", 1);
        for (it = json_object_iter(j), i = 0; it; it = json_object_iter_next(j, it), i++) {
            if (i)
                dump_put(b, ",", 1);
            dump_string(b, json_object_iter_key(it), json_object_iter_key_len(it));
            dump_put(b, ":", 1);
            dump_value(b, json_object_iter_value(it), depth + 1);
        }
        dump_put(b, "}", 1);
        break;
    case JSON_ARRAY:
        dump_put(b, "[", 1);
        for (i = 0, n = json_array_size(j); i < n; i++) {
            if (i)
                dump_put(b, ",", 1);
            dump_value(b, json_array_get(j, i), depth + 1);
        }
        dump_put(b, "]", 1);
        break;
    case JSON_STRING:
        dump_string(b, json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        dump_put(b, num, strlen(num));
        break;
    case JSON_REAL:
        dump_real(b, json_real_value(j));
        break;
    case JSON_TRUE:
        dump_put(b, "true", 4);
        break;
    case JSON_FALSE:
        dump_put(b, "false", 5);
        break;
    case JSON_NULL:
        dump_put(b, "null", 4);
        break;
    }
}

const char *dsf_json_dump(const dsf_json_t *j, apr_pool_t *p, apr_size_t *plen)
{
    dump_buf_t b = { NULL, 0, 0, 0 };
    const char *out = NULL;

    if (plen)
        *plen = 0;
    if (!j || !j->j)
        goto leave;
    dump_value(&b, j->j, 0);
    if (b.failed || !b.buf)
        goto leave;
    out = apr_pstrmemdup(p, b.buf, b.len);
    if (plen)
        *plen = b.len;
leave:
    free(b.buf);
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

int dsf_json_equal(const dsf_json_t *a, const dsf_json_t *b)
{
    return a && b && json_equal(a->j, b->j);
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
