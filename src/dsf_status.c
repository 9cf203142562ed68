/* The status page: one snapshot per doser, rendered as HTML (inline CSS and
 * SVG, no script, no external asset), JSON or Prometheus text 0.0.4.
 *
 * Everything from configuration is untrusted text here: it is made valid
 * UTF-8 without control characters and cut to DSF_STATUS_STR_MAX bytes, URLs
 * lose any user:password@, and each format escapes it its own way. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <apr_atomic.h>
#include <apr_strings.h>
#include "dsf_json.h"
#include "dsf_status.h"

static const char *const rej_name[DSF_REJ__N] = {
    "malformed", "empty", "too_big", "media_type", "method", "unavailable", "sqs_error"
};
static const char *const rej_label[DSF_REJ__N] = {
    "malformed JSON", "empty body", "too big", "unsupported media type", "wrong method",
    "SQS unavailable", "SQS error"
};
static const char *const sqs_name[DSF_SQS__N] = {
    "SendMessageBatch", "ReceiveMessage", "DeleteMessageBatch",
    "ChangeMessageVisibilityBatch", "GetQueueAttributes"
};
static const char *const out_name[DSF_OUT__N] = { "ok", "error", "unavailable" };
static const char *const inv_name[DSF_INV__N] = {
    "accepted", "throttled", "error", "unavailable"
};
/* The histogram's upper bounds, as dsf_stats_tick() sorts durations. */
static const char *const le_name[DSF_TICK_BUCKETS] = {
    "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60", "+Inf"
};

/* ---- one doser, read once ------------------------------------------------ */

typedef struct {
    const char *name, *queue_url, *lambda, *region, *sqs_ep, *lambda_ep;
    int per_minute, per_invocation;
    apr_interval_time_t window;
    apr_uint32_t pid, owner;
    apr_time_t last_start, next_start;
    apr_uint64_t accepted, rejected[DSF_REJ__N], sqs[DSF_SQS__N][DSF_OUT__N];
    apr_uint64_t inv[DSF_INV__N], delivered, deleted, released, ticks;
    apr_uint64_t hist[DSF_TICK_BUCKETS], sum_ms, hist_count;
    apr_int64_t vis, inflight, delayed;
    apr_time_t depth_at;
    int nticks;
    dsf_tick_rec_t *tick;          /* newest first */
    /* derived */
    const char *state;             /* not started, ticking, waiting, overdue */
    int backlog_known;
    apr_int64_t backlog, backlog_ticks;
    apr_time_t drained_by;         /* 0: unknown or nothing to drain */
} snap_t;

static int utf8_len(const unsigned char *s, apr_size_t avail)
{
    apr_uint32_t c;
    int n, i;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2, c = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3, c = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4, c = s[0] & 0x07;
    else
        return 0;
    if ((apr_size_t)n > avail)
        return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) || (n == 4 && (c < 0x10000 || c > 0x10ffff)))
        return 0;
    return n;
}

/* Valid UTF-8, no control characters, at most DSF_STATUS_STR_MAX bytes. */
static const char *clean(apr_pool_t *p, const char *s)
{
    apr_size_t len, i = 0, o = 0;
    char *out;

    if (!s)
        return "";
    len = strlen(s);
    out = apr_palloc(p, (len < DSF_STATUS_STR_MAX ? len : DSF_STATUS_STR_MAX) + 4);
    while (i < len) {
        const unsigned char *u = (const unsigned char *)s + i;
        int n = utf8_len(u, len - i);
        if (o + (n ? n : 1) > DSF_STATUS_STR_MAX) {
            memcpy(out + o, "\xe2\x80\xa6", 3);     /* an ellipsis says it was cut */
            o += 3;
            break;
        }
        if (n == 0 || (n == 1 && (*u < 0x20 || *u == 0x7f))) {
            out[o++] = '?';
            i++;
        }
        else {
            memcpy(out + o, u, n);
            o += n;
            i += n;
        }
    }
    out[o] = '\0';
    return out;
}

/* Drops user:password@ from a URL's authority: endpoints may carry it. */
static const char *redact_url(apr_pool_t *p, const char *url)
{
    const char *auth = url ? strstr(url, "://") : NULL, *end, *at = NULL, *c;
    if (!auth)
        return url;
    auth += 3;
    end = auth + strcspn(auth, "/?#");
    for (c = auth; c < end; c++)
        if (*c == '@')
            at = c;
    if (!at)
        return url;
    return apr_pstrcat(p, apr_pstrmemdup(p, url, auth - url), at + 1, NULL);
}

