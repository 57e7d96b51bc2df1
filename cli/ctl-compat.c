/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memtidectl compat: a live guest's balloon queue layout as the daemon sees
 * it, and an offline calculator for VMM and driver developers.
 */
#include "ctl-compat.h"
#include "ctl-guest.h"
#include "ctl-vmem.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "compat-format.h"
#include "compat-implementations.h"
#include "compat.h"
#include "json-util.h"

#define QEMU_ADVICE                                                                                \
        "For QEMU, offer every queue up to the last one used: -object iothread,id=balloon-io "     \
        "-device virtio-balloon-pci,free-page-hint=on,iothread=balloon-io,"                        \
        "free-page-reporting=on (see docs/compat.md)."

typedef struct CalcArgs {
        const char *device, *driver, *offered, *negotiated;
        bool list;
} CalcArgs;

static int parse_calc_args(int argc, char **argv, CalcArgs *c, const char **ret_guest)
{
        static const struct option options[] = {
                {"device", required_argument, NULL, 'D'},
                {"driver", required_argument, NULL, 'R'},
                {"offered", required_argument, NULL, 'o'},
                {"negotiated", required_argument, NULL, 'n'},
                {"list", no_argument, NULL, 'l'},
                {},
        };
        int opt;

        *c = (CalcArgs){0};
        optind = 1;
        while ((opt = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (opt) {
                case 'D':
                        c->device = optarg;
                        break;
                case 'R':
                        c->driver = optarg;
                        break;
                case 'o':
                        c->offered = optarg;
                        break;
                case 'n':
                        c->negotiated = optarg;
                        break;
                case 'l':
                        c->list = true;
                        break;
                default:
                        return -EINVAL;
                }
        *ret_guest = optind < argc ? argv[optind++] : NULL;
        return optind < argc ? -EINVAL : 0;
}

static int parse_side(const char *s, CompatRole role, CompatSide *side)
{
        const char *why = NULL;
        if (compat_side_parse(s, role, side, &why) < 0) {
                fprintf(stderr, "memtidectl: --%s %s: %s\n", compat_role_to_string(role), s,
                        why ? why : "unknown");
                return -EINVAL;
        }
        return 0;
}

static int parse_mask(const char *opt, const char *s, uint64_t *mask)
{
        const char *why = NULL;
        if (compat_mask_parse(s, mask, &why) < 0) {
                fprintf(stderr, "memtidectl: --%s %s: %s\n", opt, s, why ? why : "bad mask");
                return -EINVAL;
        }
        return 0;
}

static int calculator(const CtlArgs *a, const CalcArgs *c)
{
        CompatSide device, driver;
        uint64_t offered, negotiated;
        CompatVerdict v;

        if (!c->device || !c->driver || !c->offered) {
                fprintf(stderr, "memtidectl: compat needs --device, --driver and --offered "
                                "(--negotiated defaults to --offered)\n");
                return EXIT_USAGE;
        }
        if (parse_side(c->device, COMPAT_ROLE_DEVICE, &device) < 0 ||
            parse_side(c->driver, COMPAT_ROLE_DRIVER, &driver) < 0 ||
            parse_mask("offered", c->offered, &offered) < 0 ||
            parse_mask("negotiated", c->negotiated ? c->negotiated : c->offered, &negotiated) < 0)
                return EXIT_USAGE;
        if (compat_compare(&device, &driver, offered, negotiated, &v) < 0) {
                fprintf(stderr, "memtidectl: negotiated features must be a subset of offered\n");
                return EXIT_USAGE;
        }
        if (a->json) {
                _cleanup_json_ json_object *o = NULL;
                if (compat_verdict_to_json(&v, &o) < 0)
                        return EXIT_DAEMON;
                ctl_print_json(o);
        } else {
                _cleanup_free_ char *text = NULL;
                if (compat_verdict_format(&v, &text) < 0)
                        return EXIT_DAEMON;
                fputs(text, stdout);
        }
        return 0;
}

static const char *str_or(json_object *o, const char *key, const char *fallback)
{
        const char *s = NULL;
        return json_get_string(o, key, &s) == 0 ? s : fallback;
}

static void print_index(json_object *row, const char *key)
{
        json_object *v = NULL;
        if (json_object_object_get_ex(row, key, &v) && v)
                printf(" %6d", json_object_get_int(v));
        else
                printf(" %6s", "-");
}

/* The driver's numbering as inferred from the queues it set up; often several fit. */
static void print_conventions(json_object *compat)
{
        json_object *list = NULL;
        size_t n;

        json_object_object_get_ex(compat, "driver_conventions", &list);
        n = list ? json_object_array_length(list) : 0;
        for (size_t i = 0; i < n; i++)
                printf("%s%s", i ? (i + 1 == n ? " or " : ", ") : "",
                       json_object_get_string(json_object_array_get_idx(list, i)));
        printf("%s\n", n ? " (what the queues it set up fit)" : "-");
}

static void print_live(json_object *reply)
{
        json_object *c = NULL, *cmp = NULL, *queues = NULL;
        const char *verdict;

        json_object_object_get_ex(reply, "compat", &c);
        verdict = str_or(c, "verdict", "unknown");
        printf("Guest:               %s\n", str_or(reply, "name", "?"));
        printf("Verdict:             %s\n", verdict);
        printf("Why:                 %s\n", str_or(c, "reason", "-"));
        printf("Offered features:    %s\n", str_or(c, "offered_features", "-"));
        printf("Negotiated features: %s\n", str_or(c, "negotiated_features", "-"));
        printf("Page reporting:      %s\n", str_or(c, "page_reporting", "-"));
        if (json_object_object_get_ex(c, "comparison", &cmp) &&
            json_object_object_get_ex(cmp, "queues", &queues)) {
                json_object *dev = NULL, *drv = NULL;
                json_object_object_get_ex(cmp, "device", &dev);
                json_object_object_get_ex(cmp, "driver", &drv);
                printf("Device convention:   %s\n", str_or(dev, "convention", "-"));
                printf("Driver convention:   ");
                print_conventions(c);
                printf("\n%-10s %6s %6s  %s\n", "QUEUE", "DEVICE", "DRIVER", "CONSEQUENCE");
                for (size_t i = 0; i < json_object_array_length(queues); i++) {
                        json_object *row = json_object_array_get_idx(queues, i);
                        printf("%-10s", str_or(row, "name", "?"));
                        print_index(row, "device_index");
                        print_index(row, "driver_index");
                        printf("  %s\n", str_or(row, "consequence", ""));
                }
        }
        if (json_object_object_get_ex(reply, "virtio_mem", &queues) && queues) {
                printf("virtio-mem:\n");
                ctl_print_vmem(reply, "  ");
        }
        if (strcmp(verdict, "agree") != 0)
                printf("\n%s\n", QEMU_ADVICE);
}

static int live(const CtlArgs *a, const char *guest)
{
        _cleanup_json_ json_object *reply = NULL;
        json_object *params = json_object_new_object();
        int r;

        json_object_object_add(params, "name", json_object_new_string(guest));
        r = ctl_request(a, "io.memtide.Manager.GetCompat", params, &reply);
        if (r != 0)
                return r;
        if (a->json)
                ctl_print_json(reply);
        else
                print_live(reply);
        return 0;
}

static json_object *mask_json(uint64_t mask)
{
        char hex[32];
        snprintf(hex, sizeof(hex), "0x%" PRIx64, mask);
        return json_object_new_string(hex);
}

static json_object *string_or_null(const char *s)
{
        return s ? json_object_new_string(s) : NULL;
}

/* The table of known implementations, one object per row (compat --list --json). */
static void print_implementations_json(void)
{
        _cleanup_json_ json_object *rows = json_object_new_array();
        const CompatImplementation *impl;

        for (size_t i = 0; (impl = compat_implementation_get(i)); i++) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "name", json_object_new_string(impl->name));
                json_object_object_add(o, "side",
                                       json_object_new_string(compat_role_to_string(impl->role)));
                json_object_object_add(
                        o, "convention",
                        json_object_new_string(compat_convention_to_string(impl->convention)));
                json_object_object_add(o, "features", mask_json(impl->features));
                json_object_object_add(o, "features_optional", mask_json(impl->features_optional));
                json_object_object_add(o, "since", string_or_null(impl->since));
                json_object_object_add(o, "until", string_or_null(impl->until));
                json_object_object_add(o, "notes", string_or_null(impl->notes));
                json_object_object_add(o, "source", string_or_null(impl->source_url));
                json_object_array_add(rows, o);
        }
        ctl_print_json(rows);
}

int verb_compat(const CtlArgs *a, int argc, char **argv)
{
        const char *guest = NULL;
        CalcArgs c;

        if (parse_calc_args(argc, argv, &c, &guest) < 0) {
                fprintf(stderr, "memtidectl: usage: compat GUEST | compat --device SIDE --driver "
                                "SIDE --offered MASK [--negotiated MASK] | compat --list\n");
                return EXIT_USAGE;
        }
        if (c.list && a->json) {
                print_implementations_json();
                return 0;
        }
        if (c.list) {
                _cleanup_free_ char *text = NULL;
                if (compat_implementations_format(true, &text) < 0)
                        return EXIT_DAEMON;
                fputs(text, stdout);
                return 0;
        }
        if (guest && (c.device || c.driver || c.offered || c.negotiated)) {
                fprintf(stderr,
                        "memtidectl: compat takes either a guest or the calculator options\n");
                return EXIT_USAGE;
        }
        return guest ? live(a, guest) : calculator(a, &c);
}
