/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "ctl-client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "json-util.h"
#include "varlink.h"

/* Large replies (hundreds of guests) are fine; only requests are capped small. */
#define CTL_MAX_REPLY_BYTES (64u * 1024u * 1024u)

static int connect_unix(const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -1;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return -errno;
        return TAKE_FD(fd);
}

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int send_all(int fd, const char *data, size_t len)
{
        while (len > 0) {
                ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                data += n;
                len -= (size_t)n;
        }
        return 0;
}

static int read_reply(int fd, int timeout_ms, json_object **ret)
{
        VarlinkBuffer in;
        int64_t deadline = now_ms() + timeout_ms;
        int r = 0;

        varlink_buffer_init(&in, CTL_MAX_REPLY_BYTES);
        while ((r = varlink_buffer_next(&in, ret)) == 0) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                char buf[16384];
                int left = (int)(deadline - now_ms());
                if (left <= 0) {
                        r = -ETIMEDOUT;
                        break;
                }
                r = poll(&p, 1, left);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0) {
                        r = r < 0 ? -errno : -ETIMEDOUT;
                        break;
                }
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n <= 0) {
                        r = n < 0 ? -errno : -ECONNRESET;
                        break;
                }
                r = varlink_buffer_append(&in, buf, (size_t)n);
                if (r < 0)
                        break;
        }
        varlink_buffer_clear(&in);
        return r < 0 ? r : 0;
}

int ctl_call(const char *path, const char *method, json_object *params, int timeout_ms,
             json_object **ret, char **ret_error)
{
        _cleanup_json_ json_object *call = varlink_call_new(method, params);
        _cleanup_json_ json_object *reply = NULL;
        _cleanup_free_ char *data = NULL;
        _cleanup_close_ int fd = connect_unix(path);
        const char *error = NULL;
        json_object *p;
        size_t len;
        int r;

        if (fd < 0)
                return fd;
        r = varlink_serialize(call, &data, &len);
        if (r >= 0)
                r = send_all(fd, data, len);
        if (r >= 0)
                r = read_reply(fd, timeout_ms, &reply);
        if (r < 0)
                return r;
        bool failed = json_get_string(reply, "error", &error) == 0;
        if (!json_object_object_get_ex(reply, "parameters", &p))
                p = NULL;
        if (!failed && !p)
                return -EBADMSG;
        *ret = json_object_get(p);
        if (failed) {
                *ret_error = strdup(error);
                return -EBADE;
        }
        return 0;
}