static void snapshot(apr_pool_t *p, const dsf_status_doser_t *d, apr_time_t now, snap_t *s)
{
    const dsf_doser_conf_t *c = d->conf;
    const dsf_slot_t *sl = d->slot;
    apr_uint64_t dose;
    int i, j;

    memset(s, 0, sizeof(*s));
    s->name = clean(p, c->name);
    s->queue_url = clean(p, redact_url(p, c->queue_url));
    s->lambda = clean(p, c->lambda);
    s->region = clean(p, d->region);
    s->sqs_ep = clean(p, redact_url(p, d->sqs_endpoint));
    s->lambda_ep = clean(p, redact_url(p, d->lambda_endpoint));
    s->per_minute = c->per_minute > 0 ? c->per_minute : 1;
    s->per_invocation = c->per_invocation > 0 ? c->per_invocation : 1;
    s->window = c->window > 0 ? c->window : DSF_DEFAULT_WINDOW;
    s->vis = s->inflight = s->delayed = -1;
    s->tick = apr_palloc(p, sizeof(*s->tick) * DSF_TICK_HISTORY);

    if (sl) {
        /* apr_atomic_read64: a 64-bit counter is never seen half-written. */
#define RD(x) apr_atomic_read64((volatile apr_uint64_t *)&(x))
        apr_uint32_t next, n;
        s->pid = sl->dispatcher_pid;
        s->owner = sl->owner;
        s->last_start = sl->last_start;
        s->next_start = sl->next_start;
        s->accepted = RD(sl->accepted);
        for (i = 0; i < DSF_REJ__N; i++)
            s->rejected[i] = RD(sl->rejected[i]);
        for (i = 0; i < DSF_SQS__N; i++)
            for (j = 0; j < DSF_OUT__N; j++)
                s->sqs[i][j] = RD(sl->sqs_calls[i][j]);
        for (i = 0; i < DSF_INV__N; i++)
            s->inv[i] = RD(sl->invocations[i]);
        s->delivered = RD(sl->delivered);
        s->deleted = RD(sl->deleted);
        s->released = RD(sl->released);
        s->ticks = RD(sl->ticks);
        for (i = 0; i < DSF_TICK_BUCKETS; i++)
            s->hist_count += (s->hist[i] = RD(sl->tick_hist[i]));
        s->sum_ms = RD(sl->tick_sum_ms);
#undef RD
        s->vis = sl->depth_visible;
        s->inflight = sl->depth_inflight;
        s->delayed = sl->depth_delayed;
        s->depth_at = sl->depth_at;
        if (!s->depth_at)
            s->vis = s->inflight = s->delayed = -1;
        /* Newest first. When the ring is full its oldest entry is the next one
         * the dispatcher overwrites, maybe right now: leave it out. */
        next = sl->history_next;
        n = next < DSF_TICK_HISTORY ? next : DSF_TICK_HISTORY - 1;
        for (i = 0; (apr_uint32_t)i < n; i++) {
            const dsf_tick_rec_t *t = &sl->history[(next - 1 - i) % DSF_TICK_HISTORY];
            if (t->start)
                s->tick[s->nticks++] = *t;
        }
    }

    if (!s->pid)
        s->state = "not started";
    else if (s->owner)
        s->state = "ticking";
    else if (s->next_start && now > s->next_start + s->window)
        s->state = "overdue";
    else
        s->state = "waiting";

    /* The backlog is what the last sample saw waiting or in flight; at N*M a
     * tick it takes ceil(backlog / (N*M)) ticks, the first being the next one
     * (or the one running, which next_start names while it runs). */
    if (s->vis >= 0 && s->inflight >= 0) {
        s->backlog_known = 1;
        s->backlog = s->vis + s->inflight;
        dose = (apr_uint64_t)s->per_minute * (apr_uint64_t)s->per_invocation;
        s->backlog_ticks = (s->backlog + dose - 1) / dose;
        if (s->backlog_ticks && s->next_start
            && (!strcmp(s->state, "waiting") || !strcmp(s->state, "ticking")))
            s->drained_by = s->next_start + (s->backlog_ticks - 1) * s->window;
    }
}

/* ---- a bounded string builder ------------------------------------------- */

typedef struct {
    apr_pool_t *p;
    char *buf;
    apr_size_t len, cap;
    int over;                        /* DSF_STATUS_MAX_BODY reached */
} sbuf_t;

static int sb_reserve(sbuf_t *b, apr_size_t n)
{
    char *nb;
    apr_size_t cap;
    if (b->over)
        return 0;
    if (b->len + n + 1 <= b->cap)
        return 1;
    if (b->len + n + 1 > DSF_STATUS_MAX_BODY) {
        b->over = 1;
        return 0;
    }
    for (cap = b->cap ? b->cap : 16384; cap < b->len + n + 1; cap *= 2)
        ;
    nb = apr_palloc(b->p, cap);     /* the old buffer stays in p: at most 2x */
    if (b->len)
        memcpy(nb, b->buf, b->len);
    b->buf = nb;
    b->cap = cap;
    return 1;
}

