/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The varlink control socket. Clients are served on the main loop without
 * blocking: requests are read as they arrive, replies queued and written as
 * the socket allows. A malformed or oversized request gets an error reply
 * and the connection is closed after it; the number of clients is bounded.
 */
#include "control.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "cleanup.h"
#include "json-util.h"
#include "log.h"
#include "memtide-config.h"
#include "status-json.h"
#include "varlink.h"

#define VARLINK_INTERFACE "io.memtide.Manager"

typedef struct ControlClient ControlClient;

struct ControlServer {
        Manager *manager;
        char *path;
        int fd;
        sd_event_source *source;
        ControlClient *clients;
        size_t n_clients;
};

struct ControlClient {
        ControlServer *server;
        ControlClient *next;
        int fd;
        sd_event_source *source;
        VarlinkBuffer in;
        char *out;
        size_t out_len, out_off;
        bool close_after_write;
};

static void client_free(ControlClient *c)
{
        ControlServer *s = c->server;
        for (ControlClient **p = &s->clients; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
        s->n_clients--;
        sd_event_source_disable_unref(c->source);
        close(c->fd);
        varlink_buffer_clear(&c->in);
        free(c->out);
        free(c);
}

static int client_queue(ControlClient *c, json_object *reply)
{
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r = varlink_serialize(reply, &data, &len);

        json_object_put(reply);
        if (r < 0)
                return r;
        char *out = realloc(c->out, c->out_len + len);
        if (!out)
                return -ENOMEM;
        memcpy(out + c->out_len, data, len);
        c->out = out;
        c->out_len += len;
        return sd_event_source_set_io_events(c->source, EPOLLIN | EPOLLOUT);
}

static json_object *reply_new(json_object *params)
{
        json_object *o = json_object_new_object();
        json_object_object_add(o, "parameters", params);
        return o;
}

static json_object *service_info(void)
{
        json_object *p = json_object_new_object(), *ifaces = json_object_new_array();
        json_object_object_add(p, "vendor", json_object_new_string("memtide"));
        json_object_object_add(p, "product", json_object_new_string("memtided"));
        json_object_object_add(p, "version", json_object_new_string(MEMTIDE_VERSION));
        json_object_object_add(p, "url", json_object_new_string("https://memtide.invalid/"));
        json_object_array_add(ifaces, json_object_new_string("org.varlink.service"));
        json_object_array_add(ifaces, json_object_new_string(VARLINK_INTERFACE));
        json_object_object_add(p, "interfaces", ifaces);
        return p;
}

/* A guest by name or UUID, among those being managed. */
static Guest *find_guest(Manager *m, const char *key)
{
        for (size_t i = 0; i < m->n_guests; i++) {
                Guest *g = m->guests[i];
                if (g->state == GUEST_READY &&
                    (strcmp(g->name, key) == 0 || (g->uuid && strcasecmp(g->uuid, key) == 0)))
                        return g;
        }
        return NULL;
}

static json_object *no_such_guest(const char *name)
{
        json_object *p = json_object_new_object();
        json_object_object_add(p, "name", json_object_new_string(name ? name : ""));
        return varlink_error_new(VARLINK_INTERFACE ".NoSuchGuest", p);
}

static json_object *get_compat(Manager *m, json_object *call)
{
        json_object *params = NULL, *p;
        const char *name = NULL;
        Guest *g;

        json_object_object_get_ex(call, "parameters", &params);
        if (json_get_string(params, "name", &name) < 0)
                return varlink_error_new("org.varlink.service.InvalidParameter", NULL);
        g = find_guest(m, name);
        if (!g)
                return no_such_guest(name);
        p = json_object_new_object();
        json_object_object_add(p, "name", json_object_new_string(g->name));
        json_object_object_add(p, "compat", compat_json(g, true));
        return reply_new(p);
}

static json_object *dispatch(ControlServer *s, json_object *call)
{
        const char *method = NULL;
        Manager *m = s->manager;

        if (json_get_string(call, "method", &method) < 0)
                return varlink_error_new("org.varlink.service.InvalidParameter", NULL);
        if (strcmp(method, VARLINK_INTERFACE ".GetStatus") == 0)
                return reply_new(status_json(m));
        if (strcmp(method, VARLINK_INTERFACE ".ListGuests") == 0)
                return reply_new(guests_json(m));
        if (strcmp(method, VARLINK_INTERFACE ".GetCompat") == 0)
                return get_compat(m, call);
        if (strcmp(method, "org.varlink.service.GetInfo") == 0)
                return reply_new(service_info());
        json_object *p = json_object_new_object();
        json_object_object_add(p, "method", json_object_new_string(method));
        return varlink_error_new("org.varlink.service.MethodNotFound", p);
}

static int client_read(ControlClient *c)
{
        char buf[4096];
        ssize_t n = read(c->fd, buf, sizeof(buf));
        json_object *call;
        int r;

        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        if (n == 0)
                return -ECONNRESET;
        r = varlink_buffer_append(&c->in, buf, (size_t)n);
        while (r >= 0 && (r = varlink_buffer_next(&c->in, &call)) > 0) {
                r = client_queue(c, dispatch(c->server, call));
                json_object_put(call);
        }
        if (r == -EMSGSIZE || r == -EBADMSG) {
                log_warning("control client sent a %s request, closing it",
                            r == -EMSGSIZE ? "too large" : "malformed");
                c->close_after_write = true;
                varlink_buffer_clear(&c->in);
                return client_queue(c, varlink_error_new("org.varlink.service.InvalidParameter", NULL));
        }
        return r;
}

static int client_write(ControlClient *c)
{
        while (c->out_off < c->out_len) {
                ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
                if (n < 0)
                        return errno == EAGAIN || errno == EINTR ? 0 : -errno;
                c->out_off += (size_t)n;
        }
        c->out_off = c->out_len = 0;
        if (c->close_after_write)
                return -ECONNRESET;
        return sd_event_source_set_io_events(c->source, EPOLLIN);
}

static int on_client_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
        ControlClient *c = userdata;
        int r = 0;

        if (revents & EPOLLIN && !c->close_after_write)
                r = client_read(c);
        if (r >= 0 && revents & EPOLLOUT)
                r = client_write(c);
        if (r >= 0 && revents & (EPOLLHUP | EPOLLERR) && !(revents & EPOLLIN))
                r = -ECONNRESET;
        if (r < 0)
                client_free(c);
        return 0;
}

