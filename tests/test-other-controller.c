/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Another controller moving a balloon: seen, stood back from, and not confused
 * with memtided's own commands, a balloon still on its way, or the guest's
 * deflate-on-oom. */
#include "other-controller.h"
#include "test-util.h"

#define MIB    (1024ull * 1024ull)
#define SEC    1000000ull
#define HOLD   (300 * SEC)
#define PERIOD (2 * SEC)
#define MAX_MIB 1024 /* the balloon fully deflated */

/* One check per cycle, PERIOD apart; returns the event. */
static OtherControllerEvent step(OtherController *o, uint64_t *now, uint64_t actual_mib,
                                 bool pending, bool deflate_on_oom)
{
        *now += PERIOD;
        return other_controller_check(o, actual_mib * MIB, MAX_MIB * MIB, pending, deflate_on_oom,
                                      *now, 1700000000 + *now / SEC, HOLD);
}

static void test_move_after_settling_is_seen(void)
{
        OtherController o = { 0 };
        uint64_t now = 0;

        check(step(&o, &now, 512, false, false) == OTHER_CONTROLLER_NONE);
        check(step(&o, &now, 512, false, false) == OTHER_CONTROLLER_NONE); /* settled at 512 */
        check(!other_controller_active(&o, now));
        /* virsh setmem 400M, seen on its way there */
        check(step(&o, &now, 450, false, false) == OTHER_CONTROLLER_MOVED);
        check(other_controller_active(&o, now));
        check_u64_eq(o.moved_from_bytes, 512 * MIB);
        check_u64_eq(o.moved_bytes, 450 * MIB);
        check_u64_eq(o.moves, 1);
        check(step(&o, &now, 400, false, false) == OTHER_CONTROLLER_NONE);
        check_u64_eq(o.moved_bytes, 400 * MIB); /* where the other's move ended */
        /* Moving on while memtided stands back: recorded, not logged again. */
        check(step(&o, &now, 400, false, false) == OTHER_CONTROLLER_NONE);
        check(step(&o, &now, 400, false, false) == OTHER_CONTROLLER_NONE);
        check(step(&o, &now, 350, false, false) == OTHER_CONTROLLER_NONE);
        check_u64_eq(o.moved_bytes, 350 * MIB);
        check_u64_eq(o.moves, 2);
        /* The hold runs from the last move. */
        while (now < o.until_usec - PERIOD)
                check(step(&o, &now, 350, false, false) == OTHER_CONTROLLER_NONE);
        check(other_controller_active(&o, now));
        check(step(&o, &now, 350, false, false) == OTHER_CONTROLLER_RESUMED);
        check(!other_controller_active(&o, now));
        check(step(&o, &now, 350, false, false) == OTHER_CONTROLLER_NONE);
}

static void test_our_commands_are_not_another_controller(void)
{
        OtherController o = { 0 };
        uint64_t now = 0;

        step(&o, &now, 512, false, false);
        step(&o, &now, 512, false, false);
        /* memtided inflates to 200: pending while it moves, then it stops short
         * (the guest could not give more) and the command expires. */
        other_controller_command_sent(&o, 512 * MIB, 200 * MIB);
        for (uint64_t mib = 480; mib > 250; mib -= 40)
                check(step(&o, &now, mib, true, false) == OTHER_CONTROLLER_NONE);
        check(step(&o, &now, 252, false, false) == OTHER_CONTROLLER_NONE); /* still creeping */
        check(step(&o, &now, 250, false, false) == OTHER_CONTROLLER_NONE);
        check(step(&o, &now, 250, false, false) == OTHER_CONTROLLER_NONE);
        check(!other_controller_active(&o, now));
        check_u64_eq(o.settled_bytes, 250 * MIB);
        /* A few pages of creep are not a move. */
        check(step(&o, &now, 254, false, false) == OTHER_CONTROLLER_NONE);
        check(!other_controller_active(&o, now));
}

static void test_a_moving_balloon_is_not_a_baseline(void)
{
        OtherController o = { 0 };
        uint64_t now = 0;

        /* Set up while a previous command still inflates it: no baseline
         * until it holds still, so its arrival is no move. */
        for (uint64_t mib = 500; mib > 300; mib -= 50)
                check(step(&o, &now, mib, false, false) == OTHER_CONTROLLER_NONE);
        check(step(&o, &now, 300, false, false) == OTHER_CONTROLLER_NONE);
        check_u64_eq(o.settled_bytes, 0);
        check(step(&o, &now, 300, false, false) == OTHER_CONTROLLER_NONE);
        check(!other_controller_active(&o, now));
        check_u64_eq(o.settled_bytes, 300 * MIB);
}

static void test_deflate_on_oom_is_the_guests_own(void)
{
        OtherController o = { 0 };
        uint64_t now = 0;

        step(&o, &now, 300, false, true);
        step(&o, &now, 300, false, true);
        check(step(&o, &now, 340, false, true) == OTHER_CONTROLLER_NONE); /* the guest deflated */
        check(!other_controller_active(&o, now));
        step(&o, &now, 340, false, true);
        step(&o, &now, 340, false, true); /* settled anew */
        /* Inflation is never the guest's doing. */
        check(step(&o, &now, 200, false, true) == OTHER_CONTROLLER_MOVED);
}

