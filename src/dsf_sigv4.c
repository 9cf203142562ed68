/* AWS Signature Version 4 (header signing) on OpenSSL 3.
 *
 * Follows AWS's published test suite and agrees with the AWS SDK for
 * JavaScript's signer (@smithy/signature-v4 with uriEscapePath): the path is
 * taken as sent on the wire (already percent-encoded once) and encoded again,
 * so "arn%3Aaws%3Alambda..." signs as "arn%253Aaws%253Alambda...".
 * Nothing here logs: a secret never reaches a message. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include "dsf_sigv4.h"

#define ALGORITHM "AWS4-HMAC-SHA256"

typedef struct {
    const char *scheme;
    const char *host;      /* Host header value: host[:port], port only when not default */
    const char *path;      /* as on the wire, "/" when empty */
    const char *query;     /* without '?', NULL when none */
} sigv4_url_t;

typedef struct {
    const char *lname;     /* lowercased name */
    const char *value;     /* trimmed, inner whitespace folded */
    int order;             /* position in the request: keeps duplicates in order */
} sigv4_hdr_t;

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
           || c == '-' || c == '_' || c == '.' || c == '~';
}

/* RFC 7230 tchar: what a header name or a method may hold. */
static int is_tchar(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
           || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int is_token(const char *s, apr_size_t max)
{
    apr_size_t n = 0;
    if (!s || !*s)
        return 0;
    for (; *s; s++, n++)
        if (n >= max || !is_tchar((unsigned char)*s))
            return 0;
    return 1;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-encodes len bytes of s, keeping unreserved bytes (and '/' when
 * keep_slash). Output is at most 3*len: len is bounded by the callers. */
static char *uri_encode(apr_pool_t *p, const char *s, apr_size_t len, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = apr_palloc(p, 3 * len + 1), *o = out;
    apr_size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            *o++ = (char)c;
        }
        else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

/* Decodes %XX in len bytes of s; a '%' not followed by two hex digits stays
 * literal (as decodeURIComponent would refuse it, we keep what was sent).
 * '+' is not a space: AWS, like the SDKs, reads it literally. */
static char *uri_decode(apr_pool_t *p, const char *s, apr_size_t len, apr_size_t *olen)
{
    char *out = apr_palloc(p, len + 1), *o = out;
    apr_size_t i;

    for (i = 0; i < len; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < len
            && (hi = hexval((unsigned char)s[i + 1])) >= 0
            && (lo = hexval((unsigned char)s[i + 2])) >= 0) {
            *o++ = (char)(hi << 4 | lo);
            i += 2;
        }
        else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    *olen = (apr_size_t)(o - out);
    return out;
}

void dsf_sigv4_amz_date(char *out, apr_time_t now)
{
    apr_time_exp_t t;
    apr_time_exp_gmt(&t, now);
    apr_snprintf(out, 17, "%04d%02d%02dT%02d%02d%02dZ", t.tm_year + 1900,
                 t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec);
}

/* OpenSSL 3 looks algorithms up by name on every implicit use (EVP_sha256(),
 * EVP_Q_mac): a provider search per call that cost more than the hashing.
 * Fetch SHA-256 once per process and build HMAC on it (RFC 2104). */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static apr_status_t sha256(unsigned char out[32], const void *d1, apr_size_t l1,
                           const void *d2, apr_size_t l2)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned int mdlen = 0;
    int ok;

    pthread_once(&sha256_once, sha256_fetch);
    ok = c && sha256_md && EVP_DigestInit_ex(c, sha256_md, NULL)
         && EVP_DigestUpdate(c, d1 ? d1 : "", l1)
         && (!d2 || EVP_DigestUpdate(c, d2, l2))
         && EVP_DigestFinal_ex(c, out, &mdlen) && mdlen == 32;
    EVP_MD_CTX_free(c);
    return ok ? APR_SUCCESS : APR_EGENERAL;
}

apr_status_t dsf_sigv4_sha256_hex(char *out, const void *data, apr_size_t len)
{
    unsigned char md[32];
    apr_status_t rv = sha256(md, data, len, NULL, 0);
    if (rv == APR_SUCCESS)
        dsf_hex(out, md, 32);
    return rv;
}

static apr_status_t hmac_sha256(unsigned char out[32], const void *key, apr_size_t klen,
                                const void *data, apr_size_t dlen)
{
    unsigned char k0[64], ipad[64], opad[64], inner[32];
    apr_status_t rv;
    int i;

    memset(k0, 0, sizeof(k0));
    if (klen > sizeof(k0)) {
        if ((rv = sha256(k0, key, klen, NULL, 0)) != APR_SUCCESS)
            return rv;
    }
    else
        memcpy(k0, key, klen);
    for (i = 0; i < 64; i++) {
        ipad[i] = k0[i] ^ 0x36;
        opad[i] = k0[i] ^ 0x5c;
    }
    if ((rv = sha256(inner, ipad, 64, data, dlen)) == APR_SUCCESS)
        rv = sha256(out, opad, 64, inner, 32);
    OPENSSL_cleanse(k0, sizeof(k0));
    OPENSSL_cleanse(ipad, sizeof(ipad));
    OPENSSL_cleanse(opad, sizeof(opad));
    return rv;
}

/* scheme://[userinfo@]host[:port][/path][?query][#fragment] */
static apr_status_t parse_url(apr_pool_t *p, const char *url, sigv4_url_t *u)
{
    const char *s, *auth, *auth_end, *host, *host_end, *port = NULL, *at, *q, *h;
    apr_size_t n;

    if (!url || (n = strlen(url)) == 0 || n > DSF_SIGV4_MAX_URL)
        return APR_EINVAL;
    for (s = url; *s; s++)      /* a header injection or a broken request line */
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return APR_EINVAL;
    if (!(s = strstr(url, "://")) || s == url)
        return APR_EINVAL;
    u->scheme = apr_pstrmemdup(p, url, (apr_size_t)(s - url));
    auth = s + 3;
    auth_end = auth + strcspn(auth, "/?#");
    /* userinfo never goes into Host */
    for (at = auth_end; at > auth && at[-1] != '@'; at--)
        ;
    host = at;
    if (host == auth_end)
        return APR_EINVAL;
    if (*host == '[') {                        /* IPv6 literal */
        const char *rb = memchr(host, ']', (apr_size_t)(auth_end - host));
        if (!rb)
            return APR_EINVAL;
        host_end = rb + 1;
        if (host_end < auth_end && *host_end != ':')
            return APR_EINVAL;
    }
    else {
        host_end = memchr(host, ':', (apr_size_t)(auth_end - host));
        if (!host_end)
            host_end = auth_end;
        if (host_end == host)
            return APR_EINVAL;
    }
    if (host_end < auth_end) {                 /* ":port" */
        int num = 0;
        port = host_end + 1;
        for (s = port; s < auth_end; s++) {
            if (*s < '0' || *s > '9' || (num = num * 10 + (*s - '0')) > 65535)
                return APR_EINVAL;
        }
        if (port == auth_end
            || (!strcasecmp(u->scheme, "http") && num == 80)
            || (!strcasecmp(u->scheme, "https") && num == 443))
            port = NULL;                       /* default: Host carries no port */
    }
    u->host = port ? apr_pstrmemdup(p, host, (apr_size_t)(auth_end - host))
                   : apr_pstrmemdup(p, host, (apr_size_t)(host_end - host));

    s = auth_end;
    h = s + strcspn(s, "#");                   /* the fragment is never sent */
    q = memchr(s, '?', (apr_size_t)(h - s));
    if (q) {
        u->path = q > s ? apr_pstrmemdup(p, s, (apr_size_t)(q - s)) : "/";
        u->query = apr_pstrmemdup(p, q + 1, (apr_size_t)(h - q - 1));
    }
    else {
        u->path = h > s ? apr_pstrmemdup(p, s, (apr_size_t)(h - s)) : "/";
        u->query = NULL;
    }
    return APR_SUCCESS;
}

apr_status_t dsf_sigv4_canonical_uri(apr_pool_t *p, const char *path,
                                     int normalize, const char **out)
{
    apr_size_t len, nseg = 0, maxseg = 1, i, start, olen = 0;
    apr_size_t *seg_at, *seg_len;
    char *norm, *o;

    if (!path || (len = strlen(path)) > DSF_SIGV4_MAX_URL)
        return APR_EINVAL;
    if (!normalize) {
        *out = uri_encode(p, path, len, 1);
        return APR_SUCCESS;
    }
    /* Split on '/', drop empty and "." segments, ".." drops the previous one
     * (never above the root): a stack of segments, no recursion. */
    for (i = 0; i < len; i++)
        if (path[i] == '/')
            maxseg++;
    seg_at = apr_palloc(p, maxseg * sizeof(*seg_at));
    seg_len = apr_palloc(p, maxseg * sizeof(*seg_len));
    for (start = 0; start <= len; start = i + 1) {
        apr_size_t n;
        for (i = start; i < len && path[i] != '/'; i++)
            ;
        n = i - start;
        if (n == 0 || (n == 1 && path[start] == '.'))
            continue;
        if (n == 2 && path[start] == '.' && path[start + 1] == '.') {
            if (nseg > 0)
                nseg--;
            continue;
        }
        seg_at[nseg] = start;
        seg_len[nseg++] = n;
    }
    norm = o = apr_palloc(p, len + 2);
    if (path[0] == '/')
        *o++ = '/';
    for (i = 0; i < nseg; i++) {
        if (i > 0)
            *o++ = '/';
        memcpy(o, path + seg_at[i], seg_len[i]);
        o += seg_len[i];
    }
    if (nseg > 0 && len > 0 && path[len - 1] == '/')
        *o++ = '/';
    olen = (apr_size_t)(o - norm);
    *o = '\0';
    *out = uri_encode(p, norm, olen, 1);
    return APR_SUCCESS;
}

typedef struct {
    const char *key;
    const char *value;
} sigv4_param_t;

static int param_cmp(const void *a, const void *b)
{
    const sigv4_param_t *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->value, y->value);
}

