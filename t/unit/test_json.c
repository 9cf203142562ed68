/* dsf_json: parse limits and errors, compact dump, pool-tied lifetimes. */
#include <apr_general.h>
#include <apr_strings.h>
#include "dsf_json.h"
#include <stdio.h>
#include <stdlib.h>
#include "tap.h"

static apr_pool_t *pool;

/* Parses s (as a NUL-free buffer) and returns its compact dump, or NULL. */
static const char *roundtrip(const char *s, apr_status_t *prv)
{
    dsf_json_t *j;
    dsf_json_error_t err;
    apr_status_t rv = dsf_json_parse(&j, pool, s, strlen(s), &err);
    if (prv)
        *prv = rv;
    return rv == APR_SUCCESS ? dsf_json_dump(j, pool, NULL) : NULL;
}

static char *nested(apr_pool_t *p, int depth, const char *open, const char *close)
{
    char *s = apr_palloc(p, depth * (strlen(open) + strlen(close)) + 1), *q = s;
    int i;
    for (i = 0; i < depth; i++) { strcpy(q, open); q += strlen(open); }
    for (i = 0; i < depth; i++) { strcpy(q, close); q += strlen(close); }
    *q = '\0';
    return s;
}

static void test_parse_and_dump(void)
{
    apr_status_t rv;
    apr_size_t len;
    dsf_json_t *j;
    const char *out;

    is_str(roundtrip("{ \"b\" : 1 ,\n \"a\" : [ 1 , 2.5 , true , null ] , \"c\" : {} }", NULL),
           "{\"b\":1,\"a\":[1,2.5,true,null],\"c\":{}}", "dump is compact and keeps key order");
    is_str(roundtrip("  42 ", NULL), "42", "a bare number parses (scalars allowed)");
    is_str(roundtrip("\"h\\u00e9llo\"", NULL), "\"h\xc3\xa9llo\"", "a bare string parses, UTF-8 kept");
    is_str(roundtrip("null", NULL), "null", "null parses");
    is_str(roundtrip("{\"a\":1,\"a\":2}", NULL), "{\"a\":2}", "duplicate keys accepted, last wins");
    is_str(roundtrip("[\"a\\u0000b\"]", NULL), "[\"a\\u0000b\"]", "\\u0000 in a string survives");
    is_str(roundtrip("[\"tab\\there\",\"q\\\"\",\"\\/\"]", NULL), "[\"tab\\there\",\"q\\\"\",\"/\"]",
           "escapes re-serialised");

    /* The buffer need not be NUL-ended: only len bytes are read. */
    rv = dsf_json_parse(&j, pool, "{\"a\":1}garbage", 7, NULL);
    is_int(rv, APR_SUCCESS, "parse reads only len bytes");
    out = dsf_json_dump(j, pool, &len);
    is_str(out, "{\"a\":1}", "... and dumps what it read");
    is_int(len, 7, "dump length reported");
}

static void test_numbers(void)
{
    struct { const char *in, *out; } rows[] = {
        { "[0.1]", "[0.1]" },
        { "[123.456]", "[123.456]" },
        { "[100.0]", "[100.0]" },
        { "[1.5e3]", "[1500.0]" },
        { "[1e15]", "[1000000000000000.0]" },
        { "[1E16]", "[1e16]" },
        { "[1e20]", "[1e20]" },
        { "[1.0E-7]", "[1e-7]" },
        { "[0.00012]", "[0.00012]" },
        { "[-0.0]", "[-0.0]" },
        { "[-2.5]", "[-2.5]" },
        { "[0.30000000000000004]", "[0.30000000000000004]" },
        { "[1.7976931348623157e308]", "[1.7976931348623157e308]" },
        { "[5e-324]", "[5e-324]" },
        { "[2.2250738585072014e-308,2.225073858507201e-308]", "[2.2250738585072014e-308,2.225073858507201e-308]" },
        { "[123456789012345.6]", "[123456789012345.6]" },
        { "[0.1234567890123456789]", "[0.12345678901234568]" },
        { "[9223372036854775807,-9223372036854775808]", "[9223372036854775807,-9223372036854775808]" },
        { "[0,-0,1e0]", "[0,0,1.0]" },
    };
    apr_size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        is_str(roundtrip(rows[i].in, NULL), rows[i].out, apr_psprintf(pool, "number %s", rows[i].in));
}

