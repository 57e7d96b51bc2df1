/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Varlink framing: split and joined messages, limits, malformed input. */
#include <errno.h>

#include "cleanup.h"
#include "json-util.h"
#include "test-util.h"
#include "varlink.h"

static void test_split_and_joined_messages(void)
{
        VarlinkBuffer b;
        json_object *o = NULL;
        const char *m = NULL;
        const char stream[] = "{\"method\":\"a\"}\0{\"method\":\"b\"}\0{\"meth";

        varlink_buffer_init(&b, 1024);
        for (size_t i = 0; i < 5; i++)
                check(varlink_buffer_append(&b, stream + i, 1) == 0);
        check(varlink_buffer_next(&b, &o) == 0);
        check(varlink_buffer_append(&b, stream + 5, sizeof(stream) - 1 - 5) == 0);
        check(varlink_buffer_next(&b, &o) == 1);
        check(json_get_string(o, "method", &m) == 0 && strcmp(m, "a") == 0);
        json_object_put(o);
        check(varlink_buffer_next(&b, &o) == 1);
        check(json_get_string(o, "method", &m) == 0 && strcmp(m, "b") == 0);
        json_object_put(o);
        check(varlink_buffer_next(&b, &o) == 0);
        varlink_buffer_clear(&b);
}

static void test_oversized_message_is_refused(void)
{
        VarlinkBuffer b;
        json_object *o = NULL;
        char chunk[100];

        memset(chunk, 'x', sizeof(chunk));
        varlink_buffer_init(&b, 256);
        check(varlink_buffer_append(&b, chunk, sizeof(chunk)) == 0);
        check(varlink_buffer_append(&b, chunk, sizeof(chunk)) == 0);
        check(varlink_buffer_next(&b, &o) == 0);
        check(varlink_buffer_append(&b, chunk, sizeof(chunk)) == 0);
        check(varlink_buffer_next(&b, &o) == -EMSGSIZE);
        /* Nothing of it is kept, nor of what follows. */
        check(b.len == 0);
        check(varlink_buffer_append(&b, "{}\0", 3) == 0 && b.len == 0);
        check(varlink_buffer_next(&b, &o) == -EMSGSIZE);
        varlink_buffer_clear(&b);
}

/* Messages before an oversized one in the same append are handed out first. */
static void test_error_after_the_messages_before_it(void)
{
        VarlinkBuffer b;
        json_object *o = NULL;
        char stream[300] = "{\"method\":\"a\"}";
        size_t first = strlen(stream) + 1;

        memset(stream + first, 'x', sizeof(stream) - first); /* then 285 bytes without NUL */
        varlink_buffer_init(&b, 256);
        check(varlink_buffer_append(&b, stream, sizeof(stream)) == 0);
        check(varlink_buffer_next(&b, &o) == 1);
        json_object_put(o);
        check(varlink_buffer_next(&b, &o) == -EMSGSIZE);
        varlink_buffer_clear(&b);
}

static void check_string(const char *json, int expected)
{
        _cleanup_json_ json_object *o = json_tokener_parse(json);
        const char *s = NULL;

        check(o);
        check_int(varlink_get_string(o, "name", &s), expected);
}

/* Strings that C code would misread are refused. */
static void test_get_string(void)
{
        check_string("{\"name\": \"web1\"}", 0);
        check_string("{\"name\": \"\xc3\xa9t\xc3\xa9 \\u65e5\\u672c \\ud83d\\ude00\"}", 0);
        check_string("{}", -ENOENT);
        check_string("{\"name\": null}", -ENOENT);
        check_string("{\"name\": 5}", -EINVAL);
        check_string("{\"name\": \"a\\u0000b\"}", -EINVAL);
        check_string("{\"name\": \"\xff\xfe\"}", -EINVAL);         /* not UTF-8 */
        check_string("{\"name\": \"\xc3\"}", -EINVAL);             /* cut short */
        check_string("{\"name\": \"\xc0\xaf\"}", -EINVAL);         /* overlong '/' */
        check_string("{\"name\": \"\xed\xa0\x80\"}", -EINVAL);     /* a surrogate */
        check_string("{\"name\": \"\xf4\x90\x80\x80\"}", -EINVAL); /* past U+10FFFF */
}