apr_status_t dsf_sigv4_canonical_query(apr_pool_t *p, const char *query,
                                       const char **out)
{
    apr_size_t len, n = 0, max = 1, i, start;
    sigv4_param_t *params;
    struct iovec *vec;
    apr_size_t nvec = 0;

    if (!query || !*query) {
        *out = "";
        return APR_SUCCESS;
    }
    if ((len = strlen(query)) > DSF_SIGV4_MAX_URL)
        return APR_EINVAL;
    for (i = 0; i < len; i++)
        if (query[i] == '&')
            max++;
    params = apr_palloc(p, max * sizeof(*params));
    for (start = 0; start <= len; start = i + 1) {
        const char *eq;
        apr_size_t plen, klen, dlen;
        char *d;

        for (i = start; i < len && query[i] != '&'; i++)
            ;
        if ((plen = i - start) == 0)
            continue;                          /* "a&&b": nothing between */
        eq = memchr(query + start, '=', plen);
        klen = eq ? (apr_size_t)(eq - (query + start)) : plen;
        d = uri_decode(p, query + start, klen, &dlen);
        params[n].key = uri_encode(p, d, dlen, 0);
        if (eq) {
            d = uri_decode(p, eq + 1, plen - klen - 1, &dlen);
            params[n].value = uri_encode(p, d, dlen, 0);
        }
        else {
            params[n].value = "";
        }
        n++;
    }
    qsort(params, n, sizeof(*params), param_cmp);
    vec = apr_palloc(p, (4 * n + 1) * sizeof(*vec));
    for (i = 0; i < n; i++) {
        if (i > 0) {
            vec[nvec].iov_base = (void *)"&";
            vec[nvec++].iov_len = 1;
        }
        vec[nvec].iov_base = (void *)params[i].key;
        vec[nvec++].iov_len = strlen(params[i].key);
        vec[nvec].iov_base = (void *)"=";
        vec[nvec++].iov_len = 1;
        vec[nvec].iov_base = (void *)params[i].value;
        vec[nvec++].iov_len = strlen(params[i].value);
    }
    *out = nvec ? apr_pstrcatv(p, vec, nvec, NULL) : "";
    return APR_SUCCESS;
}

