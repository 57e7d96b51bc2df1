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
        char chunk[100];

        memset(chunk, 'x', sizeof(chunk));
        varlink_buffer_init(&b, 256);
        check(varlink_buffer_append(&b, chunk, sizeof(chunk)) == 0);
        check(varlink_buffer_append(&b, chunk, sizeof(chunk)) == 0);
        check(varlink_buffer_append(&b, chunk, sizeof(chunk)) == -EMSGSIZE);
        varlink_buffer_clear(&b);
}

static void test_malformed_messages(void)
{
        VarlinkBuffer b;
        json_object *o = NULL;

        varlink_buffer_init(&b, 256);
        check(varlink_buffer_append(&b, "not json\0[1,2]\0", 15) == 0);
        check(varlink_buffer_next(&b, &o) == -EBADMSG);
        check(varlink_buffer_next(&b, &o) == -EBADMSG); /* an array is not a call */
        check(varlink_buffer_next(&b, &o) == 0);
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
        RUN(test_malformed_messages);
        RUN(test_serialize_ends_with_nul);
        return 0;
}