static void test_equal(void)
{
    dsf_json_t *a, *b, *c;
    const char *sa = "{\"x\":[1,2.5,\"s\"],\"y\":null}", *sb = "{ \"y\" : null, \"x\" : [1, 25e-1, \"s\"] }";
    const char *sc = "{\"x\":[1,2.5,\"t\"],\"y\":null}";

    dsf_json_parse(&a, pool, sa, strlen(sa), NULL);
    dsf_json_parse(&b, pool, sb, strlen(sb), NULL);
    dsf_json_parse(&c, pool, sc, strlen(sc), NULL);
    ok(dsf_json_equal(a, b), "equal values whatever the key order and spelling");
    ok(!dsf_json_equal(a, c), "a different string makes them differ");
    ok(!dsf_json_equal(a, NULL), "NULL is equal to nothing");
}

/* Significant digits in a number's text: "100.0" and "1e2" have 1. */
static int sig_digits(const char *s)
{
    char d[64];
    int n = 0, i;
    for (; *s && *s != 'e' && *s != 'E'; s++) {
        if (*s >= '0' && *s <= '9' && (n || *s != '0') && n < 63)
            d[n++] = *s;
    }
    for (i = n; i > 0 && d[i - 1] == '0'; i--)
        ;
    return i;
}

static void test_shortest_reals(void)
{
    apr_pool_t *p;
    int i, bad = 0, checked = 0;
    unsigned long long seed = 88172645463325252ULL;

    apr_pool_create(&p, pool);
    for (i = 0; i < 40000; i++) {
        union { unsigned long long u; double d; } x;
        char ref[40];
        const char *out, *num;
        dsf_json_t *o;
        int prec;

        seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;   /* xorshift64 */
        x.u = seed;
        if (i % 4 == 1)
            x.u &= 0x800fffffffffffffULL;          /* subnormals */
        else if (i % 4 == 2)
            x.d = (double)(seed % 100000000) / 1000.0;   /* short decimals */
        if (x.d != x.d || x.d - x.d != 0)
            continue;                               /* NaN, inf */
        for (prec = 1; prec <= 17; prec++) {        /* brute force */
            snprintf(ref, sizeof(ref), "%.*g", prec, x.d);
            if (strtod(ref, NULL) == x.d)
                break;
        }
        apr_pool_clear(p);
        o = dsf_json_object(p);
        dsf_json_set_real(o, "r", x.d);
        out = dsf_json_dump(o, p, NULL);
        num = out + 5;                              /* {"r":NUM} */
        checked++;
        if (strtod(num, NULL) != x.d || sig_digits(num) != sig_digits(ref)) {
            if (bad++ < 5)
                printf("#   %.17g: dumped %s, shortest %s\n", x.d, out, ref);
        }
    }
    apr_pool_destroy(p);
    ok(bad == 0 && checked > 30000, "%d random reals dump shortest and exact (%d wrong)", checked, bad);
}

static void test_sqs_safe(void)
{
    /* U+FFFE/U+FFFF are refused by SQS in a body: they go out escaped. */
    is_str(roundtrip("[\"a\xef\xbf\xbf" "b\\uFFFEc\"]", NULL), "[\"a\\uffffb\\ufffec\"]",
           "U+FFFF and U+FFFE escaped");
    is_str(roundtrip("[\"\xef\xbf\xbd\xe2\x80\xa8\xf0\x9f\x98\x80\x7f\"]", NULL),
           "[\"\xef\xbf\xbd\xe2\x80\xa8\xf0\x9f\x98\x80\x7f\"]",
           "U+FFFD, U+2028, emoji and DEL pass through raw");
    is_str(roundtrip("[\"\\u0001\\u001f\\b\\f\\r\"]", NULL), "[\"\\u0001\\u001f\\b\\f\\r\"]",
           "control characters escaped");
    {
        apr_status_t rv;
        ok(roundtrip("{\"k\\u0000ey\":1}", &rv) == NULL && rv == DSF_EINPUT,
           "a key with \\u0000 is refused (jansson cannot hold it)");
    }
}

