/* dsf_ingest: content types, bodies into messages, limits and client messages. */
#include <apr_general.h>
#include <apr_strings.h>
#include "dsf_ingest.h"
#include "dsf_json.h"
#include "tap.h"

static apr_pool_t *pool;

typedef struct {
    apr_status_t rv;
    apr_array_header_t *msgs;
    const char *why;
} result_t;

static result_t run(dsf_content_type_e ct, const char *buf, apr_size_t len,
                    const dsf_ingest_limits_t *lim)
{
    result_t r;
    r.rv = dsf_ingest_parse(pool, ct, buf, len, lim, &r.msgs, &r.why);
    return r;
}

static result_t run_s(dsf_content_type_e ct, const char *s)
{
    return run(ct, s, strlen(s), NULL);
}

static const char *msg(const result_t *r, int i)
{
    if (!r->msgs || i >= r->msgs->nelts)
        return NULL;
    return APR_ARRAY_IDX(r->msgs, i, dsf_msg_t).body;
}

/* Refusal: status, exact sentence, and no messages handed out. */
static void refused(result_t r, apr_status_t want_rv, const char *want_why, const char *name)
{
    int pass = r.rv == want_rv && r.msgs == NULL && r.why && !strcmp(r.why, want_why);
    if (!ok(pass, "%s", name))
        printf("#   rv %d (want %d), why '%s'\n#   expected:   '%s'\n", r.rv - DSF_E_BASE,
               want_rv - DSF_E_BASE, r.why ? r.why : "(null)", want_why);
}

/* A JSON string literal of exactly n bytes ("xxx...x"). */
static char *big_string(apr_size_t n)
{
    char *s = apr_palloc(pool, n + 1);
    memset(s, 'x', n);
    s[0] = s[n - 1] = '"';
    s[n] = '\0';
    return s;
}

static void test_content_type(void)
{
    is_int(dsf_ingest_content_type("application/json"), DSF_CT_JSON, "application/json");
    is_int(dsf_ingest_content_type("Application/JSON; charset=utf-8"), DSF_CT_JSON,
           "case-insensitive, charset ignored");
    is_int(dsf_ingest_content_type("application/json;charset=UTF-8"), DSF_CT_JSON,
           "parameter without a space");
    is_int(dsf_ingest_content_type("  application/json"), DSF_CT_JSON, "leading blanks");
    is_int(dsf_ingest_content_type("application/vnd.api+json"), DSF_CT_JSON, "+json suffix");
    is_int(dsf_ingest_content_type("application/cloudevents+JSON; charset=utf-8"), DSF_CT_JSON,
           "+JSON suffix with a parameter");
    is_int(dsf_ingest_content_type("application/x-ndjson"), DSF_CT_NDJSON, "application/x-ndjson");
    is_int(dsf_ingest_content_type("application/jsonl; charset=utf-8"), DSF_CT_NDJSON,
           "application/jsonl");
    is_int(dsf_ingest_content_type("APPLICATION/X-NDJSON"), DSF_CT_NDJSON, "NDJSON in capitals");
    is_int(dsf_ingest_content_type("application/json-seq"), DSF_CT_UNSUPPORTED,
           "application/json-seq not supported");
    is_int(dsf_ingest_content_type("application/jsonx"), DSF_CT_UNSUPPORTED, "application/jsonx");
    is_int(dsf_ingest_content_type("application/+json"), DSF_CT_UNSUPPORTED, "bare +json");
    is_int(dsf_ingest_content_type("text/json"), DSF_CT_UNSUPPORTED, "text/json");
    is_int(dsf_ingest_content_type("text/plain"), DSF_CT_UNSUPPORTED, "text/plain");
    is_int(dsf_ingest_content_type("application/x-www-form-urlencoded"), DSF_CT_UNSUPPORTED,
           "form");
    is_int(dsf_ingest_content_type(""), DSF_CT_UNSUPPORTED, "empty header");
    is_int(dsf_ingest_content_type(NULL), DSF_CT_UNSUPPORTED, "no header");
}

