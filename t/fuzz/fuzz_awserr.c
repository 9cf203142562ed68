/* libFuzzer target: dsf_aws_classify, the reader of every AWS answer (SQS
 * and Lambda errors alike), and dsf_aws_call_describe, which logs it.
 *   bytes 0-1: the HTTP status (big-endian, mod 600); byte 2 bit 0: the
 *              transfer failed (no answer), bit 1: service lambda
 *   then:      header lines "Name: value" up to an empty line, then the body.
 * Invariants: rv is APR_SUCCESS for a 2xx (no code, no message), DSF_EUNAVAIL
 * for 429 and 5xx and for no answer, DSF_EAWS or DSF_EUNAVAIL (throttling
 * codes) otherwise; the message is at most 200 bytes, never holds the
 * canonical request AWS quotes after "The Canonical String" (it carries the
 * session token) nor anything after it, and is valid UTF-8 when AWS's was
 * (it goes into JSON answers); the description adds nothing else of the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "dsf_aws.h"
#include "dsf_json.h"

static apr_pool_t *root;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_initialize();
    apr_pool_create(&root, NULL);
    return 0;
}

/* Strict UTF-8 (no overlongs, no surrogates), as jansson wants it. */
static int utf8_ok(const unsigned char *s, apr_size_t n)
{
    apr_size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        apr_size_t k;
        unsigned int cp;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xc2 && c <= 0xdf) { k = 1; cp = c & 0x1f; }
        else if (c >= 0xe0 && c <= 0xef) { k = 2; cp = c & 0x0f; }
        else if (c >= 0xf0 && c <= 0xf4) { k = 3; cp = c & 0x07; }
        else return 0;
        {
            apr_size_t j;
            for (j = 1; j <= k; j++) {
                if (i + j >= n || (s[i + j] & 0xc0) != 0x80)
                    return 0;
                cp = (cp << 6) | (s[i + j] & 0x3f);
            }
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff))
            || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    dsf_aws_call_t c;
    const char *rest, *end, *desc, *cut, *msg_in = NULL;
    apr_size_t left;
    dsf_json_t *j;

    if (size < 3)
        return 0;
    apr_pool_create(&p, root);
    memset(&c, 0, sizeof(c));
    c.service = (data[2] & 2) ? "lambda" : "sqs";
    c.action = (data[2] & 2) ? "Invoke" : "ReceiveMessage";
    c.http.rv = (data[2] & 1) ? DSF_EUNAVAIL : APR_SUCCESS;
    c.http.error = (data[2] & 1) ? "Connection refused" : NULL;
    c.http.status = (data[2] & 1) ? 0 : ((data[0] << 8) | data[1]) % 600;
    c.http.resp_headers = apr_table_make(p, 4);

    /* Headers, one a line, then an empty line, then the body. */
    rest = (const char *)data + 3;
    left = size - 3;
    while (left && (end = memchr(rest, '\n', left))) {
        apr_size_t len = (apr_size_t)(end - rest);
        const char *colon;
        if (len == 0 || (len == 1 && rest[0] == '\r')) {
            left -= len + 1;
            rest = end + 1;
            break;
        }
        if ((colon = memchr(rest, ':', len))) {
            const char *v = colon + 1;
            while (v < end && *v == ' ')
                v++;
            apr_table_add(c.http.resp_headers, apr_pstrmemdup(p, rest, (apr_size_t)(colon - rest)),
                          apr_pstrmemdup(p, v, (apr_size_t)(end - v)));
        }
        left -= len + 1;
        rest = end + 1;
    }
    c.http.resp_body = apr_pstrmemdup(p, rest, left);
    c.http.resp_len = left;

    /* What AWS's message says, when the body is JSON with one. */
    if (left && rest[0] == '{' && dsf_json_parse(&j, p, rest, left, NULL) == APR_SUCCESS) {
        msg_in = dsf_json_get_str(j, "message");
        if (!msg_in)
            msg_in = dsf_json_get_str(j, "Message");
    }

    dsf_aws_classify(&c, p);

    if (c.http.rv != APR_SUCCESS) {
        if (c.rv != DSF_EUNAVAIL)
            abort();
    }
    else if (c.http.status >= 200 && c.http.status < 300) {
        if (c.rv != APR_SUCCESS || c.aws_code || c.aws_message)
            abort();
    }
    else if (c.http.status == 429 || c.http.status >= 500) {
        if (c.rv != DSF_EUNAVAIL)
            abort();
    }
    else if (c.rv != DSF_EAWS && c.rv != DSF_EUNAVAIL) {
        abort();
    }
    if (c.aws_message) {
        apr_size_t n = strlen(c.aws_message);
        if (n > 200 || strstr(c.aws_message, "The Canonical String"))
            abort();
        if (msg_in && (cut = strstr(msg_in, "The Canonical String"))
            && n > (apr_size_t)(cut - msg_in))
            abort();                    /* something after the cut got through */
#ifndef FUZZ_KNOWN_UTF8_CUT       /* -D to look past this finding (t/unit/test_fuzz_regress.c) */
        if (msg_in && utf8_ok((const unsigned char *)msg_in, strlen(msg_in))
            && !utf8_ok((const unsigned char *)c.aws_message, n))
            abort();                    /* cut inside a character: JSON drops it */
#endif
    }
    if (c.aws_code)
        (void)strlen(c.aws_code);
    /* The description quotes the message (checked above), never more of the body. */
    desc = dsf_aws_call_describe(&c, p);
    if (!desc || (msg_in && (cut = strstr(msg_in, "The Canonical String"))
                  && strstr(desc, "The Canonical String") && !(c.aws_code && strstr(c.aws_code, "The Canonical String"))))
        abort();
    apr_pool_destroy(p);
    return 0;
}