static int hdr_cmp(const void *a, const void *b)
{
    const sigv4_hdr_t *x = a, *y = b;
    int c = strcmp(x->lname, y->lname);
    return c ? c : x->order - y->order;
}

/* Trims the value and folds runs of spaces and tabs into one space. */
static const char *fold_value(apr_pool_t *p, const char *v)
{
    char *out = apr_palloc(p, strlen(v) + 1), *o = out;
    int pending = 0;

    for (; *v; v++) {
        if (*v == ' ' || *v == '\t') {
            pending = (o != out);
            continue;
        }
        if (pending)
            *o++ = ' ';
        pending = 0;
        *o++ = *v;
    }
    *o = '\0';
    return out;
}

apr_status_t dsf_sigv4_canonical_headers(apr_pool_t *p,
                                         const apr_array_header_t *headers,
                                         const char **canonical,
                                         const char **signed_headers)
{
    sigv4_hdr_t *hs;
    int n, i, j;
    struct iovec *cv, *sv;
    apr_size_t nc = 0, ns = 0;

    n = headers ? headers->nelts : 0;
    if (n > DSF_SIGV4_MAX_HEADERS)
        return APR_EINVAL;
    hs = apr_palloc(p, (apr_size_t)(n + 1) * sizeof(*hs));
    for (i = 0; i < n; i++) {
        const dsf_header_t *h = &APR_ARRAY_IDX(headers, i, dsf_header_t);
        const char *v;
        char *l;

        if (!is_token(h->name, 256) || !h->value
            || strlen(h->value) > DSF_SIGV4_MAX_HEADER)
            return APR_EINVAL;
        for (v = h->value; *v; v++)            /* no header injection */
            if (*v == '\r' || *v == '\n')
                return APR_EINVAL;
        l = apr_pstrdup(p, h->name);
        for (j = 0; l[j]; j++)
            l[j] = (char)apr_tolower((unsigned char)l[j]);
        hs[i].lname = l;
        hs[i].value = fold_value(p, h->value);
        hs[i].order = i;
    }
    qsort(hs, (apr_size_t)n, sizeof(*hs), hdr_cmp);
    /* per distinct name: name ':' v1 ',' v2 ... '\n' and name ';' */
    cv = apr_palloc(p, (apr_size_t)(4 * n + 1) * sizeof(*cv));
    sv = apr_palloc(p, (apr_size_t)(2 * n + 1) * sizeof(*sv));
    for (i = 0; i < n; i = j) {
        if (ns) {
            sv[ns].iov_base = (void *)";";
            sv[ns++].iov_len = 1;
        }
        sv[ns].iov_base = (void *)hs[i].lname;
        sv[ns++].iov_len = strlen(hs[i].lname);
        cv[nc].iov_base = (void *)hs[i].lname;
        cv[nc++].iov_len = strlen(hs[i].lname);
        for (j = i; j < n && !strcmp(hs[j].lname, hs[i].lname); j++) {
            cv[nc].iov_base = (void *)(j == i ? ":" : ",");
            cv[nc++].iov_len = 1;
            cv[nc].iov_base = (void *)hs[j].value;
            cv[nc++].iov_len = strlen(hs[j].value);
        }
        cv[nc].iov_base = (void *)"\n";
        cv[nc++].iov_len = 1;
    }
    *canonical = nc ? apr_pstrcatv(p, cv, nc, NULL) : "";
    *signed_headers = ns ? apr_pstrcatv(p, sv, ns, NULL) : "";
    return APR_SUCCESS;
}