static void test_accepted(void)
{
    result_t r;
    dsf_ingest_limits_t lim;

    dsf_ingest_limits_default(&lim);
    is_int(lim.max_body, 1048576, "default max_body 1 MiB");
    is_int(lim.max_message, 262144, "default max_message 256 KiB");
    is_int(lim.max_elements, 10000, "default max_elements 10000");

    r = run_s(DSF_CT_JSON, " {\n \"id\" : 7 ,\n \"b\" : [ 1 , { \"c\" : \"d e\" } ] }\n");
    is_int(r.rv, APR_SUCCESS, "an object is accepted");
    is_int(r.msgs->nelts, 1, "... as one message");
    is_str(msg(&r, 0), "{\"id\":7,\"b\":[1,{\"c\":\"d e\"}]}", "... compact, key order kept");
    is_int(APR_ARRAY_IDX(r.msgs, 0, dsf_msg_t).len, strlen(msg(&r, 0)), "... length matches");

    r = run_s(DSF_CT_JSON, "[{\"n\":1}, {\"n\":2},\n{\"n\":3}]");
    is_int(r.rv, APR_SUCCESS, "an array is accepted");
    is_int(r.msgs->nelts, 3, "... one message per element");
    is_str(msg(&r, 0), "{\"n\":1}", "... first");
    is_str(msg(&r, 2), "{\"n\":3}", "... last, in order");

    r = run_s(DSF_CT_JSON, "[1, \"two\", true, [3], {}]");
    is_int(r.rv, APR_SUCCESS, "array elements may be any non-null value");
    is_int(r.msgs->nelts, 5, "... five messages");
    is_str(msg(&r, 1), "\"two\"", "... a string element is its JSON text");
    is_str(msg(&r, 3), "[3]", "... a nested array is one message");

    r = run_s(DSF_CT_JSON, "{\"a\":1,\"a\":2}");
    is_str(msg(&r, 0), "{\"a\":2}", "duplicate keys: the last one wins");

    r = run_s(DSF_CT_JSON, "\xEF\xBB\xBF{\"bom\":true}");
    is_int(r.rv, APR_SUCCESS, "a UTF-8 byte order mark is ignored");
    is_str(msg(&r, 0), "{\"bom\":true}", "... and not part of the message");

    r = run_s(DSF_CT_JSON, "{\"s\":\"\xc3\xb1" "and\xc3\xba\"}");
    is_str(msg(&r, 0), "{\"s\":\"\xc3\xb1" "and\xc3\xba\"}", "UTF-8 text kept as is");

    r = run(DSF_CT_JSON, "{\"a\":1}{\"b\":2}", 7, NULL);
    is_int(r.rv, APR_SUCCESS, "only len bytes of the buffer are read");

    r = run_s(DSF_CT_NDJSON, "{\"n\":1}\n\n  \r\n{ \"n\" : 2 }\r\n[1,2]\n\"s\"\n{\"n\":3}");
    is_int(r.rv, APR_SUCCESS, "NDJSON is accepted");
    is_int(r.msgs->nelts, 5, "... one message per non-blank line (CRLF, no final newline)");
    is_str(msg(&r, 1), "{\"n\":2}", "... compacted");
    is_str(msg(&r, 2), "[1,2]", "... an array line is one message");
    is_str(msg(&r, 4), "{\"n\":3}", "... last line without newline");

    lim.max_elements = 3;
    r = run(DSF_CT_JSON, "[1,2,3]", 7, &lim);
    is_int(r.rv, APR_SUCCESS, "exactly max_elements accepted");
    r = run(DSF_CT_NDJSON, "1\n2\n3\n\n", 7, &lim);
    is_int(r.rv, APR_SUCCESS, "exactly max_elements NDJSON lines accepted (blank lines free)");
}

