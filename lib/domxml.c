/*
 * domxml.c: the strict domain XML policy (see domxml.h, docs/vm-manager.md).
 *
 * A small XML scanner, not a parser: it tokenizes tags, attributes, text, comments,
 * CDATA and processing instructions, tracks the element stack and the namespace
 * bindings (xmlns, xmlns:p) so that an element is judged by the namespace its prefix
 * is bound to, not by the prefix text, and refuses anything whose meaning for libxml2
 * (which libvirt uses) it cannot be sure of: DTDs (entities), encodings other than
 * UTF-8, unknown entities, NUL bytes, unbound prefixes, mismatched tags, two
 * attributes with one local name (libvirt's property lookup ignores prefixes), names
 * or values longer than its bounds. Everything is bounded; nothing is allocated but
 * the scanner's own state.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "domxml.h"

#define DX_NAME 64
#define DX_VAL 1024
#define DX_DEPTH 64
#define DX_ATTRS 32
#define DX_NSB 64
#define DX_TEXT 1024

enum { NS_NONE = 0, NS_QEMU, NS_OTHER };

struct dx_attr {
	char qname[DX_NAME];
	const char *local;
	char val[DX_VAL];
};

struct dx_elem {
	char qname[DX_NAME];
	const char *local;
	int ns;
	int text;          /* its text content is checked at its end */
	char type[24];     /* its type attribute (chardev parents of source/log) */
};

struct dx_nsb {
	char prefix[DX_NAME];
	int kind;
	int depth;
};

struct dx {
	const char *p, *end;
	const struct domxml_rules *rules;
	char *why;
	size_t whylen;
	struct dx_elem st[DX_DEPTH];
	int depth;
	int meta;          /* depth of an open <metadata> (0: none) */
	int roots;
	struct dx_nsb nsb[DX_NSB];
	int nnsb;
	struct dx_attr at[DX_ATTRS];
	int nat;
	char text[DX_TEXT];
	size_t tlen;
	int toverflow;
};

static int dx_refuse(struct dx *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int dx_refuse(struct dx *d, const char *fmt, ...)
{
	va_list ap;

	if (d->whylen == 0)
		return -1;
	va_start(ap, fmt);
	(void)vsnprintf(d->why, d->whylen, fmt, ap);
	va_end(ap);
	/* the reason quotes the XML: no control bytes into logs or ZooKeeper */
	for (char *c = d->why; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return -1;
}

#define CANNOT(d, what) dx_refuse((d), "xml_policy strict: cannot parse the domain XML (%s)", (what))

static int dx_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void dx_skip_ws(struct dx *d)
{
	while (d->p < d->end && dx_ws(*d->p))
		d->p++;
}

static int dx_namechar(char c, int first)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':')
		return 1;
	return !first && ((c >= '0' && c <= '9') || c == '-' || c == '.');
}

/* An ASCII XML name (non-ASCII names are valid XML but never libvirt's: refused). */
static int dx_name(struct dx *d, char out[DX_NAME])
{
	size_t n = 0;

	if (d->p >= d->end || !dx_namechar(*d->p, 1))
		return CANNOT(d, "bad or non-ASCII name");
	while (d->p < d->end && dx_namechar(*d->p, 0)) {
		if (n + 1 >= DX_NAME)
			return CANNOT(d, "name too long");
		out[n++] = *d->p++;
	}
	out[n] = '\0';
	return 0;
}

static int dx_put(char *out, size_t *o, size_t cap, unsigned cp)
{
	unsigned char b[4];
	size_t n;

	if (cp < 0x80)
		b[0] = (unsigned char)cp, n = 1;
	else if (cp < 0x800)
		b[0] = 0xc0 | (cp >> 6), b[1] = 0x80 | (cp & 0x3f), n = 2;
	else if (cp < 0x10000)
		b[0] = 0xe0 | (cp >> 12), b[1] = 0x80 | ((cp >> 6) & 0x3f),
		b[2] = 0x80 | (cp & 0x3f), n = 3;
	else
		b[0] = 0xf0 | (cp >> 18), b[1] = 0x80 | ((cp >> 12) & 0x3f),
		b[2] = 0x80 | ((cp >> 6) & 0x3f), b[3] = 0x80 | (cp & 0x3f), n = 4;
	if (*o + n >= cap)
		return -1;
	memcpy(out + *o, b, n);
	*o += n;
	return 0;
}

