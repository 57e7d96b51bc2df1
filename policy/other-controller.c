/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where the balloon should be is where it settled (two checks in a row within
 * 1 MiB) once no command of ours is under way. A later move by 8 MiB or more
 * is someone else's, unless it is the balloon going on towards the target
 * QEMU still holds from us (a command that stalled and expired, a guest that
 * rebooted and inflates again) or the balloon fully deflated (a reset guest
 * whose driver is not loaded yet).
 */
#include "other-controller.h"

#include "arrival.h"
#include "model.h"

/* Smaller moves are noise (a balloon that creeps the last pages to its
 * target); another controller's targets differ by far more. */
#define MOVE_MIN_BYTES (8 * MIB)

static uint64_t distance(uint64_t a, uint64_t b)
{
        return a > b ? a - b : b - a;
}

void other_controller_command_sent(OtherController *o, uint64_t actual_bytes, uint64_t target_bytes)
{
        /* Not settled since our last command: it was still under way. */
        bool under_way = o->command_target_bytes && !o->settled_bytes;

        o->replaced_target_bytes = target_bytes && under_way ? o->command_target_bytes : 0;
        o->settled_bytes = 0;
        o->last_bytes = 0;
        o->command_from_bytes = actual_bytes;
        o->command_target_bytes = target_bytes;
        if (target_bytes)
                o->qemu_target_bytes = target_bytes;
}

/* From settled towards QEMU's target, not past it: our own command still
 * working (it stalled and expired, or the guest rebooted and inflates again). */
static bool towards_qemu_target(const OtherController *o, uint64_t actual)
{
        uint64_t t = o->qemu_target_bytes, s = o->settled_bytes;

        if (!t)
                return false;
        if (s > t)
                return actual + MOVE_MIN_BYTES > t && actual < s;
        return actual < t + MOVE_MIN_BYTES && actual > s;
}

/* While a command of ours is under way the balloon moves from where it was
 * towards our target (or, for a moment, towards the one it replaced);
 * going the other way, or past the targets, is someone else's doing. */
static bool against_our_command(const OtherController *o, uint64_t actual)
{
        uint64_t from = o->command_from_bytes, target = o->command_target_bytes;
        uint64_t low = from < target ? from : target, high = from < target ? target : from;
        uint64_t replaced = o->replaced_target_bytes;

        if (!from || !target)
                return false;
        if (replaced && replaced < low)
                low = replaced;
        if (replaced > high)
                high = replaced;
        return actual + MOVE_MIN_BYTES <= low || actual >= high + MOVE_MIN_BYTES;
}

bool other_controller_active(const OtherController *o, uint64_t now_usec)
{
        return o->moved_bytes > 0 && now_usec < o->until_usec;
}

/* Learns where the balloon settled: two checks in a row within 1 MiB. */
static void learn_settled(OtherController *o, uint64_t actual)
{
        if (o->last_bytes && balloon_arrived(actual, o->last_bytes))
                o->settled_bytes = actual;
        o->last_bytes = actual;
}

static OtherControllerEvent moved(OtherController *o, uint64_t from, uint64_t actual,
                                  bool was_active, uint64_t now_usec, uint64_t wall_sec,
                                  uint64_t hold_usec)
{
        o->moved_from_bytes = from;
        o->moved_bytes = actual;
        o->seen_wall_sec = wall_sec;
        o->until_usec = now_usec + hold_usec;
        o->moves++;
        /* Settles anew where the other put it; our command is void. */
        other_controller_command_sent(o, 0, 0);
        o->qemu_target_bytes = 0; /* the other's now, unknown */
        return was_active ? OTHER_CONTROLLER_NONE : OTHER_CONTROLLER_MOVED;
}

OtherControllerEvent other_controller_check(OtherController *o, uint64_t actual,
                                            uint64_t max_bytes, bool command_pending,
                                            bool deflate_on_oom, uint64_t now_usec,
                                            uint64_t wall_sec, uint64_t hold_usec)
{
        bool was_active = o->moved_bytes > 0 && o->until_usec > 0;
        bool grew;

        if (was_active && now_usec >= o->until_usec) {
                o->until_usec = 0;
                return OTHER_CONTROLLER_RESUMED;
        }
        if (command_pending) {
                grew = actual > o->command_from_bytes;
                if (against_our_command(o, actual) && !(deflate_on_oom && grew))
                        return moved(o, o->command_from_bytes, actual, was_active, now_usec,
                                     wall_sec, hold_usec);
                o->settled_bytes = o->last_bytes = 0;
                return OTHER_CONTROLLER_NONE;
        }
        if (!o->settled_bytes) {
                /* While we stand back, where it settles is the other's target. */
                if (other_controller_active(o, now_usec))
                        o->moved_bytes = actual;
                learn_settled(o, actual);
                return OTHER_CONTROLLER_NONE;
        }
        if (distance(actual, o->settled_bytes) < MOVE_MIN_BYTES)
                return OTHER_CONTROLLER_NONE;
        if ((deflate_on_oom && actual > o->settled_bytes) || towards_qemu_target(o, actual) ||
            balloon_arrived(actual, max_bytes)) {
                o->settled_bytes = o->last_bytes = 0; /* settles anew, ours or the guest's */
                return OTHER_CONTROLLER_NONE;
        }
        return moved(o, o->settled_bytes, actual, was_active, now_usec, wall_sec, hold_usec);
}