static void sb_putn(sbuf_t *b, const char *s, apr_size_t n)
{
    if (!sb_reserve(b, n))
        return;
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

static void sb_puts(sbuf_t *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

static void sb_printf(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf_t *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !sb_reserve(b, (apr_size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (apr_size_t)n;
}

/* Text and attribute values alike. */
static void sb_html(sbuf_t *b, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *rep;
        switch (*s) {
        case '&':  rep = "&amp;"; break;
        case '<':  rep = "&lt;"; break;
        case '>':  rep = "&gt;"; break;
        case '"':  rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default:   continue;
        }
        sb_putn(b, run, s - run);
        sb_puts(b, rep);
        run = s + 1;
    }
    sb_putn(b, run, s - run);
}

/* ---- time and numbers ----------------------------------------------------- */

static const char *iso_time(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t x;
    apr_time_exp_gmt(&x, t);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", x.tm_year + 1900,
                        x.tm_mon + 1, x.tm_mday, x.tm_hour, x.tm_min, x.tm_sec, x.tm_usec / 1000);
}

static const char *clock_time(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t x;
    apr_time_exp_gmt(&x, t);
    return apr_psprintf(p, "%02d:%02d:%02d", x.tm_hour, x.tm_min, x.tm_sec);
}

static const char *human_time(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t x;
    apr_time_exp_gmt(&x, t);
    return apr_psprintf(p, "%04d-%02d-%02d %02d:%02d:%02d UTC", x.tm_year + 1900,
                        x.tm_mon + 1, x.tm_mday, x.tm_hour, x.tm_min, x.tm_sec);
}

/* Milliseconds as exact decimal seconds: 60000 -> "60", 1500 -> "1.5". */
static const char *secs(apr_pool_t *p, apr_int64_t ms)
{
    int neg = ms < 0, frac;
    char *s;
    if (neg)
        ms = -ms;
    frac = (int)(ms % 1000);
    if (!frac)
        return apr_psprintf(p, "%s%" APR_INT64_T_FMT, neg ? "-" : "", ms / 1000);
    s = apr_psprintf(p, "%s%" APR_INT64_T_FMT ".%03d", neg ? "-" : "", ms / 1000, frac);
    while (s[strlen(s) - 1] == '0')
        s[strlen(s) - 1] = '\0';
    return s;
}

/* An age or a wait, to the second: "45 s", "3 min 20 s", "2 h 5 min". */
static const char *span(apr_pool_t *p, apr_interval_time_t d)
{
    apr_int64_t s;
    if (d < 0)
        d = -d;
    s = (d + APR_USEC_PER_SEC / 2) / APR_USEC_PER_SEC;
    if (s < 120)
        return apr_psprintf(p, "%" APR_INT64_T_FMT " s", s);
    if (s < 7200)
        return s % 60 ? apr_psprintf(p, "%" APR_INT64_T_FMT " min %" APR_INT64_T_FMT " s", s / 60, s % 60)
                      : apr_psprintf(p, "%" APR_INT64_T_FMT " min", s / 60);
    return apr_psprintf(p, "%" APR_INT64_T_FMT " h %" APR_INT64_T_FMT " min", s / 3600, (s % 3600) / 60);
}

/* A configured window, exactly: "60 s", "0.5 s", "5 min". */
static const char *window_text(apr_pool_t *p, apr_interval_time_t w)
{
    apr_int64_t ms = apr_time_as_msec(w);
    if (ms >= 120000 && ms % 60000 == 0)
        return apr_psprintf(p, "%" APR_INT64_T_FMT " min", ms / 60000);
    return apr_psprintf(p, "%s s", secs(p, ms));
}

static const char *relative(apr_pool_t *p, apr_time_t t, apr_time_t now)
{
    if (!t)
        return "never";
    if (t <= now)
        return now - t < APR_USEC_PER_SEC / 2 ? "just now" : apr_psprintf(p, "%s ago", span(p, now - t));
    return t - now < APR_USEC_PER_SEC / 2 ? "now" : apr_psprintf(p, "in %s", span(p, t - now));
}

/* ---- HTML ------------------------------------------------------------------ */

static const char css[] =
    ":root{--fg:#1d2430;--mut:#5f6b7a;--line:#dde3ea;--bg:#f5f7fa;--card:#fff;"
    "--acc:#2364aa;--ok:#1e7d4f;--bad:#b3261e;--warn:#a15c00}"
    "*{box-sizing:border-box}"
    "body{margin:0;background:var(--bg);color:var(--fg);"
    "font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif}"
    "header{background:#18324f;color:#fff;padding:14px 24px}"
    "header h1{margin:0;font-size:20px;font-weight:600}"
    "header p{margin:4px 0 0;color:#c9d6e6}header a{color:#fff}"
    "main{max-width:1180px;margin:0 auto;padding:16px 24px 32px}"
    "section.doser{background:var(--card);border:1px solid var(--line);border-radius:8px;"
    "padding:16px 20px;margin:0 0 20px}"
    "h2{margin:0 0 4px;font-size:18px;overflow-wrap:anywhere}"
    "h3{margin:18px 0 6px;font-size:13px;text-transform:uppercase;letter-spacing:.04em;color:var(--mut)}"
    ".quota{margin:0 0 12px;font-size:15px}.quota b{color:var(--acc)}"
    ".state{display:inline-block;font-size:12px;font-weight:600;padding:1px 8px;border-radius:10px;"
    "vertical-align:middle;margin-left:8px;background:#e7ecf2;color:var(--mut)}"
    ".state.waiting,.state.ticking{background:#e2f3ea;color:var(--ok)}"
    ".state.overdue{background:#fbe7e5;color:var(--bad)}"
    ".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(250px,1fr));gap:12px}"
    ".card{border:1px solid var(--line);border-radius:6px;padding:10px 12px}"
    ".card h3{margin:0 0 6px}"
    ".big{font-size:28px;font-weight:600;font-variant-numeric:tabular-nums;line-height:1.1}"
    ".sub{margin:0 0 6px;font-size:12px}"
    ".mut{color:var(--mut)}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}"
    "dt{color:var(--mut)}dd{margin:0;overflow-wrap:anywhere;font-variant-numeric:tabular-nums}"
    "code{font:12px ui-monospace,'DejaVu Sans Mono',monospace}"
    "table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}"
    "th,td{padding:2px 8px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}"
    "th{font-weight:600;color:var(--mut);font-size:12px}"
    "th:first-child,td:first-child{text-align:left}"
    "tbody tr:nth-child(even){background:#f8fafc}"
    "td.bad{color:var(--bad);font-weight:600}"
    ".tag{font-size:11px;color:var(--warn);margin-left:6px}"
    ".totals{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:12px 20px;"
    "align-items:start}"
    "table.sqs{margin-top:14px}"
    ".scroll{overflow-x:auto}"
    "figure{margin:12px 0 0}figcaption{color:var(--mut);font-size:12px}"
    "svg.chart{width:100%;height:auto;display:block;background:#fbfcfd;border:1px solid var(--line);"
    "border-radius:6px}"
    "svg .bar{fill:var(--acc)}svg .bar.fail{fill:var(--bad)}svg .bar.zero{fill:#9aa7b5}"
    "svg .axis{stroke:#9aa7b5;stroke-width:1}svg .grid{stroke:#e6ebf0;stroke-width:1}"
    "svg .quota{stroke:var(--ok);stroke-width:1;stroke-dasharray:4 3}"
    "svg text{font-size:12px;fill:var(--mut)}"
    "svg text.q{fill:var(--ok);paint-order:stroke;stroke:#fbfcfd;stroke-width:4px}"
    "footer{color:var(--mut);font-size:12px;text-align:center;padding:8px}";

#define CH_W   1000
#define CH_H   190
#define CH_L   44
#define CH_R   12
#define CH_T   20
#define CH_B   24

static void html_chart(sbuf_t *b, apr_pool_t *p, const snap_t *s, apr_time_t now)
{
    const double pw = CH_W - CH_L - CH_R, ph = CH_H - CH_T - CH_B;
    const apr_time_t from = now - DSF_STATUS_CHART_SPAN;
    apr_uint64_t dose = (apr_uint64_t)s->per_minute * s->per_invocation, ymax = dose;
    double bw, yq;
    int i, shown = 0, m;

    for (i = 0; i < s->nticks; i++)
        if (s->tick[i].start >= from && s->tick[i].start <= now && s->tick[i].delivered > ymax)
            ymax = s->tick[i].delivered;
    bw = pw * (double)s->window / (double)DSF_STATUS_CHART_SPAN * 0.7;
    bw = bw < 1.5 ? 1.5 : bw > 18 ? 18 : bw;

    sb_printf(b, "<svg class=\"chart\" viewBox=\"0 0 %d %d\" role=\"img\" "
              "aria-label=\"Objects delivered per tick over the last hour\">", CH_W, CH_H);
    /* grid, axes and the quota line: the most one tick may deliver */
    for (m = 0; m <= 60; m += 15) {
        double x = CH_L + pw * m / 60.0;
        sb_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\"/>",
                  x, CH_T, x, CH_T + ph);
        sb_printf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"%s\">%s</text>", x, CH_H - 6,
                  m == 0 ? "start" : m == 60 ? "end" : "middle",
                  m == 60 ? "now" : apr_psprintf(p, "\xe2\x88\x92%d min", 60 - m));
    }
    sb_printf(b, "<line class=\"axis\" x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
              CH_L, CH_T + ph, CH_L + pw, CH_T + ph);
    sb_printf(b, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%.1f\"/>",
              CH_L, CH_T, CH_L, CH_T + ph);
    sb_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">0</text>", CH_L - 6, CH_T + ph + 4);
    sb_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%" APR_UINT64_T_FMT "</text>",
              CH_L - 6, CH_T + 4, ymax);
    sb_printf(b, "<line class=\"grid\" x1=\"%d\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>",
              CH_L, CH_T, CH_L + pw, CH_T);

    for (i = s->nticks - 1; i >= 0; i--) {      /* oldest first, newest on top */
        const dsf_tick_rec_t *t = &s->tick[i];
        double x, h;
        const char *cls;
        if (t->start < from || t->start > now)
            continue;
        x = CH_L + pw * (double)(t->start - from) / (double)DSF_STATUS_CHART_SPAN - bw / 2;
        if (x < CH_L)
            x = CH_L;
        h = ph * (double)t->delivered / (double)ymax;
        cls = t->invoked_failed || t->stopped ? "bar fail" : t->delivered ? "bar" : "bar zero";
        if (h < 1.5)
            h = 1.5;                             /* an empty tick still shows */
        sb_printf(b, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                  "data-delivered=\"%u\"><title>%s: %u delivered, %u invocation(s) accepted, "
                  "%u failed, %u ms</title></rect>", cls, x, CH_T + ph - h, bw, h,
                  t->delivered, human_time(p, t->start), t->delivered, t->invoked_ok,
                  t->invoked_failed, t->duration_ms);
        shown++;
    }
    /* The quota line goes over the bars so that a full dose shows as touching it. */
    yq = CH_T + ph - ph * (double)dose / (double)ymax;
    sb_printf(b, "<line class=\"quota\" x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
              "<text class=\"q\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">quota: %"
              APR_UINT64_T_FMT " per tick</text>", CH_L, yq, CH_L + pw, yq, CH_L + pw, yq - 5, dose);
    if (!shown)
        sb_printf(b, "<text class=\"empty\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
                  "no ticks in the last hour</text>", CH_L + pw / 2, CH_T + ph / 2);
    sb_puts(b, "</svg>");
}