apr_status_t dsf_sigv4_string_to_sign(apr_pool_t *p, const char *amz_date,
                                      const char *scope,
                                      const char *canonical_request,
                                      const char **out)
{
    char hash[65];
    apr_status_t rv;

    if ((rv = dsf_sigv4_sha256_hex(hash, canonical_request, strlen(canonical_request))))
        return rv;
    *out = apr_pstrcat(p, ALGORITHM "\n", amz_date, "\n", scope, "\n", hash, NULL);
    return APR_SUCCESS;
}

apr_status_t dsf_sigv4_signing_key(dsf_sigv4_cache_t *cache, const char *secret,
                                   const char *day, const char *region,
                                   const char *service, unsigned char key[32])
{
    unsigned char secret_hash[32], k[32];
    char buf[4 + DSF_SIGV4_MAX_SECRET];
    apr_size_t slen;
    apr_status_t rv = APR_SUCCESS;
    int cacheable;

    if (!secret || (slen = strlen(secret)) == 0 || slen > DSF_SIGV4_MAX_SECRET)
        return DSF_ECREDS;
    if (strlen(day) != 8)
        return APR_EINVAL;
    if ((rv = sha256(secret_hash, secret, slen, NULL, 0)) != APR_SUCCESS)
        return rv;
    cacheable = cache && strlen(region) < sizeof(cache->region)
                && strlen(service) < sizeof(cache->service);
    if (cacheable && cache->valid && !strcmp(cache->day, day)
        && !strcmp(cache->region, region) && !strcmp(cache->service, service)
        && !CRYPTO_memcmp(cache->secret_hash, secret_hash, 32)) {
        memcpy(key, cache->key, 32);
        goto leave;
    }
    memcpy(buf, "AWS4", 4);
    memcpy(buf + 4, secret, slen);
    if ((rv = hmac_sha256(k, buf, 4 + slen, day, 8))
        || (rv = hmac_sha256(k, k, 32, region, strlen(region)))
        || (rv = hmac_sha256(k, k, 32, service, strlen(service)))
        || (rv = hmac_sha256(k, k, 32, "aws4_request", 12)))
        goto leave;
    memcpy(key, k, 32);
    if (cacheable) {
        strcpy(cache->day, day);
        strcpy(cache->region, region);
        strcpy(cache->service, service);
        memcpy(cache->secret_hash, secret_hash, 32);
        memcpy(cache->key, k, 32);
        cache->valid = 1;
    }
leave:
    OPENSSL_cleanse(buf, sizeof(buf));
    OPENSSL_cleanse(k, sizeof(k));
    return rv;
}

