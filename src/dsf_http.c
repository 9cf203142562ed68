/* The one place that talks to libcurl: parallel requests over a multi handle
 * whose connection cache is kept between calls (keep-alive to SQS/Lambda). */
#include <string.h>
#include <curl/curl.h>
#include <apr_strings.h>
#include "dsf_http.h"

struct dsf_http_t {
    apr_pool_t *pool;
    CURLM *multi;              /* owns the connection cache: keep it */
    CURL **idle;               /* easy handles for reuse */
    int nidle, maxidle;
    dsf_http_opts_t opts;
};

typedef struct {
    dsf_http_req_t *req;
    apr_pool_t *p;
    struct curl_slist *hdrs;
    char *buf;
    apr_size_t len, cap, max;
    int over;
    char errbuf[CURL_ERROR_SIZE];
} xfer_t;

void dsf_http_opts_default(dsf_http_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->connect_timeout = apr_time_from_sec(2);
    o->timeout = apr_time_from_sec(10);
    o->max_response = 1024 * 1024;
    o->verify_tls = 1;
}

apr_status_t dsf_http_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? APR_SUCCESS : APR_EGENERAL;
}

static apr_status_t http_cleanup(void *data)
{
    dsf_http_t *h = data;
    int i;
    for (i = 0; i < h->nidle; i++)
        curl_easy_cleanup(h->idle[i]);
    h->nidle = 0;
    if (h->multi)
        curl_multi_cleanup(h->multi);
    h->multi = NULL;
    return APR_SUCCESS;
}

void dsf_http_forget(dsf_http_t *h)
{
    /* Leak on purpose: cleaning up would shut down the parent's connections. */
    h->multi = NULL;
    h->nidle = 0;
}

apr_status_t dsf_http_create(dsf_http_t **ph, apr_pool_t *p, const dsf_http_opts_t *opts)
{
    dsf_http_t *h = apr_pcalloc(p, sizeof(*h));
    h->pool = p;
    if (opts)
        h->opts = *opts;
    else
        dsf_http_opts_default(&h->opts);
    h->multi = curl_multi_init();
    if (!h->multi)
        return APR_ENOMEM;
    h->maxidle = 64;
    h->idle = apr_pcalloc(p, sizeof(CURL *) * h->maxidle);
    apr_pool_cleanup_register(p, h, http_cleanup, apr_pool_cleanup_null);
    *ph = h;
    return APR_SUCCESS;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *baton)
{
    xfer_t *x = baton;
    apr_size_t n = size * nmemb;
    if (x->len + n > x->max) {
        x->over = 1;
        return 0;                      /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    if (x->len + n + 1 > x->cap) {
        apr_size_t cap = x->cap ? x->cap : 1024;
        char *nb;
        while (cap < x->len + n + 1)
            cap *= 2;
        nb = apr_palloc(x->p, cap);
        if (x->len)
            memcpy(nb, x->buf, x->len);
        x->buf = nb;
        x->cap = cap;
    }
    memcpy(x->buf + x->len, data, n);
    x->len += n;
    x->buf[x->len] = '\0';
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *baton)
{
    xfer_t *x = baton;
    apr_size_t n = size * nmemb;
    const char *colon = memchr(data, ':', n);
    if (!strncmp(data, "HTTP/", 5 < n ? 5 : n))
        apr_table_clear(x->req->resp_headers);   /* a new response (after 100, redirects) */
    else if (colon && colon > data) {
        const char *v = colon + 1, *end = data + n;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
            end--;
        apr_table_addn(x->req->resp_headers, apr_pstrmemdup(x->p, data, colon - data),
                       apr_pstrmemdup(x->p, v, end - v));
    }
    return n;
}

static CURL *easy_get(dsf_http_t *h)
{
    if (h->nidle > 0)
        return h->idle[--h->nidle];
    return curl_easy_init();
}

static void easy_put(dsf_http_t *h, CURL *c)
{
    curl_easy_reset(c);
    if (h->nidle < h->maxidle)
        h->idle[h->nidle++] = c;
    else
        curl_easy_cleanup(c);
}

#define SETOPT(c, opt, val) do { if (curl_easy_setopt((c), (opt), (val)) != CURLE_OK) \
    { rv = APR_EGENERAL; goto leave; } } while (0)