/* d->p at '&': the five predefined entities and character references only. */
static int dx_ref(struct dx *d, unsigned *cp)
{
	static const struct { const char *n; unsigned c; } ents[] = {
		{"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"quot", '"'}, {"apos", '\''},
	};
	const char *s = d->p + 1, *semi = s;
	size_t len;

	while (semi < d->end && semi - s < 12 && *semi != ';')
		semi++;
	if (semi >= d->end || *semi != ';')
		return CANNOT(d, "unterminated or unknown entity");
	len = (size_t)(semi - s);
	d->p = semi + 1;
	for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++)
		if (strlen(ents[i].n) == len && memcmp(ents[i].n, s, len) == 0) {
			*cp = ents[i].c;
			return 0;
		}
	if (len < 2 || s[0] != '#')
		return CANNOT(d, "an entity other than the predefined ones");
	{
		char num[16], *e;
		int hex = s[1] == 'x';
		unsigned long v;

		memcpy(num, s + 1 + hex, len - 1 - hex);
		num[len - 1 - hex] = '\0';
		if (num[0] == '\0' || num[0] == '-' || num[0] == '+' || num[0] == ' ')
			return CANNOT(d, "bad character reference");
		v = strtoul(num, &e, hex ? 16 : 10);
		if (*e || v == 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) ||
		    (v < 0x20 && v != 9 && v != 10 && v != 13))
			return CANNOT(d, "bad character reference");
		*cp = (unsigned)v;
	}
	return 0;
}

/* A quoted attribute value, decoded and normalised (tab, CR, LF -> space) as
 * libxml2 hands it to libvirt. */
static int dx_value(struct dx *d, char out[DX_VAL])
{
	char q;
	size_t o = 0;

	if (d->p >= d->end || (*d->p != '"' && *d->p != '\''))
		return CANNOT(d, "unquoted attribute value");
	q = *d->p++;
	while (d->p < d->end && *d->p != q) {
		unsigned cp = (unsigned char)*d->p;
		if (cp == '<')
			return CANNOT(d, "'<' in an attribute value");
		if (cp == '&') {
			if (dx_ref(d, &cp) != 0)
				return -1;
		} else {
			d->p++;
			if (cp == '\t' || cp == '\n' || cp == '\r')
				cp = ' ';
		}
		/* raw bytes (UTF-8 included) go through as they are: dx_put(< 0x80) */
		if (cp >= 0x80 && d->p[-1] != ';') {
			if (o + 1 >= DX_VAL)
				return CANNOT(d, "attribute value too long");
			out[o++] = (char)cp;
		} else if (dx_put(out, &o, DX_VAL, cp) != 0) {
			return CANNOT(d, "attribute value too long");
		}
	}
	if (d->p >= d->end)
		return CANNOT(d, "unterminated attribute value");
	d->p++;
	out[o] = '\0';
	return 0;
}

/* ---- namespaces -------------------------------------------------------------- */

static int dx_ns_kind(const char *uri)
{
	if (uri[0] == '\0')
		return NS_NONE;
	return strcmp(uri, DOMXML_QEMU_NS) == 0 ? NS_QEMU : NS_OTHER;
}

/* The kind of namespace `prefix` ("" = default) is bound to; -1 if unbound. */
static int dx_ns_lookup(const struct dx *d, const char *prefix)
{
	for (int i = d->nnsb - 1; i >= 0; i--)
		if (strcmp(d->nsb[i].prefix, prefix) == 0)
			return d->nsb[i].kind;
	if (prefix[0] == '\0')
		return NS_NONE;
	return strcmp(prefix, "xml") == 0 ? NS_OTHER : -1;
}

