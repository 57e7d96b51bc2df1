/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Another controller moving a guest's balloon: Proxmox's own auto-ballooning
 * (pvestatd), someone running `virsh setmem` or `qm set --balloon`, a second
 * manager. memtided notices when the balloon leaves the size it settled at
 * while no command of ours is under way, and then stands back for
 * OtherControllerHold= instead of fighting: two controllers that each undo
 * the other's target churn the guest's memory without end.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct OtherController {
        /* Where the balloon settled after our last command (or at set-up):
         * two checks in a row within 1 MiB. 0 while not known. */
        uint64_t settled_bytes;
        uint64_t last_bytes; /* the previous check's size, to see it settle */
        /* Our command under way: from where, to what; 0 when none. */
        uint64_t command_from_bytes;
        uint64_t command_target_bytes;
        /* The target of our command it replaced while the balloon was still
         * on its way (0 none): the size we knew was up to a second old, so
         * the balloon may go on towards that one for a moment. */
        uint64_t replaced_target_bytes;
        /* The target QEMU holds from our last command; 0 when unknown (none
         * sent, or another controller set one since). */
        uint64_t qemu_target_bytes;
        /* What the other controller did; moved_bytes 0 when nothing seen. */
        uint64_t moved_from_bytes;
        uint64_t moved_bytes;
        uint64_t seen_wall_sec;
        uint64_t until_usec; /* memtided stands back until then */
        uint64_t moves;      /* moves seen since the guest was set up */
} OtherController;

typedef enum OtherControllerEvent {
        OTHER_CONTROLLER_NONE,
        OTHER_CONTROLLER_MOVED,   /* a move just seen: log it */
        OTHER_CONTROLLER_RESUMED, /* the hold just ended: log it */
} OtherControllerEvent;

/* A command of ours is on its way from actual_bytes to target_bytes: the
 * balloon settles anew after it. */
void other_controller_command_sent(OtherController *o, uint64_t actual_bytes,
                                   uint64_t target_bytes);
/* One check per cycle. max_bytes: the balloon fully deflated. deflate_on_oom:
 * the guest may deflate by itself, so growth is its own doing. */
OtherControllerEvent other_controller_check(OtherController *o, uint64_t actual_bytes,
                                            uint64_t max_bytes, bool command_pending,
                                            bool deflate_on_oom, uint64_t now_usec,
                                            uint64_t wall_sec, uint64_t hold_usec);
/* True while memtided stands back for this guest. */
bool other_controller_active(const OtherController *o, uint64_t now_usec);
