/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memtided's libvirt backend: guests found and followed through libvirt
 * (lib/libvirt-backend.c runs libvirt on its own threads; results arrive on
 * an eventfd in the main loop, which therefore never blocks on libvirtd).
 */
#pragma once

#include <stdbool.h>

#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "libvirt-backend.h"
#include "qmp.h"

typedef struct Manager Manager;
typedef struct Guest Guest;

typedef struct LibvirtGuests {
        LibvirtBackend *backend;
        sd_event_source *source;
        bool connected;
        struct PendingQmp *pending; /* passthrough commands awaiting QMP_REPLY */
        size_t n_pending;
} LibvirtGuests;

/* Starts the backend on m's loop. */
int libvirt_guests_start(Manager *m);
void libvirt_guests_stop(Manager *m);

/* Asks for one bulk stats call for every guest (answered asynchronously). */
void libvirt_guests_poll(Manager *m);
int libvirt_guests_set_target(Manager *m, Guest *g, uint64_t target_bytes);
/* After a reload changed StatsPeriod=: the new period for every active guest
 * now and every guest from now on; the outcome is logged when it arrives. */
int libvirt_guests_set_stats_period(Manager *m);

/* QMP through virDomainQemuMonitorCommand when LibvirtQMPPassthrough=yes (taints the domain). */
int libvirt_guests_qmp_command(Manager *m, Guest *g, const char *command, json_object *args,
                               qmp_reply_fn cb);
/* Forgets a guest's outstanding passthrough commands (it is being freed). */
void libvirt_guests_forget(Manager *m, Guest *g);

/* "connected", "connecting (...)", "unreachable: ..." for status. */
json_object *libvirt_guests_status_json(Manager *m);

/* Which libvirt daemon socket Backend=auto looks for. */
bool libvirt_socket_present(void);