/* Split qname at its colon: the local part, the prefix copied into pfx. */
static const char *dx_split(struct dx *d, const char *qname, char pfx[DX_NAME])
{
	const char *c = strchr(qname, ':');

	pfx[0] = '\0';
	if (c == NULL)
		return qname;
	if (c == qname || c[1] == '\0' || strchr(c + 1, ':'))
		return NULL;
	memcpy(pfx, qname, (size_t)(c - qname));
	pfx[c - qname] = '\0';
	(void)d;
	return c + 1;
}

/* Bind the xmlns attributes of the tag being opened (at depth d->depth + 1). */
static int dx_ns_bind(struct dx *d)
{
	for (int i = 0; i < d->nat; i++) {
		const char *q = d->at[i].qname, *pfx;
		struct dx_nsb *b;

		if (strcmp(q, "xmlns") == 0)
			pfx = "";
		else if (strncmp(q, "xmlns:", 6) == 0)
			pfx = q + 6;
		else
			continue;
		if (pfx[0] && d->at[i].val[0] == '\0')
			return CANNOT(d, "prefix bound to an empty namespace");
		if (d->nnsb >= DX_NSB)
			return CANNOT(d, "too many namespace bindings");
		b = &d->nsb[d->nnsb++];
		strcpy(b->prefix, pfx); /* shorter than DX_NAME: it is a suffix of a name */
		b->kind = dx_ns_kind(d->at[i].val);
		b->depth = d->depth + 1;
	}
	return 0;
}

static void dx_ns_unbind(struct dx *d)
{
	while (d->nnsb > 0 && d->nsb[d->nnsb - 1].depth > d->depth)
		d->nnsb--;
}

/* Resolve the attributes' prefixes; refuse two attributes with one local name. */
static int dx_attrs_resolve(struct dx *d)
{
	char pfx[DX_NAME];

	for (int i = 0; i < d->nat; i++) {
		struct dx_attr *a = &d->at[i];
		a->local = dx_split(d, a->qname, pfx);
		if (a->local == NULL)
			return CANNOT(d, "bad attribute name");
		if (pfx[0] && strcmp(pfx, "xmlns") != 0 && dx_ns_lookup(d, pfx) < 0)
			return CANNOT(d, "unbound attribute prefix");
		for (int j = 0; j < i; j++)
			if (strcmp(d->at[j].local, a->local) == 0 &&
			    strncmp(a->qname, "xmlns", 5) != 0)
				return dx_refuse(d, "xml_policy strict: two '%s' attributes on one "
						 "element are ambiguous", a->local);
	}
	return 0;
}

/* ---- the rules ------------------------------------------------------------------ */

#define REFUSE(d, ...) dx_refuse((d), "xml_policy strict: " __VA_ARGS__)

/* The value of the opened tag's attribute with local name `local`, or NULL. */
static const char *dx_get(const struct dx *d, const char *local)
{
	for (int i = 0; i < d->nat; i++)
		if (strcmp(d->at[i].local, local) == 0 && strncmp(d->at[i].qname, "xmlns", 5) != 0)
			return d->at[i].val;
	return NULL;
}

static int dx_in(const char *v, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(v, *list) == 0)
			return 1;
	return 0;
}

static int dx_is(const struct dx_elem *e, const char *local)
{
	return e != NULL && strcmp(e->local, local) == 0;
}

/* path is `dir`/<something> with no way out of dir ("..", "//", "/./"). */
static int dx_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 0 || strncmp(path, dir, n) != 0 || path[n] != '/' || path[n + 1] == '\0')
		return 0;
	return strstr(path, "/../") == NULL && strstr(path, "//") == NULL &&
	       strstr(path, "/./") == NULL &&
	       (strlen(path) < 3 || strcmp(path + strlen(path) - 3, "/..") != 0);
}

/* The distribution's QEMU: root-owned binaries under /usr (writing there already
 * needs root), the names Debian (kvm, qemu-system-*) and RHEL (qemu-kvm) install. */