static apr_status_t start_one(dsf_http_t *h, apr_pool_t *p, dsf_http_req_t *req, xfer_t *x)
{
    apr_status_t rv = APR_SUCCESS;
    apr_interval_time_t timeout = req->timeout > 0 ? req->timeout : h->opts.timeout;
    CURL *c;
    int i;

    memset(x, 0, sizeof(*x));
    x->req = req;
    x->p = p;
    x->max = h->opts.max_response;
    req->resp_headers = apr_table_make(p, 8);
    req->status = 0;
    req->resp_body = NULL;
    req->resp_len = 0;
    req->error = NULL;
    req->rv = APR_SUCCESS;

    if (req->headers) {
        for (i = 0; i < req->headers->nelts; i++) {
            const dsf_header_t *hd = &APR_ARRAY_IDX(req->headers, i, dsf_header_t);
            x->hdrs = curl_slist_append(x->hdrs, apr_pstrcat(p, hd->name, ": ", hd->value, NULL));
        }
    }
    /* No 100-continue round trip, and no Accept header the signature did not cover. */
    x->hdrs = curl_slist_append(x->hdrs, "Expect:");
    x->hdrs = curl_slist_append(x->hdrs, "Accept:");

    if (!(c = easy_get(h)))
        return APR_ENOMEM;
    SETOPT(c, CURLOPT_PRIVATE, x);
    SETOPT(c, CURLOPT_URL, req->url);
    SETOPT(c, CURLOPT_NOSIGNAL, 1L);
    SETOPT(c, CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(c, CURLOPT_CONNECTTIMEOUT_MS, (long)apr_time_as_msec(h->opts.connect_timeout));
    SETOPT(c, CURLOPT_TIMEOUT_MS, (long)apr_time_as_msec(timeout));
    SETOPT(c, CURLOPT_SSL_VERIFYPEER, h->opts.verify_tls ? 1L : 0L);
    SETOPT(c, CURLOPT_SSL_VERIFYHOST, h->opts.verify_tls ? 2L : 0L);
    if (h->opts.ca_file)
        SETOPT(c, CURLOPT_CAINFO, h->opts.ca_file);
    SETOPT(c, CURLOPT_TCP_KEEPALIVE, 1L);
    if (h->opts.no_proxy)
        SETOPT(c, CURLOPT_NOPROXY, "*");
    SETOPT(c, CURLOPT_HTTPHEADER, x->hdrs);
    SETOPT(c, CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(c, CURLOPT_WRITEDATA, x);
    SETOPT(c, CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(c, CURLOPT_HEADERDATA, x);
    SETOPT(c, CURLOPT_ERRORBUFFER, x->errbuf);
    if (!strcmp(req->method, "GET")) {
        SETOPT(c, CURLOPT_HTTPGET, 1L);
    }
    else {
        SETOPT(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        SETOPT(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        if (strcmp(req->method, "POST"))
            SETOPT(c, CURLOPT_CUSTOMREQUEST, req->method);
    }
    if (curl_multi_add_handle(h->multi, c) != CURLM_OK) {
        rv = APR_EGENERAL;
        goto leave;
    }
    return APR_SUCCESS;
leave:
    easy_put(h, c);
    return rv;
}

static void finish_one(dsf_http_t *h, CURL *c, CURLcode cc)
{
    xfer_t *x = NULL;
    dsf_http_req_t *req;
    long status = 0;

    curl_easy_getinfo(c, CURLINFO_PRIVATE, (char **)&x);
    req = x->req;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    req->status = (int)status;
    req->resp_body = x->buf ? x->buf : apr_pstrdup(x->p, "");
    req->resp_len = x->len;
    if (cc == CURLE_OK) {
        req->rv = APR_SUCCESS;
    }
    else if (x->over) {
        req->rv = DSF_EPARSE;
        req->error = apr_psprintf(x->p, "response body over %" APR_SIZE_T_FMT " bytes", x->max);
    }
    else {
        req->rv = DSF_EUNAVAIL;
        req->error = apr_pstrdup(x->p, x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc));
    }
    curl_multi_remove_handle(h->multi, c);
    curl_slist_free_all(x->hdrs);
    x->hdrs = NULL;
    easy_put(h, c);
}

apr_status_t dsf_http_perform(dsf_http_t *h, apr_pool_t *p,
                              dsf_http_req_t **reqs, int n, int max_parallel)
{
    xfer_t *xs;
    int next = 0, running = 0, active = 0;

    if (n <= 0)
        return APR_SUCCESS;
    if (!h->multi)
        return APR_EINIT;
    if (max_parallel <= 0 || max_parallel > n)
        max_parallel = n;
    xs = apr_pcalloc(p, sizeof(*xs) * n);

    for (;;) {
        CURLMsg *m;
        int left;

        while (active < max_parallel && next < n) {
            if (start_one(h, p, reqs[next], &xs[next]) != APR_SUCCESS) {
                reqs[next]->rv = APR_EGENERAL;
                reqs[next]->error = "could not set up the transfer";
                if (xs[next].hdrs)
                    curl_slist_free_all(xs[next].hdrs);
            }
            else
                active++;
            next++;
        }
        if (!active)
            break;
        if (curl_multi_perform(h->multi, &running) != CURLM_OK)
            return APR_EGENERAL;
        while ((m = curl_multi_info_read(h->multi, &left))) {
            if (m->msg == CURLMSG_DONE) {
                finish_one(h, m->easy_handle, m->data.result);
                active--;
            }
        }
        if (active && running)
            curl_multi_poll(h->multi, NULL, 0, 100, NULL);
    }
    return APR_SUCCESS;
}

const char *dsf_http_urlencode(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    apr_size_t len = strlen(s), i, o = 0;
    char *out = apr_palloc(p, 3 * len + 1);
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')
            || ch == '-' || ch == '_' || ch == '.' || ch == '~')
            out[o++] = (char)ch;
        else {
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    out[o] = '\0';
    return out;
}