static void test_errors(void)
{
    dsf_json_t *j = (dsf_json_t *)1;
    dsf_json_error_t err;
    apr_status_t rv;
    const char *s;

    s = "{\"a\":1}{\"b\":2}";
    rv = dsf_json_parse(&j, pool, s, strlen(s), &err);
    is_int(rv, DSF_EINPUT, "two values: exactly one is allowed");
    ok(j == NULL, "no value on error");
    ok(strstr(err.text, "end of file expected") != NULL, "reason from jansson: %s", err.text);

    s = "{\n  \"a\": 1,\n  \"b\": tru\n}";
    rv = dsf_json_parse(&j, pool, s, strlen(s), &err);
    is_int(rv, DSF_EINPUT, "malformed literal refused");
    is_int(err.line, 3, "error line is the line of the bad token");
    ok(err.column >= 8 && err.column <= 11, "error column near the bad token (%d)", err.column);
    ok(err.position > 10 && err.position <= strlen(s), "error position in bytes (%d)", (int)err.position);
    ok(err.text[0] != '\0', "error text present: %s", err.text);

    rv = dsf_json_parse(&j, pool, "", 0, &err);
    is_int(rv, DSF_EINPUT, "empty input refused");

    rv = dsf_json_parse(&j, pool, "[\"\xff\"]", 5, &err);
    is_int(rv, DSF_EINPUT, "invalid UTF-8 refused");

    rv = dsf_json_parse(&j, pool, "[1]\x02", 4, &err);
    is_str(err.text, "end of file expected near '?'", "reason kept printable ASCII");
    rv = dsf_json_parse(&j, pool, "[\xc3\xb1]", 4, &err);
    is_str(err.text, "invalid token near '?" "?'", "... also for UTF-8 in the quoted token");

    rv = dsf_json_parse(&j, pool, "[18446744073709551616]", 22, &err);
    is_int(rv, DSF_EINPUT, "integers beyond 64 bits refused (a jansson limit)");

    rv = dsf_json_parse(&j, pool, "[1,]", 4, NULL);
    is_int(rv, DSF_EINPUT, "NULL err allowed");
}

static void test_depth(void)
{
    dsf_json_t *j;
    dsf_json_error_t err;
    apr_status_t rv;
    char *s;

    s = nested(pool, DSF_JSON_MAX_DEPTH, "[", "]");
    rv = dsf_json_parse(&j, pool, s, strlen(s), &err);
    is_int(rv, APR_SUCCESS, "64 levels of arrays accepted");

    s = nested(pool, DSF_JSON_MAX_DEPTH + 1, "[", "]");
    rv = dsf_json_parse(&j, pool, s, strlen(s), &err);
    is_int(rv, DSF_ETOOBIG, "65 levels of arrays refused as too big");
    ok(strstr(err.text, "64") != NULL, "depth error names the limit: %s", err.text);

    {
        /* 65 objects deep: {"k":{"k":...{"k":0}...}} */
        char *deep = "0";
        int i;
        for (i = 0; i < DSF_JSON_MAX_DEPTH + 1; i++)
            deep = apr_psprintf(pool, "{\"k\":%s}", deep);
        rv = dsf_json_parse(&j, pool, deep, strlen(deep), &err);
        is_int(rv, DSF_ETOOBIG, "65 levels of objects refused");
        deep = "0";
        for (i = 0; i < DSF_JSON_MAX_DEPTH; i++)
            deep = apr_psprintf(pool, "{\"k\":%s}", deep);
        rv = dsf_json_parse(&j, pool, deep, strlen(deep), &err);
        is_int(rv, APR_SUCCESS, "64 levels of objects accepted");
    }

    /* Brackets inside strings do not count, escaped quotes do not end them. */
    s = apr_pstrcat(pool, "[\"\\\"", nested(pool, 200, "[", "{"), "\"]", NULL);
    rv = dsf_json_parse(&j, pool, s, strlen(s), &err);
    is_int(rv, APR_SUCCESS, "brackets inside a string (after an escaped quote) ignored");
    s = apr_pstrcat(pool, "[\"\\\\\"", nested(pool, 70, "[", "]"), "]", NULL);
    rv = dsf_json_parse(&j, pool, s, strlen(s), &err);
    is_int(rv, DSF_ETOOBIG, "an escaped backslash ends before the quote: the string closes");

    /* Unclosed deep input is refused before jansson sees it. */
    s = apr_palloc(pool, 100001);
    memset(s, '[', 100000);
    s[100000] = '\0';
    rv = dsf_json_parse(&j, pool, s, 100000, &err);
    is_int(rv, DSF_ETOOBIG, "100000 open brackets refused as too deep");
}

