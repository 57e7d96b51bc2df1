/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "other-controller.h"

#include "arrival.h"

#define MIB (1024ull * 1024ull)
/* Smaller moves are noise (a balloon that creeps the last pages to its
 * target); another controller's targets differ by far more. */
#define MOVE_MIN_BYTES (8 * MIB)

static uint64_t distance(uint64_t a, uint64_t b)
{
        return a > b ? a - b : b - a;
}

void other_controller_command_sent(OtherController *o, uint64_t actual_bytes, uint64_t target_bytes)
{
        o->settled_bytes = 0;
        o->last_bytes = 0;
        o->command_from_bytes = actual_bytes;
        o->command_target_bytes = target_bytes;
}

/* While a command of ours is under way the balloon moves from where it was
 * towards our target; going the other way, or past the target, is someone
 * else's doing. */
static bool against_our_command(const OtherController *o, uint64_t actual)
{
        uint64_t from = o->command_from_bytes, target = o->command_target_bytes;
        uint64_t low = from < target ? from : target, high = from < target ? target : from;

        if (!from || !target)
                return false;
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
        o->times++;
        /* Settles anew where the other put it; our command is void. */
        other_controller_command_sent(o, 0, 0);
        return was_active ? OTHER_CONTROLLER_NONE : OTHER_CONTROLLER_MOVED;
}

OtherControllerEvent other_controller_check(OtherController *o, uint64_t actual,
                                            bool command_pending, bool deflate_on_oom,
                                            uint64_t now_usec, uint64_t wall_sec,
                                            uint64_t hold_usec)
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
        if (deflate_on_oom && actual > o->settled_bytes) {
                other_controller_command_sent(o, 0, 0); /* the guest's own deflation */
                return OTHER_CONTROLLER_NONE;
        }
        return moved(o, o->settled_bytes, actual, was_active, now_usec, wall_sec, hold_usec);
}
