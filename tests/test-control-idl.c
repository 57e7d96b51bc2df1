/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket against its interface descriptions: every method the
 * daemon serves is declared, with the parameters it takes, and every method
 * declared is served; every error it replies is declared, and every error
 * declared of io.memtide.Manager is replied somewhere. So the IDL that
 * clients introspect (data/io.memtide.Manager.varlink) cannot drift from
 * daemon/control.c.
 */
#include <ctype.h>
#include <errno.h>

#include "cleanup.h"
#include "control.h"
#include "test-util.h"

#define MANAGER "io.memtide.Manager"
#define SERVICE "org.varlink.service"

/* The description with its comments blanked out: "#" to the end of the line. */
static char *strip_comments(const char *idl)
{
        char *s = strdup(idl);
        bool comment = false;

        check(s);
        for (char *p = s; *p; p++) {
                if (*p == '#')
                        comment = true;
                else if (*p == '\n')
                        comment = false;
                if (comment)
                        *p = ' ';
        }
        return s;
}

static const char *skip_space(const char *p)
{
        while (isspace((unsigned char)*p))
                p++;
        return p;
}

static size_t word_len(const char *p)
{
        size_t n = 0;
        while (isalnum((unsigned char)p[n]) || p[n] == '_')
                n++;
        return n;
}

/* The declaration "KEYWORD NAME" in the (stripped) description, or NULL; it
 * points after NAME. Keywords start a line, as in every description here. */
static const char *find_member(const char *idl, const char *keyword, const char *name)
{
        size_t kl = strlen(keyword), nl = strlen(name);

        for (const char *p = idl; (p = strstr(p, keyword)); p += kl) {
                const char *n;
                if ((p != idl && p[-1] != '\n') || !isspace((unsigned char)p[kl]))
                        continue;
                n = skip_space(p + kl);
                if (word_len(n) == nl && strncmp(n, name, nl) == 0)
                        return n + nl;
        }
        return NULL;
}

/* Whether the struct at p, "(a: T, b: ?U)", names exactly these fields. */
static bool fields_are(const char *p, const char *const *fields)
{
        size_t n_declared = 0, n_given = 0;
        int depth = 0;

        p = skip_space(p);
        check(*p == '(');
        for (const char *const *f = fields; *f; f++)
                n_given++;
        for (bool at_field = true; *p; p++) {
                if (*p == '(') {
                        at_field = ++depth == 1;
                        continue;
                }
                if (*p == ')' && --depth == 0)
                        break;
                if (*p == ',' && depth == 1) {
                        at_field = true;
                        continue;
                }
                if (!at_field || depth != 1 || isspace((unsigned char)*p))
                        continue;
                /* A top-level field: its name, then ':'. */
                size_t len = word_len(p);
                bool known = false;
                check(len > 0 && *skip_space(p + len) == ':');
                for (const char *const *f = fields; *f && !known; f++)
                        known = strlen(*f) == len && strncmp(*f, p, len) == 0;
                if (!known) {
                        fprintf(stderr, "declared field %.*s is not a parameter the daemon takes\n",
                                (int)len, p);
                        return false;
                }
                n_declared++;
                at_field = false;
        }
        return n_declared == n_given;
}

/* "io.memtide.Manager.GetGuest": the description of its interface, its member name. */
static char *description_of(const char *qualified, const char **ret_member)
{
        _cleanup_free_ char *interface = strdup(qualified);
        char *dot;
        const char *idl;

        check(interface);
        dot = strrchr(interface, '.');
        check(dot);
        *dot = '\0';
        *ret_member = qualified + (dot - interface) + 1;
        idl = control_interface_description(interface);
        if (!idl)
                fprintf(stderr, "%s: no description of interface %s\n", qualified, interface);
        check(idl);
        return strip_comments(idl);
}

static void test_descriptions_name_their_interface(void)
{
        const char *names[] = { MANAGER, SERVICE };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *idl = strip_comments(control_interface_description(names[i]));
                char line[128];
                snprintf(line, sizeof(line), "interface %s\n", names[i]);
                check_contains(idl, line);
        }
        check(!control_interface_description("org.example.None"));
        check(!control_interface_description("io.memtide"));
}