static void dd_num(sbuf_t *b, const char *label, apr_uint64_t v)
{
    sb_printf(b, "<tr><td>%s</td><td>%" APR_UINT64_T_FMT "</td></tr>", label, v);
}

static void html_doser(sbuf_t *b, apr_pool_t *p, const snap_t *s, int idx, apr_time_t now)
{
    apr_uint64_t dose = (apr_uint64_t)s->per_minute * s->per_invocation, rej = 0;
    int i, j, rows;

    for (i = 0; i < DSF_REJ__N; i++)
        rej += s->rejected[i];

    sb_printf(b, "<section class=\"doser\" id=\"doser-%d\" data-doser=\"", idx);
    sb_html(b, s->name);
    sb_puts(b, "\"><h2><span class=\"name\">");
    sb_html(b, s->name);
    sb_printf(b, "</span><span class=\"state %s\">%s</span></h2>",
              s->state[0] == 'n' ? "off" : s->state, s->state);
    sb_printf(b, "<p class=\"quota\" data-per-minute=\"%d\" data-per-invocation=\"%d\" "
              "data-window-ms=\"%" APR_INT64_T_FMT "\">Quota: <b>%d</b> invocation%s of up to "
              "<b>%d</b> object%s every <b>%s</b> &mdash; at most <b>%" APR_UINT64_T_FMT
              "</b> objects per window</p>", s->per_minute, s->per_invocation,
              apr_time_as_msec(s->window), s->per_minute, s->per_minute == 1 ? "" : "s",
              s->per_invocation, s->per_invocation == 1 ? "" : "s", window_text(p, s->window), dose);

    /* queue and backlog */
    sb_puts(b, "<div class=\"cards\"><div class=\"card queue\"><h3>Queue</h3>");
    if (s->vis >= 0) {
        sb_printf(b, "<div class=\"big\">%" APR_INT64_T_FMT "</div><p class=\"mut sub\">objects waiting or "
              "in flight</p><dl>"
                  "<dt>visible</dt><dd class=\"visible\">%" APR_INT64_T_FMT "</dd>"
                  "<dt>in flight</dt><dd class=\"inflight\">%" APR_INT64_T_FMT "</dd>"
                  "<dt>delayed</dt><dd class=\"delayed\">%" APR_INT64_T_FMT "</dd>"
                  "<dt>sampled</dt><dd>%s</dd>",
                  s->backlog, s->vis, s->inflight, s->delayed, relative(p, s->depth_at, now));
        sb_puts(b, "<dt>backlog</dt><dd class=\"backlog\">");
        if (!s->backlog)
            sb_puts(b, "none: the queue was empty");
        else if (s->drained_by)
            sb_printf(b, "%" APR_INT64_T_FMT " tick%s, delivered by about %s (%s)",
                      s->backlog_ticks, s->backlog_ticks == 1 ? "" : "s",
                      clock_time(p, s->drained_by), relative(p, s->drained_by, now));
        else
            sb_printf(b, "%" APR_INT64_T_FMT " tick%s once the dispatcher runs",
                      s->backlog_ticks, s->backlog_ticks == 1 ? "" : "s");
        sb_puts(b, "</dd></dl>");
    }
    else
        sb_puts(b, "<div class=\"big mut\">&ndash;</div><p class=\"mut\">not sampled yet: "
                "the dispatcher reads the depth after each tick</p>");
    sb_puts(b, "</div>");

    /* dispatcher */
    sb_puts(b, "<div class=\"card dispatcher\"><h3>Dispatcher</h3><dl>");
    if (s->pid)
        sb_printf(b, "<dt>pid</dt><dd>%u</dd>", s->pid);
    else
        sb_puts(b, "<dt>pid</dt><dd class=\"mut\">none</dd>");
    sb_printf(b, "<dt>state</dt><dd>%s</dd>", s->state);
    sb_printf(b, "<dt>last tick</dt><dd>%s%s%s</dd>",
              s->last_start ? human_time(p, s->last_start) : "never",
              s->last_start ? ", " : "", s->last_start ? relative(p, s->last_start, now) : "");
    sb_printf(b, "<dt>next tick</dt><dd>%s%s%s</dd>",
              s->next_start ? human_time(p, s->next_start) : "not planned",
              s->next_start ? ", " : "", s->next_start ? relative(p, s->next_start, now) : "");
    sb_printf(b, "<dt>ticks</dt><dd>%" APR_UINT64_T_FMT "</dd></dl></div>", s->ticks);

    /* route */
    sb_puts(b, "<div class=\"card route\"><h3>Route</h3><dl><dt>receptor</dt><dd><code class=\"receptor\">");
    sb_html(b, s->lambda);
    sb_puts(b, "</code></dd><dt>queue</dt><dd><code class=\"queue-url\">");
    sb_html(b, s->queue_url);
    sb_puts(b, "</code></dd><dt>region</dt><dd>");
    sb_html(b, s->region);
    sb_puts(b, "</dd><dt>SQS</dt><dd><code>");
    sb_html(b, s->sqs_ep);
    sb_puts(b, "</code></dd><dt>Lambda</dt><dd><code>");
    sb_html(b, s->lambda_ep);
    sb_puts(b, "</code></dd></dl></div></div>");

    sb_puts(b, "<figure>");
    html_chart(b, p, s, now);
    sb_puts(b, "<figcaption>Objects delivered per tick over the last hour (red: an invocation "
            "failed; dashed: the quota). Hover a bar for its tick.</figcaption></figure>");

    /* last ticks */
    sb_puts(b, "<h3>Last ticks</h3><div class=\"scroll\"><table class=\"ticks\"><thead><tr>"
            "<th>started (UTC)</th><th>received</th><th>invocations accepted</th>"
            "<th>invocations failed</th><th>delivered</th><th>deleted</th><th>released</th>"
            "<th>duration</th></tr></thead><tbody>");
    rows = s->nticks < DSF_STATUS_TICKS_SHOWN ? s->nticks : DSF_STATUS_TICKS_SHOWN;
    for (i = 0; i < rows; i++) {
        const dsf_tick_rec_t *t = &s->tick[i];
        sb_printf(b, "<tr><td>%s%s</td><td>%u</td><td>%u</td><td%s>%u</td><td>%u</td>"
                  "<td>%u</td><td>%u</td><td>%u ms</td></tr>", clock_time(p, t->start),
                  t->stopped ? "<span class=\"tag\">stopped on 429/5xx</span>" : "",
                  t->received, t->invoked_ok, t->invoked_failed ? " class=\"bad\"" : "",
                  t->invoked_failed, t->delivered, t->deleted, t->released, t->duration_ms);
    }
    if (!rows)
        sb_puts(b, "<tr><td colspan=\"8\" class=\"mut\">no tick yet</td></tr>");
    sb_puts(b, "</tbody></table></div>");

    /* totals */
    sb_puts(b, "<h3>Totals since start</h3><div class=\"totals\">"
            "<table class=\"objects\"><thead><tr><th>objects</th><th></th></tr></thead><tbody>");
    dd_num(b, "accepted", s->accepted);
    dd_num(b, "rejected", rej);
    dd_num(b, "delivered", s->delivered);
    dd_num(b, "deleted", s->deleted);
    dd_num(b, "released", s->released);
    dd_num(b, "ticks", s->ticks);
    sb_printf(b, "<tr><td>mean tick</td><td>%s</td></tr></tbody></table>",
              s->hist_count ? apr_psprintf(p, "%" APR_UINT64_T_FMT " ms", s->sum_ms / s->hist_count)
                            : "&ndash;");
    sb_puts(b, "<table class=\"rejected\"><thead><tr><th>rejected by reason</th><th></th></tr>"
            "</thead><tbody>");
    for (i = 0; i < DSF_REJ__N; i++)
        dd_num(b, rej_label[i], s->rejected[i]);
    sb_puts(b, "</tbody></table><table class=\"invocations\"><thead><tr><th>invocations</th>"
            "<th></th></tr></thead><tbody>");
    for (i = 0; i < DSF_INV__N; i++)
        dd_num(b, inv_name[i], s->inv[i]);
    sb_puts(b, "</tbody></table></div><div class=\"scroll\"><table class=\"sqs\"><thead><tr>"
            "<th>SQS calls</th>");
    for (j = 0; j < DSF_OUT__N; j++)
        sb_printf(b, "<th>%s</th>", out_name[j]);
    sb_puts(b, "</tr></thead><tbody>");
    for (i = 0; i < DSF_SQS__N; i++) {
        sb_printf(b, "<tr><td>%s</td>", sqs_name[i]);
        for (j = 0; j < DSF_OUT__N; j++)
            sb_printf(b, "<td%s>%" APR_UINT64_T_FMT "</td>",
                      j && s->sqs[i][j] ? " class=\"bad\"" : "", s->sqs[i][j]);
        sb_puts(b, "</tr>");
    }
    sb_puts(b, "</tbody></table></div></section>");
}

