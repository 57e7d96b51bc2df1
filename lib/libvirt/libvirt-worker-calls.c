/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What every part of the worker thread shares (libvirt-worker.c, and
 * libvirt-worker-vmem.c for virtio-mem): the published name of the libvirt
 * call under way, a failure turned into -errno and its message, the table
 * of guests, the notes left for the worker by libvirt's event callbacks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/virterror.h>

#include "libvirt-backend-private.h"

void libvirt_worker_call_begin(LibvirtBackend *b, const char *call)
{
        pthread_mutex_lock(&b->lock);
        snprintf(b->call, sizeof(b->call), "%s", call);
        b->call_start_usec = libvirt_now_usec();
        pthread_mutex_unlock(&b->lock);
}

void libvirt_worker_call_end(LibvirtBackend *b)
{
        pthread_mutex_lock(&b->lock);
        b->call[0] = '\0';
        pthread_mutex_unlock(&b->lock);
}

void libvirt_worker_set_last_error(LibvirtBackend *b, const char *message)
{
        pthread_mutex_lock(&b->lock);
        snprintf(b->last_error, sizeof(b->last_error), "%s", message);
        pthread_mutex_unlock(&b->lock);
}

/* libvirt's error codes as -errno; the message says the rest. */
static int worker_errno(int code)
{
        switch (code) {
        case VIR_ERR_NO_DOMAIN:
                return -ENOENT;
        case VIR_ERR_INVALID_ARG:
                return -EINVAL;
        case VIR_ERR_NO_SUPPORT:
        case VIR_ERR_OPERATION_UNSUPPORTED:
        case VIR_ERR_OPERATION_INVALID: /* e.g. no balloon device or driver */
                return -EOPNOTSUPP;
        case VIR_ERR_OPERATION_TIMEOUT: /* the domain's job lock stayed taken */
                return -ETIMEDOUT;
        case VIR_ERR_AUTH_FAILED:
        case VIR_ERR_AUTH_CANCELLED:
        case VIR_ERR_OPERATION_DENIED:
        case VIR_ERR_ACCESS_DENIED:
                return -EACCES;
        default:
                return -EIO;
        }
}

/*
 * After a failed call: the error as -errno, its message in *message (owned
 * by the caller; may be NULL), and the connection flagged dead when libvirt
 * says so, for the loop to reconnect.
 */
int libvirt_worker_failed(LibvirtBackend *b, char **message)
{
        const char *m = virGetLastErrorMessage();
        int r = worker_errno(virGetLastErrorCode());

        libvirt_worker_set_last_error(b, m);
        if (message)
                *message = strdup(m);

        if (b->conn && virConnectIsAlive(b->conn) == 0) {
                pthread_mutex_lock(&b->lock);
                b->conn_dead = true;
                pthread_mutex_unlock(&b->lock);
                r = -ENOTCONN;
        }
        virResetLastError();
        return r;
}

LibvirtWorkerGuest *libvirt_worker_guest_find(LibvirtBackend *b, const char *uuid)
{
        for (size_t i = 0; i < b->n_guests; i++)
                if (strcmp(b->guests[i].uuid, uuid) == 0)
                        return &b->guests[i];
        return NULL;
}

LibvirtWorkerGuest *libvirt_worker_request_guest(LibvirtBackend *b, LibvirtResultEntry *e)
{
        LibvirtWorkerGuest *g = libvirt_worker_guest_find(b, e->result.uuid);

        if (!g || !g->dom) {
                e->result.r = -ENOENT;
                e->result.error = strdup("no such active guest");
                return NULL;
        }
        return g;
}

void libvirt_worker_note(LibvirtBackend *b, LibvirtNote *n)
{
        pthread_mutex_lock(&b->lock);
        n->next = NULL;
        *b->notes_tail = n;
        b->notes_tail = &n->next;
        pthread_cond_signal(&b->wake);
        pthread_mutex_unlock(&b->lock);
}

char *libvirt_worker_xml(LibvirtBackend *b, virDomainPtr dom, unsigned flags, char **message)
{
        char *xml;

        libvirt_worker_call_begin(b, "virDomainGetXMLDesc");
        xml = virDomainGetXMLDesc(dom, flags);
        libvirt_worker_call_end(b);
        if (!xml)
                (void)libvirt_worker_failed(b, message);
        return xml;
}
