/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The balloon seldom reports exactly the target it was sent: QEMU keeps the
 * balloon in whole 4 KiB pages (rounded down, so the guest ends up to a page
 * above the target), a guest with 64 KiB pages moves it 64 KiB at a time,
 * and libvirt reports the size in KiB. Exact equality would leave such a
 * command pending until it times out. A MiB covers all of these and stays
 * well under the smallest change the guard rails send (4 MiB), so a balloon
 * counted as there never has a command's worth left to go.
 */
#include "arrival.h"

bool balloon_arrived(uint64_t actual_bytes, uint64_t target_bytes)
{
        uint64_t gap = actual_bytes > target_bytes ? actual_bytes - target_bytes
                                                   : target_bytes - actual_bytes;

        return gap < BALLOON_ARRIVAL_SLACK_BYTES;
}
