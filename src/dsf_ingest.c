/* Ingest: a POSTed body into SQS message bodies, each the compact JSON of one
 * object (or array element, or NDJSON line), every size bounded before work
 * grows with it. The parse tree lives in a scratch pool destroyed on return;
 * only the message bodies are allocated from the caller's pool. */
#include <ctype.h>
#include <string.h>
#include <apr_strings.h>
#include "dsf_ingest.h"
#include "dsf_json.h"

#define DEFAULT_MAX_BODY     (1024 * 1024)
#define DEFAULT_MAX_MESSAGE  (256 * 1024)
#define DEFAULT_MAX_ELEMENTS 10000

void dsf_ingest_limits_default(dsf_ingest_limits_t *lim)
{
    lim->max_body = DEFAULT_MAX_BODY;
    lim->max_message = DEFAULT_MAX_MESSAGE;
    lim->max_elements = DEFAULT_MAX_ELEMENTS;
}

/* Media type, case-insensitive, parameters (charset=...) ignored. */
dsf_content_type_e dsf_ingest_content_type(const char *ct)
{
    apr_size_t n, sub;

    if (!ct)
        return DSF_CT_UNSUPPORTED;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    n = strcspn(ct, "; \t");
    if (n == 16 && !strncasecmp(ct, "application/json", n))
        return DSF_CT_JSON;
    if ((n == 20 && !strncasecmp(ct, "application/x-ndjson", n))
        || (n == 17 && !strncasecmp(ct, "application/jsonl", n)))
        return DSF_CT_NDJSON;
    /* application/SOMETHING+json (RFC 6839); json-seq needs RS framing: no. */
    sub = sizeof("application/") - 1;
    if (n > sub + 5 && !strncasecmp(ct, "application/", sub)
        && !strncasecmp(ct + n - 5, "+json", 5))
        return DSF_CT_JSON;
    return DSF_CT_UNSUPPORTED;
}

static int is_blank(const char *s, apr_size_t len)
{
    apr_size_t i;
    for (i = 0; i < len; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return 0;
    }
    return 1;
}

/* Dumps v as one message into msgs, refusing it over max_message.
 * what is "element 17", "line 3" or "the object", for the client. */
static apr_status_t add_msg(apr_pool_t *p, const dsf_json_t *v, const char *what,
                            const dsf_ingest_limits_t *lim, apr_array_header_t *msgs,
                            const char **why)
{
    dsf_msg_t *m;
    apr_size_t len;
    const char *body;

    if (dsf_json_is_null(v)) {
        *why = apr_psprintf(p, "%s is null: nothing to enqueue", what);
        return DSF_EINPUT;
    }
    body = dsf_json_dump(v, p, &len);
    if (!body) {
        *why = apr_psprintf(p, "%s could not be serialised", what);
        return DSF_EINPUT;
    }
    if (len > lim->max_message) {
        *why = apr_psprintf(p, "%s is %" APR_SIZE_T_FMT " bytes, over the %" APR_SIZE_T_FMT
                            "-byte message limit", what, len, lim->max_message);
        return DSF_ETOOBIG;
    }
    m = apr_array_push(msgs);
    m->body = body;
    m->len = len;
    return APR_SUCCESS;
}

static const char *malformed(apr_pool_t *p, apr_status_t rv, int line,
                             const dsf_json_error_t *err)
{
    if (rv == DSF_ETOOBIG)
        return apr_psprintf(p, "JSON nested deeper than %d levels%s", DSF_JSON_MAX_DEPTH,
                            line ? apr_psprintf(p, " at line %d", line) : "");
    return apr_psprintf(p, "malformed JSON at line %d, column %d: %s",
                        line ? line : err->line, err->column, err->text);
}