static int dx_emulator_ok(const char *s)
{
	static const char *const fixed[] = {"/usr/bin/kvm", "/usr/bin/qemu-kvm",
					    "/usr/libexec/qemu-kvm", NULL};
	const char *pfx = "/usr/bin/qemu-system-";

	if (dx_in(s, fixed))
		return 1;
	if (strncmp(s, pfx, strlen(pfx)) != 0 || s[strlen(pfx)] == '\0')
		return 0;
	for (s += strlen(pfx); *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

static int dx_rule_text(struct dx *d, const struct dx_elem *e)
{
	const char *t = d->text;

	if (d->toverflow)
		return CANNOT(d, "element text too long");
	if (strcmp(e->local, "emulator") == 0 && !dx_emulator_ok(t))
		return REFUSE(d, "<emulator>%s</emulator> is not the distribution's QEMU "
			      "(/usr/bin/qemu-system-*, /usr/bin/kvm, qemu-kvm): it would run as "
			      "the hypervisor", t);
	if (strcmp(e->local, "loader") == 0 && t[0] && !dx_under(t, "/usr/share"))
		return REFUSE(d, "<loader>%s</loader> is outside /usr/share", t);
	if (strcmp(e->local, "nvram") == 0 && t[0] && !dx_under(t, "/var/lib/libvirt/qemu/nvram"))
		return REFUSE(d, "<nvram>%s</nvram> is outside /var/lib/libvirt/qemu/nvram", t);
	if ((strcmp(e->local, "kernel") == 0 || strcmp(e->local, "initrd") == 0 ||
	     strcmp(e->local, "dtb") == 0) && !dx_under(t, "/var/lib/libvirt/boot"))
		return REFUSE(d, "<%s>%s</%s> reads a host file outside /var/lib/libvirt/boot",
			      e->local, t, e->local);
	return 0;
}

static const char *const dx_chardevs[] = {"serial", "console", "parallel", "channel", NULL};
/* pty: what PVC's VMs use (console logged by libvirt through <log>); the others
 * open no host path. unix without <source path> gets a libvirt-chosen socket. */
static const char *const dx_chardev_types[] = {"pty", "null", "vc", "spicevmc", "spiceport",
					       "unix", "qemu-vdagent", NULL};

static int dx_rule_chardev(struct dx *d, const struct dx_elem *e, const struct dx_elem *par,
			   const char *t)
{
	if (dx_in(e->local, dx_chardevs) && t && !dx_in(t, dx_chardev_types))
		return REFUSE(d, "<%s type='%s'> opens a host file, pipe, device or socket "
			      "(allowed: pty, null, vc, spicevmc, spiceport, unix, qemu-vdagent)",
			      e->local, t);
	if (strcmp(e->local, "log") == 0 && par && dx_in(par->local, dx_chardevs)) {
		const char *f = dx_get(d, "file");
		const char *dir = d->rules && d->rules->console_dir ? d->rules->console_dir : "";
		if (f && !(dir[0] && dx_under(f, dir) && strchr(f + strlen(dir) + 1, '/') == NULL))
			return REFUSE(d, "<log file='%s'> is outside console_log_directory '%s' "
				      "(the only place PVC reads console logs from)", f, dir);
	}
	return 0;
}

static int dx_rule_source(struct dx *d, const struct dx_elem *par)
{
	static const char *const host[] = {"dev", "dir", "file", "socket", "evdev", "path", NULL};

	for (int i = 0; host[i]; i++) {
		const char *v = dx_get(d, host[i]);
		/* a live pty's <source path='/dev/pts/N'> (virsh dumpxml) is ignored on define */
		if (v == NULL || (strcmp(host[i], "path") == 0 && par && strcmp(par->type, "pty") == 0))
			continue;
		return REFUSE(d, "<source %s='%s'> names a host path or device", host[i], v);
	}
	return 0;
}

static int dx_rule_seclabel(struct dx *d, const char *t)
{
	const char *rl = dx_get(d, "relabel");

	if (t && strcmp(t, "dynamic") != 0)
		return REFUSE(d, "<seclabel type='%s'> disables or fixes the sVirt/AppArmor "
			      "confinement of QEMU (only dynamic is allowed)", t);
	if (rl && strcmp(rl, "no") == 0)
		return REFUSE(d, "<seclabel relabel='no'> disables sVirt/AppArmor labelling");
	if (dx_get(d, "label") || dx_get(d, "labelskip"))
		return REFUSE(d, "<seclabel> with a fixed label bypasses sVirt/AppArmor");
	return 0;
}

static int dx_rule_device(struct dx *d, const struct dx_elem *e, const struct dx_elem *par,
			  const char *t)
{
	static const char *const disk_ok[] = {"network", "volume", "file", NULL};
	static const char *const nic_ok[] = {"bridge", "network", NULL};
	const char *l = e->local;

	if (strcmp(l, "hostdev") == 0)
		return REFUSE(d, "<hostdev> passes a host device to the guest");
	if (strcmp(l, "filesystem") == 0)
		return REFUSE(d, "<filesystem> passes a host directory into the guest");
	if (strcmp(l, "shmem") == 0)
		return REFUSE(d, "<shmem> shares host memory with the guest");
	if (strcmp(l, "script") == 0)
		return REFUSE(d, "<script> runs a host program");
	if (strcmp(l, "disk") == 0 && t && !dx_in(t, disk_ok))
		return REFUSE(d, "<disk type='%s'> gives the guest a host block device or "
			      "directory (allowed: network, volume, file without a source)", t);
	if (strcmp(l, "interface") == 0 && (t == NULL || !dx_in(t, nic_ok)))
		return REFUSE(d, "<interface type='%s'> reaches a host network device directly "
			      "(allowed: bridge, network)", t ? t : "");
	if (strcmp(l, "backend") == 0 &&
	    (dx_get(d, "tap") || dx_get(d, "vhost") || (t && strcmp(t, "passthrough") == 0)))
		return REFUSE(d, "<backend> of <%s> opens a host device", par ? par->local : "?");
	if (strcmp(l, "smartcard") == 0 && dx_get(d, "mode") &&
	    strcmp(dx_get(d, "mode"), "passthrough") != 0)
		return REFUSE(d, "<smartcard mode='%s'> uses the host's card or certificates",
			      dx_get(d, "mode"));
	if (strcmp(l, "source") == 0)
		return dx_rule_source(d, par);
	if (strcmp(l, "seclabel") == 0)
		return dx_rule_seclabel(d, t);
	if ((strcmp(l, "label") == 0 || strcmp(l, "baselabel") == 0) && dx_is(par, "seclabel"))
		return REFUSE(d, "<seclabel><%s> sets QEMU's security label", l);
	return dx_rule_chardev(d, e, par, t);
}

static int dx_rule_elem(struct dx *d, struct dx_elem *e)
{
	const struct dx_elem *par = d->depth >= 2 ? &d->st[d->depth - 2] : NULL;
	const char *t = dx_get(d, "type");

	if (e->ns == NS_QEMU)
		return REFUSE(d, "<%s> (QEMU namespace) passes raw arguments to QEMU: "
			      "<qemu:commandline> runs arbitrary host commands", e->qname);
	if (d->depth == 1) {
		if (e->ns != NS_NONE || strcmp(e->local, "domain") != 0)
			return REFUSE(d, "the root element is <%s>, not <domain>", e->qname);
		return 0;
	}
	if (d->meta)
		return 0;
	if (d->depth == 2 && e->ns == NS_NONE && strcmp(e->local, "metadata") == 0) {
		d->meta = d->depth; /* opaque to libvirt: any namespace may live there */
		return 0;
	}
	if (e->ns != NS_NONE)
		return REFUSE(d, "<%s> is in a namespace other than libvirt's outside <metadata> "
			      "(driver namespaces pass raw options to the hypervisor)", e->qname);
	snprintf(e->type, sizeof(e->type), "%s", t ? t : "");
	e->text = (strcmp(e->local, "emulator") == 0 && dx_is(par, "devices")) ||
		  (dx_is(par, "os") && (strcmp(e->local, "loader") == 0 ||
					strcmp(e->local, "nvram") == 0 ||
					strcmp(e->local, "kernel") == 0 ||
					strcmp(e->local, "initrd") == 0 ||
					strcmp(e->local, "dtb") == 0));
	if (strcmp(e->local, "nvram") == 0 && dx_get(d, "template") &&
	    !dx_under(dx_get(d, "template"), "/usr/share"))
		return REFUSE(d, "<nvram template='%s'> is outside /usr/share",
			      dx_get(d, "template"));
	return dx_rule_device(d, e, par, t);
}

/* ---- tags -------------------------------------------------------------------- */

static int dx_attrs(struct dx *d, int *empty)
{
	d->nat = 0;
	*empty = 0;
	for (;;) {
		int had_ws = d->p < d->end && dx_ws(*d->p);
		struct dx_attr *a;

		dx_skip_ws(d);
		if (d->p >= d->end)
			return CANNOT(d, "unterminated tag");
		if (*d->p == '>') {
			d->p++;
			return 0;
		}
		if (*d->p == '/') {
			if (d->p + 1 >= d->end || d->p[1] != '>')
				return CANNOT(d, "'/' not followed by '>'");
			d->p += 2;
			*empty = 1;
			return 0;
		}
		if (!had_ws)
			return CANNOT(d, "no space before an attribute");
		if (d->nat >= DX_ATTRS)
			return CANNOT(d, "too many attributes");
		a = &d->at[d->nat++];
		if (dx_name(d, a->qname) != 0)
			return -1;
		dx_skip_ws(d);
		if (d->p >= d->end || *d->p != '=')
			return CANNOT(d, "attribute without a value");
		d->p++;
		dx_skip_ws(d);
		if (dx_value(d, a->val) != 0)
			return -1;
	}
}

static int dx_close_elem(struct dx *d)
{
	struct dx_elem *e = &d->st[d->depth - 1];
	int rc = 0;

	if (e->text) {
		d->text[d->tlen] = '\0';
		rc = dx_rule_text(d, e);
	}
	if (d->meta == d->depth)
		d->meta = 0;
	d->depth--;
	dx_ns_unbind(d);
	return rc;
}

static int dx_start_tag(struct dx *d)
{
	struct dx_elem *e;
	char pfx[DX_NAME];
	int empty, kind;

	if (d->depth >= DX_DEPTH)
		return CANNOT(d, "nested too deep");
	if (d->depth == 0 && d->roots++ > 0)
		return CANNOT(d, "more than one root element");
	if (d->depth > 0 && d->st[d->depth - 1].text)
		return CANNOT(d, "an element inside a path element");
	e = &d->st[d->depth];
	memset(e, 0, sizeof(*e));
	if (dx_name(d, e->qname) != 0 || dx_attrs(d, &empty) != 0 || dx_ns_bind(d) != 0)
		return -1;
	e->local = dx_split(d, e->qname, pfx);
	if (e->local == NULL)
		return CANNOT(d, "bad element name");
	kind = dx_ns_lookup(d, pfx);
	if (kind < 0 || strcmp(pfx, "xmlns") == 0)
		return CANNOT(d, "unbound element prefix");
	e->ns = kind;
	d->depth++;
	if (dx_attrs_resolve(d) != 0 || dx_rule_elem(d, e) != 0)
		return -1;
	if (e->text) {
		d->tlen = 0;
		d->toverflow = 0;
	}
	return empty ? dx_close_elem(d) : 0;
}

static int dx_end_tag(struct dx *d)
{
	char name[DX_NAME];

	if (dx_name(d, name) != 0)
		return -1;
	dx_skip_ws(d);
	if (d->p >= d->end || *d->p != '>')
		return CANNOT(d, "unterminated end tag");
	d->p++;
	if (d->depth == 0 || strcmp(name, d->st[d->depth - 1].qname) != 0)
		return CANNOT(d, "mismatched end tag");
	return dx_close_elem(d);
}

/* ---- markup other than tags, text --------------------------------------------- */

static const char *dx_find(const struct dx *d, const char *s)
{
	size_t n = strlen(s);

	for (const char *q = d->p; q + n <= d->end; q++)
		if (memcmp(q, s, n) == 0)
			return q;
	return NULL;
}

static void dx_text_add(struct dx *d, const char *s, size_t n)
{
	if (d->depth == 0 || !d->st[d->depth - 1].text)
		return;
	if (d->tlen + n >= DX_TEXT) {
		d->toverflow = 1;
		return;
	}
	memcpy(d->text + d->tlen, s, n);
	d->tlen += n;
}

/* The XML declaration: only UTF-8 (libxml2 would decode any other declared
 * encoding differently from this byte scanner). */
static int dx_pi(struct dx *d, int at_start)
{
	const char *e = dx_find(d, "?>");
	const char *s = d->p;

	if (e == NULL)
		return CANNOT(d, "unterminated processing instruction");
	d->p = e + 2;
	if (e - s >= 3 && strncasecmp(s, "xml", 3) == 0 && (e - s == 3 || dx_ws(s[3]))) {
		char decl[256];
		size_t n = (size_t)(e - s);
		const char *enc;
		if (!at_start || n >= sizeof(decl))
			return CANNOT(d, "misplaced or long XML declaration");
		memcpy(decl, s, n);
		decl[n] = '\0';
		enc = strstr(decl, "encoding");
		if (enc) {
			enc += 8;
			while (*enc == ' ' || *enc == '=' || *enc == '"' || *enc == '\'')
				enc++;
			if (strncasecmp(enc, "utf-8", 5) != 0 || (enc[5] != '"' && enc[5] != '\''))
				return CANNOT(d, "an encoding other than UTF-8");
		}
	}
	return 0;
}

static int dx_markup(struct dx *d, int at_start)
{
	const char *e;

	if (d->p < d->end && *d->p == '?') {
		d->p++;
		return dx_pi(d, at_start);
	}
	if (d->p < d->end && *d->p == '/') {
		d->p++;
		return dx_end_tag(d);
	}
	if (d->p >= d->end || *d->p != '!')
		return dx_start_tag(d);
	if (d->end - d->p >= 3 && memcmp(d->p, "!--", 3) == 0) {
		d->p += 3;
		e = dx_find(d, "-->");
		if (e == NULL)
			return CANNOT(d, "unterminated comment");
		d->p = e + 3;
		return 0;
	}
	if (d->end - d->p >= 8 && memcmp(d->p, "![CDATA[", 8) == 0) {
		d->p += 8;
		e = dx_find(d, "]]>");
		if (e == NULL || d->depth == 0)
			return CANNOT(d, "bad CDATA section");
		dx_text_add(d, d->p, (size_t)(e - d->p));
		d->p = e + 3;
		return 0;
	}
	return CANNOT(d, "a DTD or declaration (<!...>)");
}

static int dx_text(struct dx *d)
{
	while (d->p < d->end && *d->p != '<') {
		char buf[8];
		size_t o = 0;
		unsigned cp;

		if (*d->p == '&') {
			if (dx_ref(d, &cp) != 0)
				return -1;
			(void)dx_put(buf, &o, sizeof(buf), cp);
			dx_text_add(d, buf, o);
		} else {
			if (d->depth == 0 && !dx_ws(*d->p))
				return CANNOT(d, "text outside the root element");
			dx_text_add(d, d->p, 1);
			d->p++;
		}
	}
	return 0;
}

int domxml_check(const char *xml, size_t len, const struct domxml_rules *rules, char *why,
		 size_t whylen)
{
	struct dx *d = calloc(1, sizeof(*d));
	int rc = 0, first = 1;

	if (whylen > 0)
		why[0] = '\0';
	if (d == NULL) {
		if (whylen > 0)
			snprintf(why, whylen, "xml_policy strict: out of memory checking the XML");
		return -1;
	}
	d->p = xml;
	d->end = xml + len;
	d->rules = rules;
	d->why = why;
	d->whylen = whylen;
	if (memchr(xml, '\0', len))
		rc = CANNOT(d, "a NUL byte");
	if (rc == 0 && len >= 3 && memcmp(xml, "\xef\xbb\xbf", 3) == 0)
		d->p += 3;
	while (rc == 0 && d->p < d->end) {
		if (*d->p == '<') {
			d->p++;
			rc = dx_markup(d, first);
		} else {
			rc = dx_text(d);
		}
		first = 0;
	}
	if (rc == 0 && (d->depth != 0 || d->roots != 1))
		rc = CANNOT(d, "no single complete root element");
	free(d);
	return rc;
}