/* {"method":"xxx..."} and its NUL, filling buf exactly. */
static void make_call(char *buf, size_t size, char fill)
{
        static const char head[] = "{\"method\":\"", tail[] = "\"}";
        size_t n = size - 1 - strlen(head) - strlen(tail);

        memcpy(buf, head, strlen(head));
        memset(buf + strlen(head), fill, n);
        memcpy(buf + strlen(head) + n, tail, sizeof(tail)); /* with the NUL */
}

static void check_method(VarlinkBuffer *b, char fill, size_t len)
{
        _cleanup_json_ json_object *o = NULL;
        const char *m = NULL;

        check(varlink_buffer_next(b, &o) == 1);
        check(json_get_string(o, "method", &m) == 0);
        check(m[0] == fill && strlen(m) == len);
}

/* The limit is per message: bytes of the one before, still unread, do not count. */
static void test_message_after_another_in_one_append(void)
{
        char a[200], b[120], rest[50 + sizeof(b)];
        VarlinkBuffer buf;
        json_object *o = NULL;

        make_call(a, sizeof(a), 'a');
        make_call(b, sizeof(b), 'b');
        varlink_buffer_init(&buf, 256);
        check(varlink_buffer_append(&buf, a, sizeof(a) - 50) == 0);
        /* The end of the first and the whole second in one read. */
        memcpy(rest, a + sizeof(a) - 50, 50);
        memcpy(rest + 50, b, sizeof(b));
        check(varlink_buffer_append(&buf, rest, sizeof(rest)) == 0);
        check_method(&buf, 'a', sizeof(a) - 14);
        check_method(&buf, 'b', sizeof(b) - 14);
        check(varlink_buffer_next(&buf, &o) == 0);
        varlink_buffer_clear(&buf);
}

static int first_message(const char *stream, size_t len)
{
        _cleanup_json_ json_object *o = NULL;
        VarlinkBuffer b;
        int r;

        varlink_buffer_init(&b, 256);
        r = varlink_buffer_append(&b, stream, len);
        if (r >= 0)
                r = varlink_buffer_next(&b, &o);
        varlink_buffer_clear(&b);
        return r;
}

#define FIRST_MESSAGE(literal) first_message(literal, sizeof(literal) - 1)

/* A message is one JSON object: text after it is not ignored. */
static void test_trailing_text_is_malformed(void)
{
        check(FIRST_MESSAGE("{\"method\":\"a\"} trailing\0") == -EBADMSG);
        check(FIRST_MESSAGE("{\"method\":\"a\"}{\"method\":\"b\"}\0") == -EBADMSG);
        check(FIRST_MESSAGE("{\"method\":\"a\"}]\0") == -EBADMSG);
        /* Whitespace around the object is JSON's own. */
        check(FIRST_MESSAGE(" {\"method\":\"a\"} \r\n\t\0") == 1);
}

static void test_malformed_messages(void)
{
        VarlinkBuffer b;
        json_object *o = NULL;

        check(FIRST_MESSAGE("not json\0") == -EBADMSG);
        check(FIRST_MESSAGE("[1,2]\0") == -EBADMSG); /* an array is not a call */
        check(FIRST_MESSAGE("\0") == -EBADMSG);
        check(FIRST_MESSAGE("{\"method\":\0") == -EBADMSG);
        /* The stream ends at the first: a valid message after it is not handed out. */
        varlink_buffer_init(&b, 256);
        check(varlink_buffer_append(&b, "not json\0{}\0", 12) == 0);
        check(varlink_buffer_next(&b, &o) == -EBADMSG);
        check(varlink_buffer_next(&b, &o) == -EBADMSG);
        varlink_buffer_clear(&b);
}

static void test_serialize_ends_with_nul(void)
{
        _cleanup_json_ json_object *call = varlink_call_new("io.memtide.Manager.ListGuests", NULL);
        _cleanup_free_ char *data = NULL;
        size_t len;

        check(varlink_serialize(call, &data, &len) == 0);
        check(data[len - 1] == '\0');
        check_str_contains(data, "\"method\":\"io.memtide.Manager.ListGuests\"");
        check_str_contains(data, "\"parameters\":{}");
}

int main(void)
{
        RUN(test_split_and_joined_messages);
        RUN(test_oversized_message_is_refused);
        RUN(test_error_after_the_messages_before_it);
        RUN(test_get_string);
        RUN(test_message_after_another_in_one_append);
        RUN(test_trailing_text_is_malformed);
        RUN(test_malformed_messages);
        RUN(test_serialize_ends_with_nul);
        return 0;
}