static void test_refused(void)
{
    dsf_ingest_limits_t lim;
    char *s;
    int i;

    refused(run_s(DSF_CT_JSON, ""), DSF_EINPUT, "empty body", "empty body");
    refused(run(DSF_CT_JSON, NULL, 0, NULL), DSF_EINPUT, "empty body", "no body at all");
    refused(run_s(DSF_CT_JSON, " \r\n\t "), DSF_EINPUT, "empty body", "blank body");
    refused(run_s(DSF_CT_NDJSON, "\n\n  \n"), DSF_EINPUT, "empty body", "NDJSON with only blank lines");
    refused(run_s(DSF_CT_JSON, "[]"), DSF_EINPUT, "empty array: nothing to enqueue", "empty array");
    refused(run_s(DSF_CT_JSON, " [ \n ] "), DSF_EINPUT, "empty array: nothing to enqueue",
            "empty array with blanks");

    refused(run_s(DSF_CT_JSON, "{\n  \"a\": 1,\n  \"b\": tru\n}"), DSF_EINPUT,
            "malformed JSON at line 3, column 10: invalid token near 'tru'", "malformed JSON");
    refused(run_s(DSF_CT_JSON, "[{\"a\":1},]"), DSF_EINPUT,
            "malformed JSON at line 1, column 10: unexpected token near ']'", "trailing comma");
    refused(run_s(DSF_CT_JSON, "{\"a\":1} {\"b\":2}"), DSF_EINPUT,
            "malformed JSON at line 1, column 9: end of file expected near '{'",
            "two objects as application/json");
    refused(run_s(DSF_CT_JSON, "{\"a\":1"), DSF_EINPUT,
            "malformed JSON at line 1, column 6: '}' expected near end of file", "truncated object");
    refused(run_s(DSF_CT_JSON, "[\"\xff\"]"), DSF_EINPUT,
            "malformed JSON at line 1, column 2: unable to decode byte 0xff near '\"'",
            "invalid UTF-8 refused");
    refused(run_s(DSF_CT_NDJSON, "{\"n\":1}\n\n{\"n\":2} x\n{\"n\":3}\n"), DSF_EINPUT,
            "malformed JSON at line 3, column 9: end of file expected near 'x'",
            "NDJSON error names the NDJSON line and the column within it");
    refused(run_s(DSF_CT_NDJSON, "{\"n\":1}\r\n{\"n\":\r\n"), DSF_EINPUT,
            "malformed JSON at line 2, column 6: unexpected token near end of file",
            "NDJSON object split over two lines");

    refused(run_s(DSF_CT_JSON, "42"), DSF_EINPUT, "expected a JSON object or array, got a number",
            "top-level number");
    refused(run_s(DSF_CT_JSON, "\"hi\""), DSF_EINPUT, "expected a JSON object or array, got a string",
            "top-level string");
    refused(run_s(DSF_CT_JSON, "null"), DSF_EINPUT, "expected a JSON object or array, got null",
            "top-level null");
    refused(run_s(DSF_CT_JSON, "true"), DSF_EINPUT, "expected a JSON object or array, got a boolean",
            "top-level boolean");
    refused(run_s(DSF_CT_JSON, "[{\"a\":1}, null]"), DSF_EINPUT, "element 2 is null: nothing to enqueue",
            "null element");
    refused(run_s(DSF_CT_NDJSON, "{}\nnull\n"), DSF_EINPUT, "line 2 is null: nothing to enqueue",
            "null NDJSON line");
    refused(run_s(DSF_CT_UNSUPPORTED, "{}"), DSF_EINPUT,
            "unsupported content type: send application/json or application/x-ndjson",
            "unsupported content type");

    /* Element 17 of 20, 300000 bytes: over the default 256 KiB per message. */
    dsf_ingest_limits_default(&lim);
    lim.max_body = 4 * 1024 * 1024;
    s = "[";
    for (i = 1; i <= 20; i++)
        s = apr_pstrcat(pool, s, i > 1 ? "," : "", i == 17 ? big_string(300000) : "{}", NULL);
    s = apr_pstrcat(pool, s, "]", NULL);
    refused(run(DSF_CT_JSON, s, strlen(s), &lim), DSF_ETOOBIG,
            "element 17 is 300000 bytes, over the 262144-byte message limit", "element over max_message");
    s = apr_pstrcat(pool, "{\"k\":", big_string(262140), "}", NULL);   /* 262146 compact */
    refused(run(DSF_CT_JSON, s, strlen(s), &lim), DSF_ETOOBIG,
            "the object is 262146 bytes, over the 262144-byte message limit", "object over max_message");
    s = apr_pstrcat(pool, "{\"k\":", big_string(262138), "}", NULL);   /* exactly 262144 */
    is_int(run(DSF_CT_JSON, s, strlen(s), &lim).rv, APR_SUCCESS, "object of exactly max_message accepted");
    s = apr_pstrcat(pool, "{}\n", big_string(262145), "\n", NULL);
    refused(run(DSF_CT_NDJSON, s, strlen(s), &lim), DSF_ETOOBIG,
            "line 2 is 262145 bytes, over the 262144-byte message limit", "NDJSON line over max_message");
    /* The limit is on the compact form: blanks that compaction removes do not count. */
    s = apr_pstrcat(pool, "{\"k\"   :   ", big_string(262138), "   }", NULL);
    is_int(run(DSF_CT_JSON, s, strlen(s), &lim).rv, APR_SUCCESS, "limit applies to the compact form");

    lim.max_elements = 3;
    refused(run(DSF_CT_JSON, "[1,2,3,4]", 9, &lim), DSF_ETOOBIG, "4 elements, over the limit of 3 per request", "too many elements");
    refused(run(DSF_CT_NDJSON, "1\n2\n\n3\n4\n", 10, &lim), DSF_ETOOBIG,
            "more than 3 lines, over the limit per request", "too many NDJSON lines");

    dsf_ingest_limits_default(&lim);
    lim.max_body = 10;
    refused(run(DSF_CT_JSON, "{\"a\":\"bcd\"}", 11, &lim), DSF_ETOOBIG,
            "body is 11 bytes, over the 10-byte limit", "body over max_body");
    is_int(run(DSF_CT_JSON, "{\"a\":\"bc\"}", 10, &lim).rv, APR_SUCCESS, "body of exactly max_body");

    s = "";
    for (i = 0; i < 65; i++)
        s = apr_pstrcat(pool, "[", s, "]", NULL);
    refused(run_s(DSF_CT_JSON, s), DSF_ETOOBIG, "JSON nested deeper than 64 levels", "nesting too deep");
    refused(run_s(DSF_CT_NDJSON, apr_pstrcat(pool, "{}\n", s, NULL)), DSF_ETOOBIG,
            "JSON nested deeper than 64 levels at line 2", "NDJSON nesting too deep");
    s = "0";
    for (i = 0; i < 63; i++)
        s = apr_pstrcat(pool, "[", s, "]", NULL);
    s = apr_pstrcat(pool, "{\"a\":", s, "}", NULL);
    is_int(run_s(DSF_CT_JSON, s).rv, APR_SUCCESS, "64 levels (object holding 63 arrays) accepted");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_content_type();
    test_accepted();
    test_refused();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