static void render_html(sbuf_t *b, apr_pool_t *p, const snap_t *s, int n,
                        const char *creds, apr_time_t now)
{
    apr_interval_time_t shortest = 0;
    apr_int64_t refresh;
    int i;

    for (i = 0; i < n; i++)
        if (!shortest || s[i].window < shortest)
            shortest = s[i].window;
    /* Reload about once a window (2..30 s): the numbers move once per tick. */
    refresh = shortest ? apr_time_sec(shortest + APR_USEC_PER_SEC - 1) : 30;
    refresh = refresh < 2 ? 2 : refresh > 30 ? 30 : refresh;

    /* The policy forbids script and every fetch: escaping is the defence,
     * this the second line should a bug ever let markup through. */
    sb_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
              "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
              "style-src 'unsafe-inline'\">"
              "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
              "<meta http-equiv=\"refresh\" content=\"%" APR_INT64_T_FMT "\">"
              "<title>mod_dosificador status</title><style>%s</style></head><body>"
              "<header><h1>mod_dosificador</h1><p>%s &middot; credentials: <b class=\"creds\">",
              refresh, css, human_time(p, now));
    sb_html(b, creds);
    sb_printf(b, "</b> &middot; %d doser%s &middot; <a href=\"?json\">JSON</a> &middot; "
              "<a href=\"?metrics\">metrics</a></p></header><main>", n, n == 1 ? "" : "s");
    if (!n)
        sb_puts(b, "<p class=\"mut\">No doser is configured.</p>");
    for (i = 0; i < n; i++)
        html_doser(b, p, &s[i], i, now);
    sb_printf(b, "</main><footer>This page reloads every %" APR_INT64_T_FMT " s. Times are UTC; "
              "queue depths come from GetQueueAttributes after each tick.</footer>"
              "</body></html>\n", refresh);
}

/* ---- JSON ------------------------------------------------------------------ */

static void j_null(dsf_json_t *j, const char *key, apr_pool_t *p)
{
    dsf_json_t *v;
    if (dsf_json_parse(&v, p, "null", 4, NULL) == APR_SUCCESS)
        dsf_json_set(j, key, v);
}

