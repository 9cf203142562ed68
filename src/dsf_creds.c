/* AWS credentials: environment, shared credentials file, ECS/EKS container
 * endpoint, EC2 instance metadata (IMDSv2), or static keys from the
 * configuration; cached and refreshed before they expire.
 *
 * Secrets never enter a log line, an error text or a source description:
 * every "why" below names variables, files, hosts and HTTP statuses only. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_file_info.h>
#include <apr_thread_mutex.h>
#include <apr_thread_cond.h>
#include <apr_uri.h>
#include <apr_date.h>
#include <openssl/crypto.h>
#include "dsf.h"
#include "dsf_http.h"
#include "dsf_json.h"
#include "dsf_creds.h"

#define CREDS_CONNECT_TIMEOUT  apr_time_from_sec(1)
#define CREDS_TIMEOUT          apr_time_from_sec(2)
#define CREDS_MAX_RESPONSE     (64 * 1024)
#define CREDS_FILE_MAX         (256 * 1024)   /* a credentials file is a few KiB */
#define CREDS_LINE_MAX         8192           /* session tokens run to ~2 KiB */
#define CREDS_VALUE_MAX        8192
#define CREDS_TOKEN_FILE_MAX   16384
#define IMDS_DEFAULT           "http://169.254.169.254"
#define IMDS_DEFAULT_V6        "http://[fd00:ec2::254]"
#define ECS_HOST               "http://169.254.170.2"
#define IMDS_TOKEN_TTL         "21600"

/* The cache lives in one malloc'd block: it outlives every caller's pool and
 * is replaced whole under the mutex, then wiped. */
typedef struct {
    apr_size_t size;
    dsf_creds_t c;
    const char *source;
    /* strings follow */
} cached_t;

struct dsf_creds_provider_t {
    apr_pool_t *pool;
    dsf_creds_conf_t conf;
    apr_thread_mutex_t *mutex;
    apr_thread_cond_t *cond;
    cached_t *cache;
    int refreshing;            /* one refresher at a time */
    apr_uint64_t generation;   /* bumped when a refresh ends */
    apr_time_t last_attempt;
    apr_status_t last_rv;
    pid_t pid;                 /* the process the cache belongs to */
};

/* What one source produced. */
typedef struct {
    dsf_creds_t c;
    const char *source;
} found_t;

typedef struct {
    apr_pool_t *p;             /* per resolution */
    const dsf_creds_conf_t *conf;
    dsf_http_t *http;          /* created on first remote call */
} fetch_ctx_t;

/* ---------------------------------------------------------------------- */
/* small helpers */