static int on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
        ControlServer *s = userdata;
        _cleanup_close_ int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        ControlClient *c;

        if (cfd < 0)
                return 0;
        if (s->n_clients >= CONTROL_MAX_CLIENTS) {
                log_warning("control socket: %d clients connected already, refusing one",
                            CONTROL_MAX_CLIENTS);
                return 0;
        }
        c = calloc(1, sizeof(*c));
        if (!c)
                return 0;
        c->server = s;
        c->fd = TAKE_FD(cfd);
        varlink_buffer_init(&c->in, VARLINK_MAX_MESSAGE_BYTES);
        c->next = s->clients;
        s->clients = c;
        s->n_clients++;
        if (sd_event_add_io(s->manager->event, &c->source, c->fd, EPOLLIN, on_client_io, c) < 0)
                client_free(c);
        return 0;
}

static int listen_unix(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        (void)unlink(path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0)
                return -errno;
        return TAKE_FD(fd);
}

static int mkdir_parent(const char *path)
{
        _cleanup_free_ char *dir = strdup(path);
        char *slash;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (!slash || slash == dir)
                return 0;
        *slash = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int control_server_new(ControlServer **ret, Manager *m, const char *path)
{
        ControlServer *s = calloc(1, sizeof(*s));
        int r;

        if (!s)
                return -ENOMEM;
        s->manager = m;
        s->fd = -1;
        s->path = strdup(path);
        r = s->path ? mkdir_parent(path) : -ENOMEM;
        if (r >= 0)
                r = s->fd = listen_unix(path);
        if (r >= 0)
                r = sd_event_add_io(m->event, &s->source, s->fd, EPOLLIN, on_accept, s);
        if (r < 0) {
                control_server_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

ControlServer *control_server_free(ControlServer *s)
{
        if (!s)
                return NULL;
        while (s->clients)
                client_free(s->clients);
        sd_event_source_disable_unref(s->source);
        if (s->fd >= 0) {
                close(s->fd);
                (void)unlink(s->path);
        }
        free(s->path);
        free(s);
        return NULL;
}