static void j_time(dsf_json_t *j, const char *key, apr_time_t t, apr_pool_t *p)
{
    if (t)
        dsf_json_set_str(j, key, iso_time(p, t));
    else
        j_null(j, key, p);
}

static void j_depth(dsf_json_t *j, const char *key, apr_int64_t v, apr_pool_t *p)
{
    if (v >= 0)
        dsf_json_set_int(j, key, v);
    else
        j_null(j, key, p);
}

static dsf_json_t *json_doser(apr_pool_t *p, const snap_t *s, apr_time_t now)
{
    dsf_json_t *d = dsf_json_object(p), *o, *o2, *a;
    apr_uint64_t cum = 0, last_hour = 0;
    int i, j, nh = 0;

    dsf_json_set_str(d, "name", s->name);
    dsf_json_set_str(d, "receptor", s->lambda);
    dsf_json_set_str(d, "queue_url", s->queue_url);
    dsf_json_set_str(d, "region", s->region);
    o = dsf_json_object(p);
    dsf_json_set_str(o, "sqs", s->sqs_ep);
    dsf_json_set_str(o, "lambda", s->lambda_ep);
    dsf_json_set(d, "endpoints", o);

    o = dsf_json_object(p);
    dsf_json_set_int(o, "per_minute", s->per_minute);
    dsf_json_set_int(o, "per_invocation", s->per_invocation);
    dsf_json_set_int(o, "window_ms", apr_time_as_msec(s->window));
    dsf_json_set_int(o, "objects_per_window", (long long)s->per_minute * s->per_invocation);
    dsf_json_set(d, "quota", o);

    o = dsf_json_object(p);
    j_depth(o, "visible", s->vis, p);
    j_depth(o, "in_flight", s->inflight, p);
    j_depth(o, "delayed", s->delayed, p);
    j_time(o, "sampled_at", s->vis >= 0 ? s->depth_at : 0, p);
    if (s->vis >= 0)
        dsf_json_set_int(o, "age_ms", apr_time_as_msec(now - s->depth_at));
    else
        j_null(o, "age_ms", p);
    dsf_json_set(d, "queue", o);

    if (s->backlog_known) {
        o = dsf_json_object(p);
        dsf_json_set_int(o, "objects", s->backlog);
        dsf_json_set_int(o, "ticks", s->backlog_ticks);
        j_time(o, "drained_by", s->drained_by, p);
        dsf_json_set(d, "backlog", o);
    }
    else
        j_null(d, "backlog", p);

    o = dsf_json_object(p);
    if (s->pid)
        dsf_json_set_int(o, "pid", s->pid);
    else
        j_null(o, "pid", p);
    dsf_json_set_str(o, "state", s->state);
    j_time(o, "last_tick", s->last_start, p);
    j_time(o, "next_tick", s->next_start, p);
    dsf_json_set(d, "dispatcher", o);

    o = dsf_json_object(p);
    dsf_json_set_int(o, "accepted", (long long)s->accepted);
    o2 = dsf_json_object(p);
    for (i = 0; i < DSF_REJ__N; i++)
        dsf_json_set_int(o2, rej_name[i], (long long)s->rejected[i]);
    dsf_json_set(o, "rejected", o2);
    dsf_json_set_int(o, "delivered", (long long)s->delivered);
    dsf_json_set_int(o, "deleted", (long long)s->deleted);
    dsf_json_set_int(o, "released", (long long)s->released);
    dsf_json_set_int(o, "ticks", (long long)s->ticks);
    o2 = dsf_json_object(p);
    for (i = 0; i < DSF_INV__N; i++)
        dsf_json_set_int(o2, inv_name[i], (long long)s->inv[i]);
    dsf_json_set(o, "invocations", o2);
    o2 = dsf_json_object(p);
    for (i = 0; i < DSF_SQS__N; i++) {
        dsf_json_t *o3 = dsf_json_object(p);
        for (j = 0; j < DSF_OUT__N; j++)
            dsf_json_set_int(o3, out_name[j], (long long)s->sqs[i][j]);
        dsf_json_set(o2, sqs_name[i], o3);
    }
    dsf_json_set(o, "sqs_calls", o2);
    o2 = dsf_json_object(p);
    dsf_json_set_int(o2, "count", (long long)s->hist_count);
    dsf_json_set_int(o2, "sum_ms", (long long)s->sum_ms);
    a = dsf_json_object(p);
    for (i = 0; i < DSF_TICK_BUCKETS; i++)
        dsf_json_set_int(a, le_name[i], (long long)(cum += s->hist[i]));
    dsf_json_set(o2, "buckets", a);
    dsf_json_set(o, "tick_duration", o2);
    dsf_json_set(d, "totals", o);

    for (i = 0; i < s->nticks; i++)
        if (s->tick[i].start >= now - DSF_STATUS_CHART_SPAN && s->tick[i].start <= now) {
            nh++;
            last_hour += s->tick[i].delivered;
        }
    o = dsf_json_object(p);
    dsf_json_set_int(o, "ticks", nh);
    dsf_json_set_int(o, "delivered", (long long)last_hour);
    dsf_json_set(d, "last_hour", o);

    a = dsf_json_array(p);
    for (i = 0; i < s->nticks && i < DSF_STATUS_TICKS_SHOWN; i++) {
        const dsf_tick_rec_t *t = &s->tick[i];
        o = dsf_json_object(p);
        dsf_json_set_str(o, "start", iso_time(p, t->start));
        dsf_json_set_int(o, "duration_ms", t->duration_ms);
        dsf_json_set_int(o, "received", t->received);
        dsf_json_set_int(o, "invocations_accepted", t->invoked_ok);
        dsf_json_set_int(o, "invocations_failed", t->invoked_failed);
        dsf_json_set_int(o, "delivered", t->delivered);
        dsf_json_set_int(o, "deleted", t->deleted);
        dsf_json_set_int(o, "released", t->released);
        dsf_json_set_bool(o, "stopped", t->stopped != 0);
        dsf_json_append(a, o);
    }
    dsf_json_set(d, "ticks", a);
    return d;
}

