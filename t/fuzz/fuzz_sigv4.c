/* libFuzzer target: the SigV4 canonicalizer (include/dsf_sigv4.h's steps)
 * and the signer around it, on a request from the input.
 *   byte 0: bit 0 normalize the path, bit 1 a session token, bit 2 sign the
 *           body, bit 3 send the token unsigned
 *   rest:   fields separated by NUL bytes: method, URL, body, then headers
 *           as "Name:value" (at most 40)
 * Invariants:
 *   canonical URI: only unreserved bytes, '/' and %XX (uppercase); once
 *     normalised, no empty, "." or ".." segment, and normalising again (after
 *     undoing the second encoding) changes nothing;
 *   canonical query: only unreserved bytes, %XX, '=' and '&', a '=' in every
 *     pair, pairs sorted; canonicalising it again changes nothing;
 *   canonical headers: names lowercase, sorted, distinct, the same list as
 *     the signed headers; values trimmed, no runs of blanks;
 *   signing: either an error that added no header, or exactly one Authorization, X-Amz-Date and Host,
 *     a 64-hex signature, no secret anywhere; signing the signed request
 *     again (same time) gives the same signature. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include "dsf_sigv4.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

static apr_pool_t *root;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_initialize();
    apr_pool_create(&root, NULL);
    return 0;
}

static int unreserved(unsigned char c)
{
    return apr_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

static int hexup(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* Only unreserved bytes, %XX and the extra characters allowed. */
static int encoded_ok(const char *s, const char *extra)
{
    for (; *s; s++) {
        if (*s == '%') {
            if (!hexup((unsigned char)s[1]) || !hexup((unsigned char)s[2]))
                return 0;
            s += 2;
        }
        else if (!unreserved((unsigned char)*s) && !strchr(extra, *s))
            return 0;
    }
    return 1;
}

/* Undoes one level of %XX (the canonical URI's second encoding). */
static char *decode_once(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, strlen(s) + 1), *o = out;
    for (; *s; s++) {
        if (*s == '%' && hexup((unsigned char)s[1]) && hexup((unsigned char)s[2])) {
            int hi = s[1] <= '9' ? s[1] - '0' : s[1] - 'A' + 10;
            int lo = s[2] <= '9' ? s[2] - '0' : s[2] - 'A' + 10;
            *o++ = (char)(hi << 4 | lo);
            s += 2;
        }
        else
            *o++ = *s;
    }
    *o = '\0';
    return out;
}

static void check_uri(apr_pool_t *p, const char *path, int normalize)
{
    const char *out, *again;
    char *segs, *seg, *last;
    if (dsf_sigv4_canonical_uri(p, path, normalize, &out) != APR_SUCCESS)
        return;
    if (!encoded_ok(out, "/"))
        abort();
    if (!normalize)
        return;
    if (strstr(out, "//"))
        abort();
    segs = apr_pstrdup(p, out);
    for (seg = apr_strtok(segs, "/", &last); seg; seg = apr_strtok(NULL, "/", &last))
        if (!strcmp(seg, ".") || !strcmp(seg, ".."))
            abort();
    if (dsf_sigv4_canonical_uri(p, decode_once(p, out), 1, &again) != APR_SUCCESS
        || strcmp(again, out))
        abort();
}

static void check_query(apr_pool_t *p, const char *query)
{
    const char *out, *again, *prev = NULL;
    char *pairs, *pair, *last;
    if (dsf_sigv4_canonical_query(p, query, &out) != APR_SUCCESS)
        return;
    if (!encoded_ok(out, "=&"))
        abort();
    pairs = apr_pstrdup(p, out);
    for (pair = apr_strtok(pairs, "&", &last); pair; pair = apr_strtok(NULL, "&", &last)) {
        char *eq = strchr(pair, '=');
        if (!eq || strchr(eq + 1, '='))
            abort();
        *eq = '\0';
        if (prev && strcmp(prev, pair) > 0)
            abort();                    /* keys sorted */
        prev = pair;
    }
    if (dsf_sigv4_canonical_query(p, out, &again) != APR_SUCCESS || strcmp(again, out))
        abort();
}

static void check_headers(apr_pool_t *p, const apr_array_header_t *h)
{
    const char *canon, *signed_hdrs, *line, *prev = NULL;
    char *list, *name, *last;
    apr_array_header_t *names = apr_array_make(p, 8, sizeof(char *));
    int i = 0;
    if (dsf_sigv4_canonical_headers(p, h, &canon, &signed_hdrs) != APR_SUCCESS)
        return;
    list = apr_pstrdup(p, signed_hdrs);
    for (name = apr_strtok(list, ";", &last); name; name = apr_strtok(NULL, ";", &last)) {
        const char *c;
        for (c = name; *c; c++)
            if (apr_isupper(*c))
                abort();
        if (prev && strcmp(prev, name) >= 0)
            abort();                    /* sorted, distinct */
        prev = name;
        APR_ARRAY_PUSH(names, char *) = name;
    }
    /* One canonical line per signed name, in the same order. */
    for (line = canon; *line; i++) {
        const char *nl = strchr(line, '\n'), *colon = strchr(line, ':'), *v;
        apr_size_t nlen;
        if (!nl || !colon || colon > nl || i >= names->nelts)
            abort();
        nlen = (apr_size_t)(colon - line);
        if (strlen(APR_ARRAY_IDX(names, i, char *)) != nlen
            || strncmp(line, APR_ARRAY_IDX(names, i, char *), nlen))
            abort();
        v = colon + 1;
        if (v < nl && (v[0] == ' ' || nl[-1] == ' ' || nl[-1] == '\t'))
            abort();
        for (; v + 1 < nl; v++)
            if ((v[0] == ' ' || v[0] == '\t') && (v[1] == ' ' || v[1] == '\t'))
                abort();
        line = nl + 1;
    }
    if (i != names->nelts)
        abort();
}

