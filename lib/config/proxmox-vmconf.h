/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Proxmox VE's VM config (/etc/pve/qemu-server/VMID.conf): the settings a
 * Proxmox host already has for a guest, read instead of duplicated in
 * memtide.conf. Only the main section counts (snapshots and [PENDING]
 * follow it in sections of their own), and of it only three keys:
 *
 *   memory: [current=]MiB   the guest's memory: memtide's maximum
 *   balloon: MiB            the minimum auto-ballooning may leave it
 *                           (0: no balloon device, memtide keeps off)
 *   shares: N               auto-ballooning weight, 0..50000, default 1000
 *
 * The file comes from a cluster file system that other people write to:
 * sizes and line lengths are bounded, a bad value is an error naming
 * file:line, keys we do not use are ignored.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "guest-settings.h"

/* pmxcfs refuses files above 1 MiB; a line longer than this is no config. */
#define PROXMOX_VMCONF_MAX_BYTES      (1024 * 1024)
#define PROXMOX_VMCONF_MAX_LINE_BYTES (64 * 1024)

typedef struct ProxmoxVmConf {
        /* The line each key was found on, 0 when absent. */
        unsigned memory_line, balloon_line, shares_line;
        uint64_t memory_bytes;
        uint64_t balloon_bytes; /* 0: balloon: 0, no balloon device */
        uint32_t shares;
} ProxmoxVmConf;

/*
 * Parses a VM config's text (file names it in errors). -EINVAL with
 * "file:line: reason" in *ret_error (caller frees) for a value memtide
 * cannot use; -ENOMEM.
 */
int proxmox_vmconf_parse(const char *text, const char *file, ProxmoxVmConf *ret, char **ret_error);

/* Reads and parses path: -ENOENT when there is none, other -errno with
 * "path: reason" in *ret_error, or proxmox_vmconf_parse()'s errors. */
int proxmox_vmconf_load(const char *path, ProxmoxVmConf *ret, char **ret_error);

/*
 * The VM config of the guest whose QMP socket is socket_path, when its name
 * is Proxmox's VMID.qmp (digits only): "dir/VMID.conf" in *ret (caller
 * frees). -ENOENT when the socket is not named so, -ENOMEM.
 */
int proxmox_vmconf_path(const char *dir, const char *socket_path, char **ret);

/*
 * Puts what conf says into s, each field's source "proxmox path:line":
 * memory: as the maximum, balloon: as the minimum (absent: memory, which
 * Proxmox's auto-ballooning leaves alone), balloon: 0 as Manage=no, shares:.
 */
void proxmox_vmconf_apply(const ProxmoxVmConf *conf, const char *path, GuestSettings *s);

/*
 * The Proxmox layer of the QMP guest at socket_path, put into s: 0 and
 * nothing when the socket is not VMID.qmp or dir has no VMID.conf; 1 when
 * the file's settings apply. A file that cannot be read or used leaves the
 * guest unmanaged (its balloon may be one Proxmox must not have touched),
 * with the reason as Manage's source: -errno, and *ret_error says why.
 */
int proxmox_vmconf_guest_settings(const char *dir, const char *socket_path, GuestSettings *s,
                                  char **ret_error);