apr_status_t dsf_sigv4_signature(char *out, const unsigned char key[32],
                                 const char *string_to_sign)
{
    unsigned char mac[32];
    apr_status_t rv;

    if ((rv = hmac_sha256(mac, key, 32, string_to_sign, strlen(string_to_sign))))
        return rv;
    dsf_hex(out, mac, 32);
    return APR_SUCCESS;
}

/* Region and service go into the scope: keep them to what AWS names use. */
static int is_scope_part(const char *s)
{
    apr_size_t n = 0;
    if (!s || !*s)
        return 0;
    for (; *s; s++, n++) {
        unsigned char c = (unsigned char)*s;
        if (n >= 63 || !(apr_isalnum(c) || c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

static apr_status_t check_creds(const dsf_creds_t *creds)
{
    const char *s;
    apr_size_t n = 0;

    if (!creds || !creds->akid || !*creds->akid || !creds->secret || !*creds->secret
        || strlen(creds->secret) > DSF_SIGV4_MAX_SECRET)
        return DSF_ECREDS;
    /* It goes into "Credential=AKID/scope, ...": nothing that would split it
     * (emulators accept keys such as "test_key", so not only alphanumerics). */
    for (s = creds->akid; *s; s++, n++)
        if (n >= 128 || (unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f
            || strchr("/,;=", *s))
            return DSF_ECREDS;
    if (creds->token) {
        if (strlen(creds->token) > DSF_SIGV4_MAX_HEADER)
            return DSF_ECREDS;
        for (s = creds->token; *s; s++)
            if ((unsigned char)*s < 0x20 || *s == 0x7f)
                return DSF_ECREDS;
    }
    return APR_SUCCESS;
}

/* Drops headers this signer sets, so signing again never signs stale ones. */
static void drop_generated(apr_array_header_t *headers, int sign_body)
{
    int i, k = 0;
    for (i = 0; i < headers->nelts; i++) {
        dsf_header_t *h = &APR_ARRAY_IDX(headers, i, dsf_header_t);
        if (h->name && (!strcasecmp(h->name, "Authorization")
                        || !strcasecmp(h->name, "X-Amz-Date")
                        || !strcasecmp(h->name, "X-Amz-Security-Token")
                        || (sign_body && !strcasecmp(h->name, "x-amz-content-sha256"))))
            continue;
        if (k != i)
            APR_ARRAY_IDX(headers, k, dsf_header_t) = *h;
        k++;
    }
    headers->nelts = k;
}

apr_status_t dsf_sigv4_sign_ex(apr_pool_t *p, dsf_sigv4_cache_t *cache,
                               const dsf_creds_t *creds,
                               const char *region, const char *service,
                               apr_time_t now,
                               const char *method, const char *url,
                               apr_array_header_t *headers,
                               const char *body, apr_size_t body_len,
                               const dsf_sigv4_opts_t *opts,
                               dsf_sigv4_trace_t *trace)
{
    static const dsf_sigv4_opts_t dflt = { 1, 0, 0 };
    apr_array_header_t *to_sign;
    apr_pool_t *tmp = NULL;
    sigv4_url_t u;
    const char *curi, *cquery, *chdrs, *signed_hdrs, *creq, *sts, *scope;
    char amz_date[17], day[9], payload_hash[65], sig[65];
    unsigned char key[32];
    int nelts = -1;
    const char *token;
    apr_status_t rv;

    if (!opts)
        opts = &dflt;
    token = creds && creds->token && *creds->token ? creds->token : NULL;  /* "" is none */
    if ((rv = check_creds(creds)))
        return rv;
    if (!is_scope_part(region) || !is_scope_part(service) || !is_token(method, 32)
        || !headers || headers->elt_size != sizeof(dsf_header_t)
        || (!body && body_len))
        return APR_EINVAL;
    /* Intermediate strings die with tmp; what the caller keeps goes to p. */
    if ((rv = apr_pool_create(&tmp, p)) != APR_SUCCESS)
        return rv;
    if ((rv = parse_url(tmp, url, &u)))
        goto leave;

    drop_generated(headers, opts->sign_body);
    nelts = headers->nelts;
    if (nelts + 5 > DSF_SIGV4_MAX_HEADERS) {
        rv = APR_EINVAL;
        goto leave;
    }
    dsf_sigv4_amz_date(amz_date, now);
    memcpy(day, amz_date, 8);
    day[8] = '\0';
    if ((rv = dsf_sigv4_sha256_hex(payload_hash, body, body_len)))
        goto leave;
    if (!dsf_header_get(headers, "Host"))
        dsf_header_add(headers, "Host", apr_pstrdup(p, u.host));
    to_sign = headers;
    if (token && opts->omit_session_token)
        to_sign = apr_array_copy(tmp, headers);   /* all but the token */
    if (token)
        dsf_header_add(headers, "X-Amz-Security-Token", apr_pstrdup(p, token));
    dsf_header_add(headers, "X-Amz-Date", apr_pstrdup(p, amz_date));
    if (to_sign != headers)
        dsf_header_add(to_sign, "X-Amz-Date", amz_date);
    if (opts->sign_body) {
        dsf_header_add(headers, "x-amz-content-sha256", apr_pstrdup(p, payload_hash));
        if (to_sign != headers)
            dsf_header_add(to_sign, "x-amz-content-sha256", payload_hash);
    }

    if ((rv = dsf_sigv4_canonical_uri(tmp, u.path, opts->normalize, &curi))
        || (rv = dsf_sigv4_canonical_query(tmp, u.query, &cquery))
        || (rv = dsf_sigv4_canonical_headers(tmp, to_sign, &chdrs, &signed_hdrs)))
        goto leave;
    creq = apr_pstrcat(tmp, method, "\n", curi, "\n", cquery, "\n", chdrs, "\n",
                       signed_hdrs, "\n", payload_hash, NULL);
    scope = apr_pstrcat(tmp, day, "/", region, "/", service, "/aws4_request", NULL);
    if ((rv = dsf_sigv4_string_to_sign(tmp, amz_date, scope, creq, &sts))
        || (rv = dsf_sigv4_signing_key(cache, creds->secret, day, region, service, key))
        || (rv = dsf_sigv4_signature(sig, key, sts)))
        goto leave;
    dsf_header_add(headers, "Authorization",
                   apr_pstrcat(p, ALGORITHM " Credential=", creds->akid, "/", scope,
                               ", SignedHeaders=", signed_hdrs, ", Signature=", sig, NULL));
    if (trace) {
        trace->canonical_request = apr_pstrdup(p, creq);
        trace->string_to_sign = apr_pstrdup(p, sts);
        trace->signed_headers = apr_pstrdup(p, signed_hdrs);
        memcpy(trace->signature, sig, sizeof(sig));
    }
leave:
    if (rv && nelts >= 0)
        headers->nelts = nelts;                /* no half-signed request */
    OPENSSL_cleanse(key, sizeof(key));
    if (tmp)
        apr_pool_destroy(tmp);
    return rv;
}

apr_status_t dsf_sigv4_sign(apr_pool_t *p, dsf_sigv4_cache_t *cache,
                            const dsf_creds_t *creds,
                            const char *region, const char *service,
                            apr_time_t now,
                            const char *method, const char *url,
                            apr_array_header_t *headers,
                            const char *body, apr_size_t body_len)
{
    return dsf_sigv4_sign_ex(p, cache, creds, region, service, now, method, url,
                             headers, body, body_len, NULL, NULL);
}