static void test_every_method_served_is_declared_with_its_parameters(void)
{
        const char *const *parameters;
        const char *name;

        for (size_t i = 0; (name = control_method(i, &parameters)); i++) {
                const char *member, *decl;
                _cleanup_free_ char *idl = description_of(name, &member);

                decl = find_member(idl, "method", member);
                if (!decl)
                        fprintf(stderr, "%s is served but not declared\n", name);
                check(decl);
                bool same = fields_are(decl, parameters);
                if (!same)
                        fprintf(stderr, "%s: the declared parameters are not those it takes\n",
                                name);
                check(same);
        }
}

static bool served(const char *interface, const char *method, size_t len)
{
        const char *name;
        size_t il = strlen(interface);

        for (size_t i = 0; (name = control_method(i, NULL)); i++)
                if (strncmp(name, interface, il) == 0 && name[il] == '.' &&
                    strlen(name + il + 1) == len && strncmp(name + il + 1, method, len) == 0)
                        return true;
        return false;
}

static void test_every_method_declared_is_served(void)
{
        const char *names[] = { MANAGER, SERVICE };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *idl = strip_comments(control_interface_description(names[i]));

                for (const char *p = idl; (p = strstr(p, "method")); p += 6) {
                        const char *n;
                        if ((p != idl && p[-1] != '\n') || !isspace((unsigned char)p[6]))
                                continue;
                        n = skip_space(p + 6);
                        bool is_served = served(names[i], n, word_len(n));
                        if (!is_served)
                                fprintf(stderr, "%s.%.*s is declared but not served\n", names[i],
                                        (int)word_len(n), n);
                        check(is_served);
                }
        }
}

static char *read_source(const char *path)
{
        FILE *f = fopen(path, "re");
        char *text = calloc(1, 1 << 20);
        size_t n;

        check(f && text);
        n = fread(text, 1, (1 << 20) - 1, f);
        check(n > 0 && feof(f));
        fclose(f);
        return text;
}

/* The error names daemon/control.c replies: the first argument of each varlink_error_new(). */
static size_t replied_errors(const char *source, char names[][64], size_t max)
{
        size_t n = 0;

        for (const char *p = source; (p = strstr(p, "varlink_error_new(")); p++) {
                const char *a = skip_space(p + strlen("varlink_error_new("));
                const char *q;
                if (strncmp(a, "VARLINK_INTERFACE \".", 20) == 0) {
                        q = a + 20;
                        check(n < max);
                        snprintf(names[n++], 64, MANAGER ".%.*s", (int)word_len(q), q);
                } else if (strncmp(a, "\"" SERVICE ".", strlen(SERVICE) + 2) == 0) {
                        q = a + strlen(SERVICE) + 2;
                        check(n < max);
                        snprintf(names[n++], 64, SERVICE ".%.*s", (int)word_len(q), q);
                }
        }
        return n;
}

static void test_errors_replied_and_declared_agree(void)
{
        _cleanup_free_ char *source = read_source(CONTROL_SOURCE);
        _cleanup_free_ char *manager = strip_comments(control_interface_description(MANAGER));
        char names[32][64];
        size_t n;

        n = replied_errors(source, names, ELEMENTSOF(names));
        check(n >= 6);
        for (size_t i = 0; i < n; i++) {
                const char *member;
                _cleanup_free_ char *idl = description_of(names[i], &member);
                bool declared = find_member(idl, "error", member);
                if (!declared)
                        fprintf(stderr, "%s is replied but not declared\n", names[i]);
                check(declared);
        }
        /* And no error of io.memtide.Manager is declared that nothing replies. */
        for (const char *p = manager; (p = strstr(p, "error")); p += 5) {
                const char *e;
                bool replied = false;
                if ((p != manager && p[-1] != '\n') || !isspace((unsigned char)p[5]))
                        continue;
                e = skip_space(p + 5);
                for (size_t i = 0; i < n && !replied; i++)
                        replied = strncmp(names[i], MANAGER ".", strlen(MANAGER) + 1) == 0 &&
                                  strlen(names[i] + strlen(MANAGER) + 1) == word_len(e) &&
                                  strncmp(names[i] + strlen(MANAGER) + 1, e, word_len(e)) == 0;
                if (!replied)
                        fprintf(stderr, MANAGER ".%.*s is declared but never replied\n",
                                (int)word_len(e), e);
                check(replied);
        }
}

int main(void)
{
        RUN(test_descriptions_name_their_interface);
        RUN(test_every_method_served_is_declared_with_its_parameters);
        RUN(test_every_method_declared_is_served);
        RUN(test_errors_replied_and_declared_agree);
        return 0;
}