static void test_access(void)
{
    dsf_json_t *j, *c, *e;
    const char *s = "{\"s\":\"str\",\"i\":-7,\"b\":true,\"f\":false,\"r\":1.5,"
                    "\"a\":[\"x\",{\"y\":1}],\"n\":null}";
    apr_pool_t *p1, *p2;

    ok(dsf_json_parse(&j, pool, s, strlen(s), NULL) == APR_SUCCESS, "parse access fixture");
    ok(dsf_json_is_object(j) && !dsf_json_is_array(j), "object type");
    is_str(dsf_json_get_str(j, "s"), "str", "get_str");
    ok(dsf_json_get_str(j, "i") == NULL, "get_str of a number is NULL");
    ok(dsf_json_get_str(j, "missing") == NULL, "get_str of a missing key is NULL");
    is_int(dsf_json_get_int(j, "i", 99), -7, "get_int");
    is_int(dsf_json_get_int(j, "s", 99), 99, "get_int of a string gives the default");
    is_int(dsf_json_get_int(j, "missing", 99), 99, "get_int of a missing key gives the default");
    is_int(dsf_json_get_bool(j, "b", 0), 1, "get_bool true");
    is_int(dsf_json_get_bool(j, "f", 1), 0, "get_bool false");
    is_int(dsf_json_get_bool(j, "i", 5), 5, "get_bool of a number gives the default");
    ok(dsf_json_get(j, "missing", pool) == NULL, "get of a missing key is NULL");
    ok(dsf_json_is_null(dsf_json_get(j, "n", pool)), "null member");
    is_str(dsf_json_type_name(dsf_json_get(j, "r", pool)), "a number", "type name of a real");
    is_str(dsf_json_type_name(dsf_json_get(j, "a", pool)), "an array", "type name of an array");

    /* A child outlives its parent's pool: it holds its own reference. */
    apr_pool_create(&p1, pool);
    apr_pool_create(&p2, pool);
    ok(dsf_json_parse(&j, p1, s, strlen(s), NULL) == APR_SUCCESS, "parse into a short pool");
    c = dsf_json_get(j, "a", p2);
    apr_pool_destroy(p1);
    is_int(dsf_json_size(c), 2, "child array still valid after the parent's pool died");
    e = dsf_json_at(c, 1, p2);
    is_str(dsf_json_dump(e, p2, NULL), "{\"y\":1}", "element of the child dumps");
    ok(dsf_json_at(c, 2, p2) == NULL, "index out of range is NULL");
    is_str(dsf_json_str(dsf_json_at(c, 0, p2)), "x", "dsf_json_str of an element");
    ok(dsf_json_str(e) == NULL, "dsf_json_str of an object is NULL");
    apr_pool_destroy(p2);
}

static void test_build(void)
{
    dsf_json_t *o = dsf_json_object(pool), *a = dsf_json_array(pool), *inner;
    apr_pool_t *sub;

    ok(dsf_json_set_str(o, "s", "v\"1") == APR_SUCCESS, "set_str");
    ok(dsf_json_set_strn(o, "n", "abcdef", 3) == APR_SUCCESS, "set_strn with a length");
    ok(dsf_json_set_strn(o, "z", "a\0b", 3) == APR_SUCCESS, "set_strn with an embedded NUL");
    ok(dsf_json_set_int(o, "i", -9000000000LL) == APR_SUCCESS, "set_int 64-bit");
    ok(dsf_json_set_bool(o, "b", 1) == APR_SUCCESS, "set_bool");
    ok(dsf_json_set_real(o, "r", 0.5) == APR_SUCCESS, "set_real");
    ok(dsf_json_append_str(a, "x") == APR_SUCCESS, "append_str");
    ok(dsf_json_append_int(a, 3) == APR_SUCCESS, "append_int");

    /* A child built in a shorter pool survives in the parent. */
    apr_pool_create(&sub, pool);
    inner = dsf_json_object(sub);
    dsf_json_set_int(inner, "k", 1);
    ok(dsf_json_append(a, inner) == APR_SUCCESS, "append object");
    apr_pool_destroy(sub);
    ok(dsf_json_set(o, "a", a) == APR_SUCCESS, "set child");
    is_str(dsf_json_dump(o, pool, NULL),
           "{\"s\":\"v\\\"1\",\"n\":\"abc\",\"z\":\"a\\u0000b\",\"i\":-9000000000,"
           "\"b\":true,\"r\":0.5,\"a\":[\"x\",3,{\"k\":1}]}",
           "built object dumps in insertion order");

    is_int(dsf_json_set_str(o, "bad", "\xc3\x28"), APR_EINVAL, "invalid UTF-8 refused by set_str");
    is_int(dsf_json_set_str(a, "k", "v"), APR_EINVAL, "set on an array refused");
    is_int(dsf_json_append_str(o, "v"), APR_EINVAL, "append to an object refused");
}

static void test_quote(void)
{
    is_str(dsf_json_quote(pool, "a\"b\\c\nd", 7), "\"a\\\"b\\\\c\\nd\"", "quote escapes");
    is_str(dsf_json_quote(pool, "abcdef", 2), "\"ab\"", "quote takes exactly len bytes");
    is_str(dsf_json_quote(pool, "", 0), "\"\"", "quote of the empty string");
    ok(dsf_json_quote(pool, "\xff", 1) == NULL, "quote of invalid UTF-8 is NULL");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_parse_and_dump();
    test_numbers();
    test_sqs_safe();
    test_shortest_reals();
    test_equal();
    test_errors();
    test_depth();
    test_access();
    test_build();
    test_quote();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