static apr_status_t parse_json(apr_pool_t *p, apr_pool_t *scratch, const char *buf,
                               apr_size_t len, const dsf_ingest_limits_t *lim,
                               apr_array_header_t *msgs, const char **why)
{
    dsf_json_t *j;
    dsf_json_error_t err;
    apr_pool_t *iter = NULL;
    apr_size_t i, n;
    apr_status_t rv;

    if ((rv = dsf_json_parse(&j, scratch, buf, len, &err)) != APR_SUCCESS) {
        *why = malformed(p, rv, 0, &err);
        goto leave;
    }
    if (dsf_json_is_object(j)) {
        rv = add_msg(p, j, "the object", lim, msgs, why);
        goto leave;
    }
    if (!dsf_json_is_array(j)) {
        *why = apr_psprintf(p, "expected a JSON object or array, got %s", dsf_json_type_name(j));
        rv = DSF_EINPUT;
        goto leave;
    }
    n = dsf_json_size(j);
    if (n == 0) {
        *why = "empty array: nothing to enqueue";
        rv = DSF_EINPUT;
        goto leave;
    }
    if (n > (apr_size_t)lim->max_elements) {
        *why = apr_psprintf(p, "%" APR_SIZE_T_FMT " elements, over the limit of %d per request",
                            n, lim->max_elements);
        rv = DSF_ETOOBIG;
        goto leave;
    }
    /* Element wrappers go to a pool cleared each turn: scratch stays flat. */
    apr_pool_create(&iter, scratch);
    for (i = 0; i < n; i++) {
        apr_pool_clear(iter);
        rv = add_msg(p, dsf_json_at(j, i, iter),
                     apr_psprintf(iter, "element %" APR_SIZE_T_FMT, i + 1), lim, msgs, why);
        if (rv != APR_SUCCESS)
            goto leave;
    }
leave:
    return rv;
}

static apr_status_t parse_ndjson(apr_pool_t *p, apr_pool_t *scratch, const char *buf,
                                 apr_size_t len, const dsf_ingest_limits_t *lim,
                                 apr_array_header_t *msgs, const char **why)
{
    const char *line = buf, *end = buf + len, *nl;
    apr_size_t llen;
    int lineno = 0;
    dsf_json_t *j;
    dsf_json_error_t err;
    apr_status_t rv = APR_SUCCESS;

    for (; line < end; line = nl + 1) {
        nl = memchr(line, '\n', (apr_size_t)(end - line));
        if (!nl)
            nl = end;
        llen = (apr_size_t)(nl - line);
        lineno++;
        if (is_blank(line, llen))
            continue;
        if (msgs->nelts >= lim->max_elements) {
            *why = apr_psprintf(p, "more than %d lines, over the limit per request",
                                lim->max_elements);
            rv = DSF_ETOOBIG;
            goto leave;
        }
        apr_pool_clear(scratch);
        if ((rv = dsf_json_parse(&j, scratch, line, llen, &err)) != APR_SUCCESS) {
            *why = malformed(p, rv, lineno, &err);
            goto leave;
        }
        rv = add_msg(p, j, apr_psprintf(scratch, "line %d", lineno), lim, msgs, why);
        if (rv != APR_SUCCESS)
            goto leave;
    }
    if (msgs->nelts == 0) {
        *why = "empty body";
        rv = DSF_EINPUT;
    }
leave:
    return rv;
}

apr_status_t dsf_ingest_parse(apr_pool_t *p, dsf_content_type_e ct,
                              const char *buf, apr_size_t len,
                              const dsf_ingest_limits_t *lim,
                              apr_array_header_t **msgs, const char **why)
{
    dsf_ingest_limits_t dflt;
    apr_pool_t *scratch = NULL;
    apr_status_t rv;

    *msgs = NULL;
    *why = NULL;
    if (!lim) {
        dsf_ingest_limits_default(&dflt);
        lim = &dflt;
    }
    if (len > lim->max_body) {
        *why = apr_psprintf(p, "body is %" APR_SIZE_T_FMT " bytes, over the %" APR_SIZE_T_FMT
                            "-byte limit", len, lim->max_body);
        rv = DSF_ETOOBIG;
        goto leave;
    }
    /* A UTF-8 byte order mark: RFC 8259 lets a parser ignore it, and some
     * clients send one; jansson would refuse it. */
    if (!buf)
        len = 0;
    if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3)) {
        buf += 3;
        len -= 3;
    }
    if (is_blank(buf, len)) {
        *why = "empty body";
        rv = DSF_EINPUT;
        goto leave;
    }
    apr_pool_create(&scratch, p);
    *msgs = apr_array_make(p, 16, sizeof(dsf_msg_t));
    switch (ct) {
    case DSF_CT_JSON:
        rv = parse_json(p, scratch, buf, len, lim, *msgs, why);
        break;
    case DSF_CT_NDJSON:
        rv = parse_ndjson(p, scratch, buf, len, lim, *msgs, why);
        break;
    default:
        *why = "unsupported content type: send application/json or application/x-ndjson";
        rv = DSF_EINPUT;
        break;
    }
leave:
    if (scratch)
        apr_pool_destroy(scratch);
    if (rv != APR_SUCCESS)
        *msgs = NULL;
    return rv;
}