static void test_move_against_our_command_is_seen(void)
{
        OtherController o = { 0 };
        uint64_t now = 0;

        step(&o, &now, 205, false, false);
        step(&o, &now, 205, false, false);
        /* memtided inflates towards 155; the other controller deflates to 400. */
        other_controller_command_sent(&o, 205 * MIB, 155 * MIB);
        check(step(&o, &now, 190, true, false) == OTHER_CONTROLLER_NONE);
        check(step(&o, &now, 300, true, false) == OTHER_CONTROLLER_MOVED);
        check_u64_eq(o.moved_from_bytes, 205 * MIB);
        check(other_controller_active(&o, now));
        check(step(&o, &now, 400, true, false) == OTHER_CONTROLLER_NONE);
        check(step(&o, &now, 400, false, false) == OTHER_CONTROLLER_NONE);
        check_u64_eq(o.moved_bytes, 400 * MIB);
        /* Past our target is someone else's too. */
        o = (OtherController){ 0 };
        other_controller_command_sent(&o, 400 * MIB, 300 * MIB);
        check(step(&o, &now, 250, true, false) == OTHER_CONTROLLER_MOVED);
        /* With deflate-on-oom, growth during our inflation is the guest's. */
        o = (OtherController){ 0 };
        other_controller_command_sent(&o, 400 * MIB, 300 * MIB);
        check(step(&o, &now, 450, true, true) == OTHER_CONTROLLER_NONE);
}

/* Review finding: a command that stalled and expired, then went on. */
static void test_our_stalled_command_going_on_is_ours(void)
{
        OtherController o = { 0 };
        uint64_t now = 0;

        step(&o, &now, 512, false, false);
        step(&o, &now, 512, false, false);
        other_controller_command_sent(&o, 512 * MIB, 200 * MIB);
        check(step(&o, &now, 300, true, false) == OTHER_CONTROLLER_NONE);
        check(step(&o, &now, 250, true, false) == OTHER_CONTROLLER_NONE);
        /* expired (10 s) while stalled at 250; settles there */
        check(step(&o, &now, 250, false, false) == OTHER_CONTROLLER_NONE);
        check(step(&o, &now, 250, false, false) == OTHER_CONTROLLER_NONE);
        /* the guest frees memory: the balloon goes on towards QEMU's 200 */
        check(step(&o, &now, 230, false, false) == OTHER_CONTROLLER_NONE);
        check(step(&o, &now, 205, false, false) == OTHER_CONTROLLER_NONE);
        check(step(&o, &now, 200, false, false) == OTHER_CONTROLLER_NONE);
        check(!other_controller_active(&o, now));
        /* but past QEMU's target is someone else */
        step(&o, &now, 200, false, false);
        check(step(&o, &now, 150, false, false) == OTHER_CONTROLLER_MOVED);
}

/* A rebooted guest: the balloon reads fully deflated until its driver loads,
 * then inflates back to QEMU's target. */
static void test_reboot_is_not_another_controller(void)
{
        OtherController o = { 0 };
        uint64_t now = 0;

        other_controller_command_sent(&o, 512 * MIB, 300 * MIB);
        step(&o, &now, 300, true, false);
        step(&o, &now, 300, false, false);
        step(&o, &now, 300, false, false);
        check(step(&o, &now, MAX_MIB, false, false) == OTHER_CONTROLLER_NONE);
        check(step(&o, &now, MAX_MIB, false, false) == OTHER_CONTROLLER_NONE);
        check(step(&o, &now, 700, false, false) == OTHER_CONTROLLER_NONE);
        check(step(&o, &now, 300, false, false) == OTHER_CONTROLLER_NONE);
        check(step(&o, &now, 300, false, false) == OTHER_CONTROLLER_NONE);
        check(!other_controller_active(&o, now));
}

/* Seen in test-systemd under host pressure: an inflation under way was
 * stopped by resending the size memtided last knew (QEMU reports it at most
 * once a second), while the balloon went on towards the old target for a
 * moment. That is our own command, not another controller. */
static void test_redirect_while_moving_is_ours(void)
{
        OtherController o = { 0 };
        uint64_t now = 0;

        step(&o, &now, 512, false, false);
        step(&o, &now, 512, false, false);
        other_controller_command_sent(&o, 512 * MIB, 256 * MIB);
        check(step(&o, &now, 400, true, false) == OTHER_CONTROLLER_NONE);
        /* "hold: host memory pressure": stop at 306 (the last size known) */
        other_controller_command_sent(&o, 306 * MIB, 306 * MIB);
        check(step(&o, &now, 257, true, false) == OTHER_CONTROLLER_NONE);
        check(step(&o, &now, 300, true, false) == OTHER_CONTROLLER_NONE);
        check(!other_controller_active(&o, now));
        /* beyond both of our targets it is someone else's */
        check(step(&o, &now, 200, true, false) == OTHER_CONTROLLER_MOVED);
}

int main(void)
{
        RUN(test_our_stalled_command_going_on_is_ours);
        RUN(test_reboot_is_not_another_controller);
        RUN(test_move_against_our_command_is_seen);
        RUN(test_redirect_while_moving_is_ours);
        RUN(test_move_after_settling_is_seen);
        RUN(test_our_commands_are_not_another_controller);
        RUN(test_a_moving_balloon_is_not_a_baseline);
        RUN(test_deflate_on_oom_is_the_guests_own);
        return 0;
}