static int count(const apr_array_header_t *h, const char *name)
{
    int i, n = 0;
    for (i = 0; i < h->nelts; i++)
        if (!strcasecmp(APR_ARRAY_IDX(h, i, dsf_header_t).name, name))
            n++;
    return n;
}

static const char *get(const apr_array_header_t *h, const char *name)
{
    int i;
    for (i = 0; i < h->nelts; i++)
        if (!strcasecmp(APR_ARRAY_IDX(h, i, dsf_header_t).name, name))
            return APR_ARRAY_IDX(h, i, dsf_header_t).value;
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *fields[43];
    int nf = 0, i;
    apr_size_t off = 1;
    apr_array_header_t *headers;
    dsf_creds_t creds = { "AKIDEXAMPLE", SECRET, NULL, 0 };
    dsf_sigv4_opts_t opts;
    dsf_sigv4_trace_t trace;
    apr_status_t rv;
    int nbefore;
    const char *url, *q, *auth, *sig;
    apr_time_t now = apr_time_from_sec(1440938160);   /* 20150830T123600Z */

    if (size < 2)
        return 0;
    apr_pool_create(&p, root);
    while (off <= size && nf < 43) {
        const uint8_t *z = memchr(data + off, 0, size - off);
        apr_size_t len = z ? (apr_size_t)(z - (data + off)) : size - off;
        fields[nf++] = apr_pstrmemdup(p, (const char *)data + off, len);
        off += len + 1;
        if (!z)
            break;
    }
    while (nf < 3)
        fields[nf++] = "";

    /* The steps alone, on the URL's path and query. */
    url = fields[1];
    q = strchr(url, '?');
    check_uri(p, q ? apr_pstrmemdup(p, url, (apr_size_t)(q - url)) : url, 1);
    check_uri(p, q ? apr_pstrmemdup(p, url, (apr_size_t)(q - url)) : url, 0);
    check_query(p, q ? q + 1 : url);

    headers = apr_array_make(p, 8, sizeof(dsf_header_t));
    for (i = 3; i < nf; i++) {
        const char *colon = strchr(fields[i], ':');
        if (colon)
            dsf_header_add(headers, apr_pstrmemdup(p, fields[i], (apr_size_t)(colon - fields[i])),
                           colon + 1);
    }
    check_headers(p, headers);
    nbefore = headers->nelts;

    /* The whole signer. */
    memset(&opts, 0, sizeof(opts));
    opts.normalize = data[0] & 1;
    opts.sign_body = !!(data[0] & 4);
    opts.omit_session_token = !!(data[0] & 8);
    if (data[0] & 2)
        creds.token = "IQoJb3JpZ2luX2VjEXAMPLEtoken";
    rv = dsf_sigv4_sign_ex(p, NULL, &creds, "us-east-1", "sqs", now, fields[0], url, headers,
                           fields[2], strlen(fields[2]), &opts, &trace);
    if (rv != APR_SUCCESS) {
        if (headers->nelts > nbefore)
            abort();                    /* half-signed: something added */
        goto leave;
    }
    auth = get(headers, "Authorization");
    if (count(headers, "Authorization") != 1 || count(headers, "X-Amz-Date") != 1
        || count(headers, "Host") < 1 || !auth)
        abort();
    sig = strstr(auth, "Signature=");
    if (!sig || strlen(sig + 10) != 64 || strspn(sig + 10, "0123456789abcdef") != 64
        || strcmp(sig + 10, trace.signature))
        abort();
    /* The secret goes nowhere (unless the input itself carried it). */
    if (!memmem(data, size, SECRET, strlen(SECRET))) {
        for (i = 0; i < headers->nelts; i++)
            if (strstr(APR_ARRAY_IDX(headers, i, dsf_header_t).value, SECRET))
                abort();
        if (strstr(trace.canonical_request, SECRET) || strstr(trace.string_to_sign, SECRET))
            abort();
    }
    /* Signed again as is (a retry): the signer drops its own headers first. */
    {
        char first[65];
        memcpy(first, trace.signature, sizeof(first));
        if (dsf_sigv4_sign_ex(p, NULL, &creds, "us-east-1", "sqs", now, fields[0], url, headers,
                              fields[2], strlen(fields[2]), &opts, &trace) != APR_SUCCESS
            || strcmp(first, trace.signature) || count(headers, "Authorization") != 1)
            abort();
    }
leave:
    apr_pool_destroy(p);
    return 0;
}