static apr_status_t render_json(sbuf_t *b, apr_pool_t *p, const snap_t *s, int n,
                                const char *creds, apr_time_t now)
{
    dsf_json_t *root = dsf_json_object(p), *a = dsf_json_array(p);
    const char *out;
    apr_size_t len;
    int i;

    dsf_json_set_str(root, "generated", iso_time(p, now));
    dsf_json_set_str(root, "credentials", creds);
    for (i = 0; i < n; i++)
        dsf_json_append(a, json_doser(p, &s[i], now));
    dsf_json_set(root, "dosers", a);
    if (!(out = dsf_json_dump(root, p, &len)))
        return APR_ENOMEM;
    sb_putn(b, out, len);
    sb_putn(b, "\n", 1);
    return APR_SUCCESS;
}

/* ---- Prometheus text exposition 0.0.4 ------------------------------------- */

static void m_family(sbuf_t *b, const char *name, const char *type, const char *help)
{
    sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void m_label_value(sbuf_t *b, const char *v)
{
    const char *run = v;
    for (; *v; v++) {
        const char *rep = *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" : *v == '\n' ? "\\n" : NULL;
        if (!rep)
            continue;
        sb_putn(b, run, v - run);
        sb_puts(b, rep);
        run = v + 1;
    }
    sb_putn(b, run, v - run);
}

/* name{doser="..."[,k1="v1"[,k2="v2"]]} value */
static void m_sample(sbuf_t *b, const char *name, const snap_t *s, const char *k1,
                     const char *v1, const char *k2, const char *v2, const char *value)
{
    sb_printf(b, "%s{doser=\"", name);
    m_label_value(b, s->name);
    if (k1) {
        sb_printf(b, "\",%s=\"", k1);
        m_label_value(b, v1);
    }
    if (k2) {
        sb_printf(b, "\",%s=\"", k2);
        m_label_value(b, v2);
    }
    sb_printf(b, "\"} %s\n", value);
}

#define U64(v) apr_psprintf(p, "%" APR_UINT64_T_FMT, (apr_uint64_t)(v))

static void render_metrics(sbuf_t *b, apr_pool_t *p, const snap_t *s, int n)
{
    static const struct {
        const char *name, *help;
        apr_size_t off;
    } plain[] = {
        { "dosificador_objects_accepted_total",
          "Objects accepted into the queue (SendMessageBatch succeeded).",
          offsetof(snap_t, accepted) },
        { "dosificador_objects_delivered_total",
          "Objects handed to the receptor in invocations it accepted.",
          offsetof(snap_t, delivered) },
        { "dosificador_objects_deleted_total",
          "Delivered objects deleted from the queue.", offsetof(snap_t, deleted) },
        { "dosificador_objects_released_total",
          "Received objects made visible again unsent (dose cut or tick stopped).",
          offsetof(snap_t, released) },
        { "dosificador_ticks_total", "Ticks run by the dispatcher.", offsetof(snap_t, ticks) },
    };
    int i, k, j;

    for (k = 0; k < (int)(sizeof(plain) / sizeof(plain[0])); k++) {
        m_family(b, plain[k].name, "counter", plain[k].help);
        for (i = 0; i < n; i++)
            m_sample(b, plain[k].name, &s[i], NULL, NULL, NULL, NULL,
                     U64(*(const apr_uint64_t *)((const char *)&s[i] + plain[k].off)));
    }

    m_family(b, "dosificador_objects_rejected_total", "counter",
             "Refused at ingest, by reason: a refused request counts 1 (malformed, empty, "
             "too_big, media_type, method), objects SQS did not take count each (unavailable, "
             "sqs_error).");
    for (i = 0; i < n; i++)
        for (k = 0; k < DSF_REJ__N; k++)
            m_sample(b, "dosificador_objects_rejected_total", &s[i], "reason", rej_name[k],
                     NULL, NULL, U64(s[i].rejected[k]));

    m_family(b, "dosificador_sqs_calls_total", "counter",
             "SQS API calls by action and outcome (unavailable: unreachable, timed out or throttled).");
    for (i = 0; i < n; i++)
        for (k = 0; k < DSF_SQS__N; k++)
            for (j = 0; j < DSF_OUT__N; j++)
                m_sample(b, "dosificador_sqs_calls_total", &s[i], "action", sqs_name[k],
                         "outcome", out_name[j], U64(s[i].sqs[k][j]));

    m_family(b, "dosificador_invocations_total", "counter",
             "Receptor invocations by outcome (accepted: 202 from an Event invocation).");
    for (i = 0; i < n; i++)
        for (k = 0; k < DSF_INV__N; k++)
            m_sample(b, "dosificador_invocations_total", &s[i], "outcome", inv_name[k],
                     NULL, NULL, U64(s[i].inv[k]));

    m_family(b, "dosificador_tick_duration_seconds", "histogram",
             "How long each tick took: receive, invoke, delete and release.");
    for (i = 0; i < n; i++) {
        apr_uint64_t cum = 0;
        for (k = 0; k < DSF_TICK_BUCKETS; k++) {
            cum += s[i].hist[k];
            m_sample(b, "dosificador_tick_duration_seconds_bucket", &s[i], "le", le_name[k],
                     NULL, NULL, U64(cum));
        }
        m_sample(b, "dosificador_tick_duration_seconds_sum", &s[i], NULL, NULL, NULL, NULL,
                 secs(p, (apr_int64_t)s[i].sum_ms));
        m_sample(b, "dosificador_tick_duration_seconds_count", &s[i], NULL, NULL, NULL, NULL,
                 U64(cum));
    }

    /* Unknown depths are left out rather than reported as a number. */
    m_family(b, "dosificador_queue_messages", "gauge",
             "Queue depth sampled after the last tick, by state (visible, inflight, delayed).");
    for (i = 0; i < n; i++) {
        if (s[i].vis < 0)
            continue;
        m_sample(b, "dosificador_queue_messages", &s[i], "state", "visible", NULL, NULL,
                 apr_psprintf(p, "%" APR_INT64_T_FMT, s[i].vis));
        m_sample(b, "dosificador_queue_messages", &s[i], "state", "inflight", NULL, NULL,
                 apr_psprintf(p, "%" APR_INT64_T_FMT, s[i].inflight));
        m_sample(b, "dosificador_queue_messages", &s[i], "state", "delayed", NULL, NULL,
                 apr_psprintf(p, "%" APR_INT64_T_FMT, s[i].delayed));
    }
    m_family(b, "dosificador_queue_sampled_timestamp_seconds", "gauge",
             "When the queue depth was sampled (Unix time).");
    for (i = 0; i < n; i++)
        if (s[i].vis >= 0)
            m_sample(b, "dosificador_queue_sampled_timestamp_seconds", &s[i], NULL, NULL,
                     NULL, NULL, secs(p, apr_time_as_msec(s[i].depth_at)));

    m_family(b, "dosificador_last_tick_timestamp_seconds", "gauge",
             "When the last tick started (Unix time, 0 before the first).");
    for (i = 0; i < n; i++)
        m_sample(b, "dosificador_last_tick_timestamp_seconds", &s[i], NULL, NULL, NULL, NULL,
                 secs(p, apr_time_as_msec(s[i].last_start)));
    m_family(b, "dosificador_next_tick_timestamp_seconds", "gauge",
             "When the dispatcher plans the next tick (Unix time, 0 when not planned).");
    for (i = 0; i < n; i++)
        m_sample(b, "dosificador_next_tick_timestamp_seconds", &s[i], NULL, NULL, NULL, NULL,
                 secs(p, apr_time_as_msec(s[i].next_start)));

    m_family(b, "dosificador_quota_per_minute", "gauge",
             "Configured invocations per window (perMinute, N).");
    for (i = 0; i < n; i++)
        m_sample(b, "dosificador_quota_per_minute", &s[i], NULL, NULL, NULL, NULL,
                 apr_itoa(p, s[i].per_minute));
    m_family(b, "dosificador_quota_per_invocation", "gauge",
             "Configured objects per invocation (perInvocation, M).");
    for (i = 0; i < n; i++)
        m_sample(b, "dosificador_quota_per_invocation", &s[i], NULL, NULL, NULL, NULL,
                 apr_itoa(p, s[i].per_invocation));
    m_family(b, "dosificador_quota_window_seconds", "gauge", "Configured window length.");
    for (i = 0; i < n; i++)
        m_sample(b, "dosificador_quota_window_seconds", &s[i], NULL, NULL, NULL, NULL,
                 secs(p, apr_time_as_msec(s[i].window)));
}

/* ---- entry points ------------------------------------------------------------ */

/* The first of query's parameters ("json", "metrics=1", ...) that names a
 * format, -1 when none does. */
static int query_format(const char *q)
{
    while (q && *q) {
        apr_size_t len = strcspn(q, "&;"), nl = strcspn(q, "&;=");
        if (nl > len)
            nl = len;
        if (nl == 4 && !strncmp(q, "json", 4))
            return DSF_STATUS_JSON;
        if (nl == 7 && !strncmp(q, "metrics", 7))
            return DSF_STATUS_METRICS;
        q += len;
        if (*q)
            q++;
    }
    return -1;
}

static void trim(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
        (*e)--;
}

static int is(const char *s, const char *e, const char *word)
{
    return (apr_size_t)(e - s) == strlen(word) && !strncasecmp(s, word, e - s);
}

dsf_status_format_e dsf_status_negotiate(const char *query, const char *accept)
{
    dsf_status_format_e best = DSF_STATUS_HTML;
    double best_q = -1;
    int best_explicit = 0, qf = query_format(query);

    if (qf >= 0)
        return (dsf_status_format_e)qf;
    while (accept && *accept) {
        const char *range = accept, *end = range + strcspn(range, ","), *semi, *ts, *te;
        int fmt = -1, explicit = 1, version_ok = 1;
        double q = 1;

        accept = *end ? end + 1 : end;
        semi = memchr(range, ';', end - range);
        ts = range;
        te = semi ? semi : end;
        trim(&ts, &te);
        if (is(ts, te, "text/html") || is(ts, te, "application/xhtml+xml"))
            fmt = DSF_STATUS_HTML;
        else if (is(ts, te, "application/json"))
            fmt = DSF_STATUS_JSON;
        else if (is(ts, te, "text/plain"))
            fmt = DSF_STATUS_METRICS;
        else if (is(ts, te, "*/*") || is(ts, te, "text/*"))
            fmt = DSF_STATUS_HTML, explicit = 0;
        /* parameters: q= and, for text/plain, version= */
        while (semi && semi < end) {
            const char *ps = semi + 1, *pe, *eq;
            semi = memchr(ps, ';', end - ps);
            pe = semi ? semi : end;
            trim(&ps, &pe);
            eq = memchr(ps, '=', pe - ps);
            if (!eq)
                continue;
            if (is(ps, eq, "q")) {
                char num[8] = "";
                apr_size_t nl = (apr_size_t)(pe - eq - 1);
                memcpy(num, eq + 1, nl < sizeof(num) - 1 ? nl : sizeof(num) - 1);
                q = atof(num);
            }
            else if (is(ps, eq, "version") && fmt == DSF_STATUS_METRICS)
                version_ok = is(eq + 1, pe, "0.0.4") || is(eq + 1, pe, "\"0.0.4\"");
        }
        if (fmt < 0 || !version_ok || q <= 0)
            continue;
        if (q > best_q || (q == best_q && explicit && !best_explicit)) {
            best = (dsf_status_format_e)fmt;
            best_q = q;
            best_explicit = explicit;
        }
    }
    return best;
}

apr_status_t dsf_status_render(apr_pool_t *p, dsf_status_format_e f,
                               const dsf_status_doser_t *dosers, int n,
                               const char *creds_source, apr_time_t now,
                               const char **body, apr_size_t *len,
                               const char **content_type)
{
    sbuf_t b = { p, NULL, 0, 0, 0 };
    const char *creds = clean(p, creds_source ? creds_source : "none");
    snap_t *s;
    apr_status_t rv = APR_SUCCESS;
    int i;

    if (n < 0 || (n && !dosers))
        return APR_EINVAL;
    if (n > DSF_MAX_DOSERS)
        n = DSF_MAX_DOSERS;
    s = apr_pcalloc(p, sizeof(*s) * (n ? n : 1));
    for (i = 0; i < n; i++) {
        if (!dosers[i].conf)
            return APR_EINVAL;
        snapshot(p, &dosers[i], now, &s[i]);
    }
    sb_reserve(&b, 0);
    switch (f) {
    case DSF_STATUS_JSON:
        rv = render_json(&b, p, s, n, creds, now);
        *content_type = "application/json";
        break;
    case DSF_STATUS_METRICS:
        render_metrics(&b, p, s, n);
        *content_type = "text/plain; version=0.0.4; charset=utf-8";
        break;
    default:
        render_html(&b, p, s, n, creds, now);
        *content_type = "text/html; charset=utf-8";
        break;
    }
    if (rv != APR_SUCCESS)
        return rv;
    if (b.over)
        return DSF_ETOOBIG;
    *body = b.buf;
    *len = b.len;
    return APR_SUCCESS;
}