static const char *env_get(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* Credentials travel in HTTP headers: printable ASCII without spaces only,
 * so a stray CR/LF can never split a header. */
static int value_ok(const char *s)
{
    apr_size_t n = 0;
    if (!s || !*s)
        return 0;
    for (; *s; s++, n++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || n >= CREDS_VALUE_MAX)
            return 0;
    return 1;
}

static apr_status_t check_values(const dsf_creds_t *c, const char **why, apr_pool_t *p,
                                 const char *what)
{
    if (!value_ok(c->akid))
        *why = apr_psprintf(p, "%s: access key id is empty or malformed", what);
    else if (!value_ok(c->secret))
        *why = apr_psprintf(p, "%s: secret access key is empty or malformed", what);
    else if (c->token && !value_ok(c->token))
        *why = apr_psprintf(p, "%s: session token is malformed", what);
    else
        return APR_SUCCESS;
    return DSF_ECREDS;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0, i;
    for (i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static apr_int64_t days_from_civil(int y, int m, int d)
{
    apr_int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

apr_status_t dsf_creds_time_parse(const char *s, apr_time_t *t)
{
    static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int Y, M, D, h, m, sec, oh = 0, om = 0, sign = 0, leap;
    apr_int64_t secs;

    /* fixed layout: every position checked, nothing read past the NUL */
    if (!s || strnlen(s, 64) >= 64)
        return DSF_EPARSE;
    if (!digits(s, 4, &Y) || s[4] != '-' || !digits(s + 5, 2, &M) || s[7] != '-'
        || !digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't')
        || !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &m)
        || s[16] != ':' || !digits(s + 17, 2, &sec))
        return DSF_EPARSE;
    s += 19;
    if (*s == '.') {               /* fraction: ignored, up to 9 digits */
        int n = 0;
        for (s++; isdigit((unsigned char)*s); s++)
            if (++n > 9)
                return DSF_EPARSE;
        if (!n)
            return DSF_EPARSE;
    }
    if (*s == 'Z' || *s == 'z')
        s++;
    else if (*s == '+' || *s == '-') {
        sign = *s == '+' ? 1 : -1;
        if (!digits(s + 1, 2, &oh) || s[3] != ':' || !digits(s + 4, 2, &om)
            || oh > 23 || om > 59)
            return DSF_EPARSE;
        s += 6;
    }
    else
        return DSF_EPARSE;         /* no zone: AWS always sends one */
    if (*s)
        return DSF_EPARSE;

    leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    if (Y < 1970 || M < 1 || M > 12 || D < 1 || D > mdays[M - 1]
        || (M == 2 && D == 29 && !leap) || h > 23 || m > 59 || sec > 60)
        return DSF_EPARSE;
    if (sec == 60)                 /* a leap second: the next second will do */
        sec = 59;
    secs = days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + sec
           - sign * (oh * 3600 + om * 60);
    if (secs < 0)
        return DSF_EPARSE;
    *t = apr_time_from_sec(secs);
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------------- */
/* environment */

static apr_status_t from_env(fetch_ctx_t *x, found_t *f, const char **why)
{
    const char *akid = env_get("AWS_ACCESS_KEY_ID");
    const char *secret = env_get("AWS_SECRET_ACCESS_KEY");
    const char *exp = env_get("AWS_CREDENTIAL_EXPIRATION");

    if (!akid && !secret) {
        *why = "env: AWS_ACCESS_KEY_ID is not set";
        return APR_NOTFOUND;
    }
    if (!akid) {
        *why = "env: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not";
        return DSF_ECREDS;
    }
    if (!secret) {
        *why = "env: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not";
        return DSF_ECREDS;
    }
    f->c.akid = apr_pstrdup(x->p, akid);
    f->c.secret = apr_pstrdup(x->p, secret);
    f->c.token = env_get("AWS_SESSION_TOKEN") ? apr_pstrdup(x->p, env_get("AWS_SESSION_TOKEN")) : NULL;
    f->c.expires = 0;
    if (exp && dsf_creds_time_parse(exp, &f->c.expires) != APR_SUCCESS) {
        *why = "env: AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 time";
        return DSF_ECREDS;
    }
    f->source = "env";
    return check_values(&f->c, why, x->p, "env");
}

/* ---------------------------------------------------------------------- */
/* shared credentials file */

static const char *file_path(apr_pool_t *p, const dsf_creds_conf_t *conf, const char **why)
{
    const char *path = conf->file ? conf->file : env_get("AWS_SHARED_CREDENTIALS_FILE");
    const char *home = env_get("HOME");

    if (path && path[0] == '~' && path[1] == '/') {
        if (!home) {
            *why = apr_psprintf(p, "file %s: HOME is not set", path);
            return NULL;
        }
        return apr_pstrcat(p, home, path + 1, NULL);
    }
    if (path)
        return path;
    if (!home) {
        *why = "file: neither AWS_SHARED_CREDENTIALS_FILE nor HOME is set";
        return NULL;
    }
    return apr_pstrcat(p, home, "/.aws/credentials", NULL);
}

static char *trim(char *s, char *end)
{
    while (s < end && isspace((unsigned char)*s))
        s++;
    while (end > s && isspace((unsigned char)end[-1]))
        end--;
    *end = '\0';
    return s;
}

/* Reads the whole file, refusing one over CREDS_FILE_MAX. */
static apr_status_t read_bounded(apr_pool_t *p, const char *path, apr_size_t max,
                                 char **pbuf, apr_size_t *plen, const char **reason)
{
    apr_file_t *fd = NULL;
    apr_finfo_t fi;
    apr_size_t len;
    char *buf;
    char ebuf[128];
    apr_status_t rv;

    rv = apr_file_open(&fd, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p);
    if (rv != APR_SUCCESS) {
        *reason = apr_pstrdup(p, apr_strerror(rv, ebuf, sizeof(ebuf)));
        goto leave;
    }
    rv = apr_file_info_get(&fi, APR_FINFO_SIZE | APR_FINFO_TYPE, fd);
    if (rv != APR_SUCCESS) {
        *reason = apr_pstrdup(p, apr_strerror(rv, ebuf, sizeof(ebuf)));
        goto leave;
    }
    if (fi.filetype != APR_REG) {
        *reason = "not a regular file";
        rv = APR_EINVAL;
        goto leave;
    }
    if (fi.size > (apr_off_t)max) {
        *reason = apr_psprintf(p, "larger than %" APR_SIZE_T_FMT " bytes", max);
        rv = APR_EINVAL;
        goto leave;
    }
    /* one byte more than allowed, in case the file grew since the stat */
    buf = apr_palloc(p, max + 2);
    len = max + 1;
    rv = apr_file_read_full(fd, buf, len, &len);
    if (rv == APR_EOF)
        rv = APR_SUCCESS;
    if (rv != APR_SUCCESS) {
        *reason = apr_pstrdup(p, apr_strerror(rv, ebuf, sizeof(ebuf)));
        goto leave;
    }
    if (len > max) {
        *reason = apr_psprintf(p, "larger than %" APR_SIZE_T_FMT " bytes", max);
        rv = APR_EINVAL;
        goto leave;
    }
    buf[len] = '\0';
    *pbuf = buf;
    *plen = len;
leave:
    if (fd)
        apr_file_close(fd);
    return rv;
}

/* INI as the SDKs read ~/.aws/credentials: [name] sections, key = value,
 * full-line comments with # or ;, and (since no credential holds a space)
 * a value ends at whitespace followed by # or ;. */
static apr_status_t from_file(fetch_ctx_t *x, found_t *f, const char **why)
{
    apr_pool_t *p = x->p;
    const char *path, *profile, *reason = NULL, *where;
    char *buf = NULL, *line, *next, *end, *s;
    apr_size_t len = 0;
    int lineno = 0, in_profile = 0, seen_profile = 0, has_role = 0;
    apr_status_t rv;

    memset(&f->c, 0, sizeof(f->c));
    if (!(path = file_path(p, x->conf, why)))
        return x->conf->source == DSF_CREDS_FILE ? DSF_ECREDS : APR_NOTFOUND;
    profile = x->conf->profile ? x->conf->profile : env_get("AWS_PROFILE");
    if (!profile)
        profile = "default";
    where = apr_psprintf(p, "file %s [%s]", path, profile);

    rv = read_bounded(p, path, CREDS_FILE_MAX, &buf, &len, &reason);
    if (rv != APR_SUCCESS) {
        *why = apr_psprintf(p, "file %s: %s", path, reason);
        /* an absent default file just means "not this source" */
        return APR_STATUS_IS_ENOENT(rv) ? APR_NOTFOUND : DSF_ECREDS;
    }
    if (memchr(buf, '\0', len)) {
        *why = apr_psprintf(p, "file %s: contains NUL bytes", path);
        return DSF_ECREDS;
    }

    for (line = buf; line < buf + len; line = next) {
        lineno++;
        end = memchr(line, '\n', (buf + len) - line);
        next = end ? end + 1 : buf + len;
        if (!end)
            end = buf + len;
        if ((apr_size_t)(end - line) > CREDS_LINE_MAX) {
            *why = apr_psprintf(p, "file %s: line %d is longer than %d bytes",
                                path, lineno, CREDS_LINE_MAX);
            return DSF_ECREDS;
        }
        s = trim(line, end);
        if (!*s || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            char *rest;
            if (!close) {
                *why = apr_psprintf(p, "file %s: line %d: section without ']'", path, lineno);
                return DSF_ECREDS;
            }
            rest = close + 1;
            while (isspace((unsigned char)*rest))
                rest++;
            if (*rest && *rest != '#' && *rest != ';') {
                *why = apr_psprintf(p, "file %s: line %d: text after ']'", path, lineno);
                return DSF_ECREDS;
            }
            s = trim(s + 1, close);
            in_profile = !strcmp(s, profile);
            seen_profile |= in_profile;
            continue;
        }
        {
            char *eq = strchr(s, '='), *key, *val, *c;
            if (!eq) {
                *why = apr_psprintf(p, "file %s: line %d is neither [section] nor key = value",
                                    path, lineno);
                return DSF_ECREDS;
            }
            key = trim(s, eq);
            val = eq + 1;
            for (c = val; *c; c++)
                if ((*c == '#' || *c == ';') && c > val && isspace((unsigned char)c[-1])) {
                    *c = '\0';
                    break;
                }
            val = trim(val, val + strlen(val));
            if (!in_profile)
                continue;
            if (!strcasecmp(key, "aws_access_key_id"))
                f->c.akid = val;
            else if (!strcasecmp(key, "aws_secret_access_key"))
                f->c.secret = val;
            else if (!strcasecmp(key, "aws_session_token"))
                f->c.token = *val ? val : NULL;
            else if (!strcasecmp(key, "role_arn") || !strcasecmp(key, "credential_process")
                     || !strncasecmp(key, "sso_", 4))
                has_role = 1;
        }
    }

    if (!seen_profile) {
        *why = apr_psprintf(p, "%s: no such profile", where);
        return x->conf->source == DSF_CREDS_FILE ? DSF_ECREDS : APR_NOTFOUND;
    }
    if (!f->c.akid || !*f->c.akid) {
        *why = apr_psprintf(p, "%s: no aws_access_key_id%s", where,
                            has_role ? " (role_arn, sso and credential_process profiles are"
                                       " not supported)" : "");
        return DSF_ECREDS;
    }
    if (!f->c.secret || !*f->c.secret) {
        *why = apr_psprintf(p, "%s: no aws_secret_access_key", where);
        return DSF_ECREDS;
    }
    f->source = where;
    return check_values(&f->c, why, p, where);
}

/* ---------------------------------------------------------------------- */
/* remote sources: container endpoint and IMDSv2 */

static apr_status_t http_get(fetch_ctx_t *x, const char *what, const char *method,
                             const char *url, apr_array_header_t *hdrs,
                             dsf_http_req_t **preq, const char **why)
{
    dsf_http_req_t *req;
    apr_status_t rv;

    if (!x->http) {
        dsf_http_opts_t opts;
        dsf_http_opts_default(&opts);
        opts.connect_timeout = CREDS_CONNECT_TIMEOUT;
        opts.timeout = CREDS_TIMEOUT;
        opts.max_response = CREDS_MAX_RESPONSE;
        rv = dsf_http_create(&x->http, x->p, &opts);
        if (rv != APR_SUCCESS) {
            *why = apr_psprintf(x->p, "%s: cannot create an HTTP client", what);
            return rv;
        }
    }
    req = apr_pcalloc(x->p, sizeof(*req));
    req->method = method;
    req->url = url;
    req->headers = hdrs;
    req->body = "";
    req->body_len = 0;
    req->timeout = CREDS_TIMEOUT;
    rv = dsf_http_perform(x->http, x->p, &req, 1, 1);
    if (rv == APR_SUCCESS)
        rv = req->rv;
    if (rv != APR_SUCCESS) {
        *why = apr_psprintf(x->p, "%s: no answer (%s)", what,
                            req->error ? req->error : dsf_strerror(rv, x->p));
        return DSF_ECREDS;
    }
    *preq = req;
    return APR_SUCCESS;
}

/* AccessKeyId, SecretAccessKey, Token, Expiration: the same JSON from both. */
static apr_status_t parse_creds_json(fetch_ctx_t *x, const char *what, dsf_http_req_t *req,
                                     int need_expiration, found_t *f, const char **why)
{
    dsf_json_t *j = NULL;
    dsf_json_error_t err;
    const char *exp, *code;

    if (dsf_json_parse(&j, x->p, req->resp_body, req->resp_len, &err) != APR_SUCCESS
        || !dsf_json_is_object(j)) {
        *why = apr_psprintf(x->p, "%s: response is not a JSON object", what);
        return DSF_ECREDS;
    }
    code = dsf_json_get_str(j, "Code");
    if (code && strcmp(code, "Success")) {
        *why = apr_psprintf(x->p, "%s: Code %s", what,
                            value_ok(code) && strlen(code) < 64 ? code : "(unprintable)");
        return DSF_ECREDS;
    }
    f->c.akid = dsf_json_get_str(j, "AccessKeyId");
    f->c.secret = dsf_json_get_str(j, "SecretAccessKey");
    f->c.token = dsf_json_get_str(j, "Token");
    exp = dsf_json_get_str(j, "Expiration");
    f->c.expires = 0;
    if (!f->c.akid || !f->c.secret) {
        *why = apr_psprintf(x->p, "%s: response lacks AccessKeyId or SecretAccessKey", what);
        return DSF_ECREDS;
    }
    if (exp) {
        if (dsf_creds_time_parse(exp, &f->c.expires) != APR_SUCCESS) {
            *why = apr_psprintf(x->p, "%s: Expiration is not an ISO 8601 time", what);
            return DSF_ECREDS;
        }
    }
    else if (need_expiration) {
        *why = apr_psprintf(x->p, "%s: response lacks Expiration", what);
        return DSF_ECREDS;
    }
    return check_values(&f->c, why, x->p, what);
}

/* GET a credentials document (container or IMDS role) and read it. */
static apr_status_t fetch_creds(fetch_ctx_t *x, const char *what, const char *url,
                                apr_array_header_t *hdrs, int need_expiration,
                                found_t *f, const char **why)
{
    dsf_http_req_t *req;
    apr_status_t rv;

    if ((rv = http_get(x, what, "GET", url, hdrs, &req, why)) != APR_SUCCESS)
        return rv;
    if (req->status != 200) {
        *why = apr_psprintf(x->p, "%s: HTTP %d", what, req->status);
        return DSF_ECREDS;
    }
    return parse_creds_json(x, what, req, need_expiration, f, why);
}

/* The SDKs accept a plain-http FULL_URI only on loopback or the ECS/EKS
 * agents' link-local addresses: anything else would send the token in clear. */
static int container_host_ok(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    static const unsigned char eks6[16] =
        { 0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x23 };

    if (!host)
        return 0;
    if (!strcasecmp(host, "localhost"))
        return 1;   /* curl answers "localhost" itself, without DNS */
    if (inet_pton(AF_INET, host, &a4) == 1) {
        unsigned long h = ntohl(a4.s_addr);
        return (h >> 24) == 127 || h == 0xA9FEAA02UL /* 169.254.170.2 */
               || h == 0xA9FEAA17UL /* 169.254.170.23 */;
    }
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6) || !memcmp(&a6, eks6, 16);
    return 0;
}

static apr_status_t container_token(fetch_ctx_t *x, const char **ptoken, const char **why)
{
    const char *file = env_get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *reason = NULL;
    char *buf = NULL;
    apr_size_t len = 0;

    *ptoken = NULL;
    if (file) {   /* read each time: EKS rotates it */
        if (read_bounded(x->p, file, CREDS_TOKEN_FILE_MAX, &buf, &len, &reason) != APR_SUCCESS) {
            *why = apr_psprintf(x->p, "container: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: %s",
                                file, reason);
            return DSF_ECREDS;
        }
        *ptoken = trim(buf, buf + len);
    }
    else
        *ptoken = env_get("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    if (*ptoken && strpbrk(*ptoken, "\r\n")) {
        *why = "container: the authorization token contains a line break";
        return DSF_ECREDS;
    }
    if (*ptoken && !**ptoken)
        *ptoken = NULL;
    return APR_SUCCESS;
}

static apr_status_t from_container(fetch_ctx_t *x, found_t *f, const char **why)
{
    const char *rel = env_get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = env_get("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const char *url, *token, *what;
    apr_array_header_t *hdrs;
    apr_uri_t uri;
    apr_status_t rv;

    if (rel) {
        if (rel[0] != '/') {
            *why = "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI does not start with '/'";
            return DSF_ECREDS;
        }
        url = apr_pstrcat(x->p, ECS_HOST, rel, NULL);
    }
    else if (full)
        url = full;
    else {
        *why = "container: neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor"
               " AWS_CONTAINER_CREDENTIALS_FULL_URI is set";
        return APR_NOTFOUND;
    }
    if (apr_uri_parse(x->p, url, &uri) != APR_SUCCESS || !uri.scheme || !uri.hostname) {
        *why = "container: the credentials URI is malformed";
        return DSF_ECREDS;
    }
    /* name the endpoint by scheme, host and port only: a path may be private */
    what = apr_psprintf(x->p, "container %s://%s%s%s", uri.scheme,
                        strchr(uri.hostname, ':') ? apr_psprintf(x->p, "[%s]", uri.hostname)
                                                  : uri.hostname,
                        uri.port_str ? ":" : "", uri.port_str ? uri.port_str : "");
    if (strcasecmp(uri.scheme, "https")
        && !(strcasecmp(uri.scheme, "http") == 0 && container_host_ok(uri.hostname))) {
        *why = apr_psprintf(x->p, "%s: refused, only https or a loopback host may be used",
                            what);
        return DSF_ECREDS;
    }
    if ((rv = container_token(x, &token, why)) != APR_SUCCESS)
        return rv;
    hdrs = apr_array_make(x->p, 1, sizeof(dsf_header_t));
    if (token)
        dsf_header_add(hdrs, "Authorization", token);
    if ((rv = fetch_creds(x, what, url, hdrs, 0, f, why)) != APR_SUCCESS)
        return rv;
    f->source = "container";
    return APR_SUCCESS;
}

static int imds_disabled(void)
{
    const char *v = env_get("AWS_EC2_METADATA_DISABLED");
    return v && !strcasecmp(v, "true");
}

static int role_name_ok(const char *s)
{
    if (!*s || strlen(s) > 128)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("+=,.@_-", *s))
            return 0;
    return 1;
}

static apr_status_t from_imds(fetch_ctx_t *x, found_t *f, const char **why)
{
    const char *base = env_get("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    const char *mode = env_get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    const char *token, *what, *role;
    apr_array_header_t *hdrs;
    dsf_http_req_t *req = NULL;
    apr_size_t n;
    char *r;
    apr_status_t rv;

    if (imds_disabled()) {
        *why = "imds: disabled by AWS_EC2_METADATA_DISABLED";
        return APR_NOTFOUND;
    }
    if (!base)
        base = mode && !strcasecmp(mode, "IPv6") ? IMDS_DEFAULT_V6 : IMDS_DEFAULT;
    if (strncasecmp(base, "http://", 7) && strncasecmp(base, "https://", 8)) {
        *why = "imds: AWS_EC2_METADATA_SERVICE_ENDPOINT is not an http(s) URL";
        return DSF_ECREDS;
    }
    n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    base = apr_pstrndup(x->p, base, n);
    what = apr_psprintf(x->p, "imds %s", base);

    /* IMDSv2 only: a session token first */
    hdrs = apr_array_make(x->p, 1, sizeof(dsf_header_t));
    dsf_header_add(hdrs, "X-aws-ec2-metadata-token-ttl-seconds", IMDS_TOKEN_TTL);
    if ((rv = http_get(x, what, "PUT", apr_pstrcat(x->p, base, "/latest/api/token", NULL),
                       hdrs, &req, why)) != APR_SUCCESS)
        return rv;
    if (req->status != 200) {
        *why = apr_psprintf(x->p, "%s: token request answered HTTP %d", what, req->status);
        return DSF_ECREDS;
    }
    token = trim(req->resp_body, req->resp_body + req->resp_len);
    if (!value_ok(token)) {
        *why = apr_psprintf(x->p, "%s: malformed session token", what);
        return DSF_ECREDS;
    }

    hdrs = apr_array_make(x->p, 1, sizeof(dsf_header_t));
    dsf_header_add(hdrs, "X-aws-ec2-metadata-token", token);
    if ((rv = http_get(x, what, "GET",
                       apr_pstrcat(x->p, base, "/latest/meta-data/iam/security-credentials/", NULL),
                       hdrs, &req, why)) != APR_SUCCESS)
        return rv;
    if (req->status == 404) {
        *why = apr_psprintf(x->p, "%s: no IAM role is attached to this instance", what);
        return DSF_ECREDS;
    }
    if (req->status != 200) {
        *why = apr_psprintf(x->p, "%s: role request answered HTTP %d", what, req->status);
        return DSF_ECREDS;
    }
    r = req->resp_body;                       /* one role per line; the first */
    role = trim(r, r + strcspn(r, "\r\n"));
    if (!role_name_ok(role)) {
        *why = apr_psprintf(x->p, "%s: malformed role name", what);
        return DSF_ECREDS;
    }
    what = apr_psprintf(x->p, "imds %s role %s", base, role);

    if ((rv = fetch_creds(x, what,
                          apr_pstrcat(x->p, base, "/latest/meta-data/iam/security-credentials/",
                                      role, NULL),
                          hdrs, 1, f, why)) != APR_SUCCESS)
        return rv;
    f->source = "imds";
    return APR_SUCCESS;
}

static apr_status_t from_static(fetch_ctx_t *x, found_t *f, const char **why)
{
    f->c.akid = x->conf->akid;
    f->c.secret = x->conf->secret;
    f->c.token = x->conf->token;
    f->c.expires = 0;
    f->source = "static";
    return check_values(&f->c, why, x->p, "static");
}

/* ---------------------------------------------------------------------- */
/* resolution */

typedef apr_status_t source_fn(fetch_ctx_t *x, found_t *f, const char **why);

/* Runs the configured source, or the chain. In the chain an absent source
 * (APR_NOTFOUND) passes to the next; a present but broken one ends it, as in
 * the SDKs: falling through could silently pick another identity (say, the
 * instance's role instead of the task's). */
static apr_status_t resolve(apr_pool_t *p, const dsf_creds_conf_t *conf, found_t *f,
                            const char **why)
{
    static source_fn *const chain[] = { from_env, from_file, from_container, from_imds };
    fetch_ctx_t x;
    const char *reason = NULL, *all = NULL;
    apr_status_t rv = DSF_ECREDS;
    int i;

    memset(&x, 0, sizeof(x));
    memset(f, 0, sizeof(*f));
    x.p = p;
    x.conf = conf;
    switch (conf->source) {
    case DSF_CREDS_ENV:       rv = from_env(&x, f, &reason); break;
    case DSF_CREDS_FILE:      rv = from_file(&x, f, &reason); break;
    case DSF_CREDS_CONTAINER: rv = from_container(&x, f, &reason); break;
    case DSF_CREDS_IMDS:      rv = from_imds(&x, f, &reason); break;
    case DSF_CREDS_STATIC:    rv = from_static(&x, f, &reason); break;
    case DSF_CREDS_CHAIN:
        for (i = 0; i < (int)(sizeof(chain) / sizeof(chain[0])); i++) {
            reason = NULL;
            memset(f, 0, sizeof(*f));
            rv = chain[i](&x, f, &reason);
            if (rv == APR_SUCCESS)
                break;
            all = all ? apr_pstrcat(p, all, "; ", reason, NULL) : reason;
            if (rv != APR_NOTFOUND)
                break;
        }
        if (rv != APR_SUCCESS) {
            *why = apr_pstrcat(p, "no AWS credentials from the chain (env, file, container,"
                               " imds): ", all, NULL);
            return DSF_ECREDS;
        }
        break;
    }
    if (rv != APR_SUCCESS) {
        *why = apr_pstrcat(p, "no AWS credentials: ", reason, NULL);
        return DSF_ECREDS;
    }
    return APR_SUCCESS;
}

/* ---------------------------------------------------------------------- */
/* the cache */

static cached_t *cache_make(const found_t *f)
{
    apr_size_t la = strlen(f->c.akid) + 1, ls = strlen(f->c.secret) + 1;
    apr_size_t lt = f->c.token ? strlen(f->c.token) + 1 : 0, lsrc = strlen(f->source) + 1;
    apr_size_t size = sizeof(cached_t) + la + ls + lt + lsrc;
    cached_t *c = malloc(size);
    char *s;

    if (!c)
        return NULL;
    c->size = size;
    s = (char *)(c + 1);
    c->c.akid = memcpy(s, f->c.akid, la);        s += la;
    c->c.secret = memcpy(s, f->c.secret, ls);    s += ls;
    c->c.token = lt ? memcpy(s, f->c.token, lt) : NULL;
    s += lt;
    c->source = memcpy(s, f->source, lsrc);
    c->c.expires = f->c.expires;
    return c;
}

static void cache_free(cached_t *c)
{
    if (c) {
        OPENSSL_cleanse(c, c->size);
        free(c);
    }
}

static apr_status_t provider_cleanup(void *data)
{
    dsf_creds_provider_t *cp = data;
    cache_free(cp->cache);
    cp->cache = NULL;
    return APR_SUCCESS;
}

static void copy_out(const cached_t *c, apr_pool_t *p, dsf_creds_t *out)
{
    out->akid = apr_pstrdup(p, c->c.akid);
    out->secret = apr_pstrdup(p, c->c.secret);
    out->token = c->c.token ? apr_pstrdup(p, c->c.token) : NULL;
    out->expires = c->c.expires;
}

apr_status_t dsf_creds_provider_create(dsf_creds_provider_t **pcp, apr_pool_t *p,
                                       const dsf_creds_conf_t *conf)
{
    dsf_creds_provider_t *cp = apr_pcalloc(p, sizeof(*cp));
    apr_status_t rv;

    cp->pool = p;
    cp->conf = *conf;
    if (!cp->conf.refresh_before)
        cp->conf.refresh_before = DSF_CREDS_REFRESH_BEFORE;
    if (!cp->conf.retry_interval)
        cp->conf.retry_interval = DSF_CREDS_RETRY_INTERVAL;
    cp->pid = getpid();
    cp->last_rv = APR_SUCCESS;
    if ((rv = apr_thread_mutex_create(&cp->mutex, APR_THREAD_MUTEX_DEFAULT, p)) != APR_SUCCESS)
        return rv;
    if ((rv = apr_thread_cond_create(&cp->cond, p)) != APR_SUCCESS)
        return rv;
    apr_pool_cleanup_register(p, cp, provider_cleanup, apr_pool_cleanup_null);
    *pcp = cp;
    return APR_SUCCESS;
}

/* Credentials cached in a parent belong to it: a child resolves its own. */
static void fork_check(dsf_creds_provider_t *cp)
{
    pid_t pid = getpid();
    if (cp->pid != pid) {
        cache_free(cp->cache);
        cp->cache = NULL;
        cp->refreshing = 0;
        cp->last_attempt = 0;
        cp->last_rv = APR_SUCCESS;
        cp->pid = pid;
    }
}

static const char *time_str(apr_pool_t *p, apr_time_t t)
{
    char *buf = apr_palloc(p, APR_RFC822_DATE_LEN);
    if (!t)
        return "never";
    apr_rfc822_date(buf, t);
    return buf;
}

apr_status_t dsf_creds_get(dsf_creds_provider_t *cp, apr_pool_t *p, dsf_creds_t *out)
{
    apr_pool_t *tmp = NULL;
    cached_t *fresh = NULL;
    found_t f;
    const char *why = NULL;
    apr_time_t now;
    apr_status_t rv;

    apr_thread_mutex_lock(cp->mutex);
    fork_check(cp);
    for (;;) {
        cached_t *c = cp->cache;
        int valid;

        now = apr_time_now();
        if (c && (!c->c.expires || now < c->c.expires - cp->conf.refresh_before)) {
            copy_out(c, p, out);
            rv = APR_SUCCESS;
            goto unlock;
        }
        valid = c && now < c->c.expires;
        if (cp->refreshing) {
            apr_uint64_t gen = cp->generation;
            if (valid) {          /* someone is refreshing: use what we have */
                copy_out(c, p, out);
                rv = APR_SUCCESS;
                goto unlock;
            }
            while (cp->refreshing && cp->generation == gen)
                apr_thread_cond_wait(cp->cond, cp->mutex);
            continue;
        }
        if (cp->last_attempt && now - cp->last_attempt < cp->conf.retry_interval) {
            if (valid) {
                copy_out(c, p, out);
                rv = APR_SUCCESS;
                goto unlock;
            }
            if (cp->last_rv != APR_SUCCESS) {   /* failed just now: no hammering */
                rv = cp->last_rv;
                goto unlock;
            }
        }
        break;
    }
    cp->refreshing = 1;
    cp->last_attempt = now;
    apr_thread_mutex_unlock(cp->mutex);

    /* the fetch runs unlocked, in a pool of this call */
    rv = apr_pool_create(&tmp, p);
    if (rv == APR_SUCCESS)
        rv = resolve(tmp, &cp->conf, &f, &why);
    if (rv == APR_SUCCESS && f.c.expires && f.c.expires <= apr_time_now()) {
        why = apr_psprintf(tmp, "no AWS credentials: %s handed out credentials that expired"
                           " at %s", f.source, time_str(tmp, f.c.expires));
        rv = DSF_ECREDS;
    }
    if (rv == APR_SUCCESS && !(fresh = cache_make(&f)))
        rv = APR_ENOMEM;

    apr_thread_mutex_lock(cp->mutex);
    cp->refreshing = 0;
    cp->generation++;
    if (rv == APR_SUCCESS) {
        cache_free(cp->cache);
        cp->cache = fresh;
        cp->last_rv = APR_SUCCESS;
        if (fresh->c.expires)
            dsf_log(DSF_LOG_INFO, 0, "DSF03001: temporary AWS credentials from %s, expiring %s",
                    fresh->source, time_str(tmp, fresh->c.expires));
        else
            dsf_log(DSF_LOG_INFO, 0, "DSF03001: long-term AWS credentials from %s", fresh->source);
    }
    else {
        cp->last_rv = DSF_ECREDS;
        if (cp->cache && apr_time_now() < cp->cache->c.expires) {
            dsf_log(DSF_LOG_WARNING, rv, "DSF03002: refreshing AWS credentials failed, keeping"
                    " those from %s until they expire at %s: %s", cp->cache->source,
                    time_str(tmp ? tmp : p, cp->cache->c.expires), why ? why : "");
        }
        else {
            cache_free(cp->cache);   /* expired: of no use to anyone */
            cp->cache = NULL;
            dsf_log(DSF_LOG_ERR, rv, "DSF03003: %s", why ? why : "no AWS credentials");
        }
    }
    apr_thread_cond_broadcast(cp->cond);
    if (cp->cache && (!cp->cache->c.expires || apr_time_now() < cp->cache->c.expires)) {
        copy_out(cp->cache, p, out);
        rv = APR_SUCCESS;
    }
    else
        rv = DSF_ECREDS;
unlock:
    apr_thread_mutex_unlock(cp->mutex);
    if (tmp)
        apr_pool_destroy(tmp);
    return rv;
}

const char *dsf_creds_source(dsf_creds_provider_t *cp, apr_pool_t *p)
{
    const char *s;
    apr_thread_mutex_lock(cp->mutex);
    fork_check(cp);
    s = cp->cache ? apr_pstrdup(p, cp->cache->source) : "none";
    apr_thread_mutex_unlock(cp->mutex);
    return s;
}

apr_status_t dsf_creds_check(const dsf_creds_conf_t *conf, apr_pool_t *p, const char **why)
{
    apr_pool_t *tmp = NULL;
    found_t f;
    const char *reason = NULL;
    apr_status_t rv;

    if ((rv = apr_pool_create(&tmp, p)) != APR_SUCCESS)
        return rv;
    rv = resolve(tmp, conf, &f, &reason);
    if (rv == APR_SUCCESS && f.c.expires && f.c.expires <= apr_time_now()) {
        reason = apr_psprintf(tmp, "no AWS credentials: %s handed out credentials that expired"
                              " at %s", f.source, time_str(tmp, f.c.expires));
        rv = DSF_ECREDS;
    }
    *why = apr_pstrdup(p, rv == APR_SUCCESS ? f.source : reason);
    apr_pool_destroy(tmp);
    return rv;
}

/* ---------------------------------------------------------------------- */
/* DosificadorCredentials */

apr_status_t dsf_creds_conf_parse(dsf_creds_conf_t *conf, apr_pool_t *p,
                                  int argc, char *const argv[], const char **why)
{
    const char *w;

    memset(conf, 0, sizeof(*conf));
    if (argc < 1) {
        *why = "DosificadorCredentials needs a source: env, file [PATH [PROFILE]], container,"
               " imds, static AKID SECRET [TOKEN] or chain";
        return DSF_ECONFIG;
    }
    w = argv[0];
    if (!strcasecmp(w, "chain") || !strcasecmp(w, "env") || !strcasecmp(w, "container")
        || !strcasecmp(w, "imds")) {
        if (argc != 1) {
            *why = apr_psprintf(p, "DosificadorCredentials %s takes no arguments", w);
            return DSF_ECONFIG;
        }
        conf->source = !strcasecmp(w, "chain") ? DSF_CREDS_CHAIN
                     : !strcasecmp(w, "env") ? DSF_CREDS_ENV
                     : !strcasecmp(w, "container") ? DSF_CREDS_CONTAINER : DSF_CREDS_IMDS;
        return APR_SUCCESS;
    }
    if (!strcasecmp(w, "file")) {
        if (argc > 3) {
            *why = "DosificadorCredentials file takes at most a PATH and a PROFILE";
            return DSF_ECONFIG;
        }
        conf->source = DSF_CREDS_FILE;
        if (argc > 1) {
            if (!*argv[1]) {
                *why = "DosificadorCredentials file: empty PATH";
                return DSF_ECONFIG;
            }
            conf->file = apr_pstrdup(p, argv[1]);
        }
        if (argc > 2) {
            if (!*argv[2] || strpbrk(argv[2], "[]\r\n")) {
                *why = "DosificadorCredentials file: PROFILE must be a non-empty name"
                       " without brackets";
                return DSF_ECONFIG;
            }
            conf->profile = apr_pstrdup(p, argv[2]);
        }
        return APR_SUCCESS;
    }
    if (!strcasecmp(w, "static")) {
        if (argc < 3 || argc > 4) {
            *why = "DosificadorCredentials static needs AKID SECRET and optionally TOKEN";
            return DSF_ECONFIG;
        }
        /* name the faulty argument, never quote it */
        if (!value_ok(argv[1]) || !value_ok(argv[2]) || (argc == 4 && !value_ok(argv[3]))) {
            *why = apr_psprintf(p, "DosificadorCredentials static: %s must be printable ASCII"
                                " without spaces", !value_ok(argv[1]) ? "AKID"
                                : !value_ok(argv[2]) ? "SECRET" : "TOKEN");
            return DSF_ECONFIG;
        }
        conf->source = DSF_CREDS_STATIC;
        conf->akid = apr_pstrdup(p, argv[1]);
        conf->secret = apr_pstrdup(p, argv[2]);
        conf->token = argc == 4 ? apr_pstrdup(p, argv[3]) : NULL;
        return APR_SUCCESS;
    }
    *why = apr_psprintf(p, "DosificadorCredentials: unknown source '%s' (env, file, container,"
                        " imds, static or chain)", value_ok(w) && strlen(w) < 32 ? w : "?");
    return DSF_ECONFIG;
}
