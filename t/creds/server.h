/* Starts t/creds/server.js on a free loopback port for a C test and talks to
 * its control endpoints. The server is stopped by pid at exit; it also stops
 * by itself when our end of its stdin closes (should this test crash). */
#ifndef DSF_T_CREDS_SERVER_H
#define DSF_T_CREDS_SERVER_H

#include <signal.h>
#include <stdlib.h>
#include <apr_thread_proc.h>
#include <apr_strings.h>
#include "dsf_http.h"
#include "dsf_json.h"
#include "env.h"

static apr_proc_t srv_proc;
static apr_file_t *srv_stdin;
static int srv_running;
static int srv_port;           /* the endpoints */
static int srv_control_port;   /* the test's control calls */
static dsf_http_t *srv_http;

static void srv_stop(void)
{
    if (srv_running) {
        apr_proc_kill(&srv_proc, SIGTERM);
        apr_proc_wait(&srv_proc, NULL, NULL, APR_WAIT);
        srv_running = 0;
    }
}

static void srv_on_signal(int sig)
{
    srv_stop();
    signal(sig, SIG_DFL);
    raise(sig);
}

static int srv_start(apr_pool_t *p)
{
    const char *script = getenv("DSF_CREDS_SERVER") ? getenv("DSF_CREDS_SERVER")
                                                     : "t/creds/server.js";
    const char *args[] = { "node", script, "--stdin-exit", NULL };
    apr_procattr_t *attr;
    char line[64];
    dsf_http_opts_t opts;

    if (apr_procattr_create(&attr, p) != APR_SUCCESS
        || apr_procattr_io_set(attr, APR_FULL_BLOCK, APR_FULL_BLOCK, APR_NO_PIPE) != APR_SUCCESS
        || apr_procattr_cmdtype_set(attr, APR_PROGRAM_PATH) != APR_SUCCESS
        || apr_proc_create(&srv_proc, "node", args, NULL, attr, p) != APR_SUCCESS)
        return 0;
    srv_running = 1;
    srv_stdin = srv_proc.in;
    atexit(srv_stop);
    signal(SIGINT, srv_on_signal);
    signal(SIGTERM, srv_on_signal);
    signal(SIGABRT, srv_on_signal);
    signal(SIGSEGV, srv_on_signal);
    if (apr_file_gets(line, sizeof(line), srv_proc.out) != APR_SUCCESS
        || sscanf(line, "PORT %d %d", &srv_port, &srv_control_port) != 2
        || srv_port <= 0 || srv_control_port <= 0)
        return 0;
    dsf_http_opts_default(&opts);
    return dsf_http_create(&srv_http, p, &opts) == APR_SUCCESS;
}

static const char *srv_url(apr_pool_t *p, const char *path)
{
    return apr_psprintf(p, "http://127.0.0.1:%d%s", srv_port, path);
}

/* A request to the endpoints' port (path "/latest/...") or, for "/_control/...",
 * to the control port. */
static dsf_http_req_t *srv_call(apr_pool_t *p, const char *method, const char *path,
                                const char *body)
{
    dsf_http_req_t *req = apr_pcalloc(p, sizeof(*req));
    req->method = method;
    req->url = strncmp(path, "/_control/", 10) ? srv_url(p, path)
             : apr_psprintf(p, "http://127.0.0.1:%d%s", srv_control_port, path);
    req->body = body ? body : "";
    req->body_len = strlen(req->body);
    if (dsf_http_perform(srv_http, p, &req, 1, 1) != APR_SUCCESS || req->rv != APR_SUCCESS)
        req->status = 0;
    return req;
}

/* Merges a JSON object into the server's config, e.g. "{\"expiresIn\":2}". */
static int srv_set(apr_pool_t *p, const char *json)
{
    return srv_call(p, "POST", "/_control/set", json)->status == 200;
}

static int srv_reset(apr_pool_t *p)
{
    return srv_call(p, "POST", "/_control/reset", NULL)->status == 200;
}

/* A counter from the server's state (-1 when unreadable). */
static long long srv_count(apr_pool_t *p, const char *name)
{
    dsf_http_req_t *req = srv_call(p, "GET", "/_control/state", NULL);
    dsf_json_t *j = NULL, *counts;
    dsf_json_error_t err;

    if (req->status != 200
        || dsf_json_parse(&j, p, req->resp_body, req->resp_len, &err) != APR_SUCCESS
        || !(counts = dsf_json_get(j, "counts", p)))
        return -1;
    return dsf_json_get_int(counts, name, -1);
}

/* The Expiration the server last handed out, in apr_time_t. */
static apr_time_t srv_last_expiry(apr_pool_t *p)
{
    dsf_http_req_t *req = srv_call(p, "GET", "/_control/state", NULL);
    dsf_json_t *j = NULL, *last;
    dsf_json_error_t err;

    if (req->status != 200
        || dsf_json_parse(&j, p, req->resp_body, req->resp_len, &err) != APR_SUCCESS
        || !(last = dsf_json_get(j, "last", p)))
        return -1;
    return (apr_time_t)dsf_json_get_int(last, "expiresMs", -1) * 1000;
}

#endif
