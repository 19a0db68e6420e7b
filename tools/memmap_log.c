/*
 * Reading Linux's boot-time memory-map lines (see memmap_log.h).
 *
 * Each line is parsed with a cursor over [p, end) that never reads past
 * end, so lines need no NUL and may hold any byte. Numbers that do not
 * fit in 64 bits are errors, not wrapped values.
 */
#include "tools/memmap_log.h"

#include "common/mm/memmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* E820 types Linux names that the project's map has no name for. */
#define E820_PMEM          7u
#define E820_PRAM          12u
#define E820_SOFT_RESERVED 0xefffffffu

/* EFI memory-type names as Linux prints them: the short names of recent
 * kernels first, then the longer ones of 4.x kernels. */
static const struct {
	const char *name;
	uint32_t type;
} efi_names[] = {
    {"Reserved", 0},
    {"Loader Code", 1},
    {"Loader Data", 2},
    {"Boot Code", 3},
    {"Boot Data", 4},
    {"Runtime Code", 5},
    {"Runtime Data", 6},
    {"Conventional", 7},
    {"Unusable", 8},
    {"ACPI Reclaim", 9},
    {"ACPI Mem NVS", 10},
    {"MMIO", 11},
    {"MMIO Port", 12},
    {"PAL Code", 13},
    {"Persistent", 14},
    {"Unaccepted", 15},
    {"Conventional Memory", 7},
    {"Unusable Memory", 8},
    {"ACPI Reclaim Memory", 9},
    {"ACPI Memory NVS", 10},
    {"Memory Mapped I/O", 11},
    {"MMIO Port Space", 12},
    {"Persistent Memory", 14},
};

/* The attribute columns (UEFI specification, EFI_MEMORY_*). */
static const struct {
	const char *name;
	uint64_t bit;
} efi_attrs[] = {
    {"UC", 0x1},
    {"WC", 0x2},
    {"WT", 0x4},
    {"WB", EFI_ATTRIBUTE_WB},
    {"UCE", 0x10},
    {"WP", 0x1000},
    {"RP", 0x2000},
    {"XP", 0x4000},
    {"NV", 0x8000},
    {"MR", 0x10000},
    {"RO", 0x20000},
    {"SP", 0x40000},
    {"CC", 0x80000},
    {"HP", 0x100000},
    {"RUN", 0x8000000000000000ull},
};

static const struct {
	const char *name;
	uint32_t type;
} e820_names[] = {
    {"usable", E820_RAM},        {"reserved", E820_RESERVED},
    {"ACPI data", E820_ACPI},    {"ACPI NVS", E820_NVS},
    {"unusable", E820_UNUSABLE}, {"soft reserved", E820_SOFT_RESERVED},
};

const char *mlog_efi_type_name(uint32_t type)
{
	for (size_t i = 0; i < sizeof(efi_names) / sizeof(efi_names[0]); i++)
		if (efi_names[i].type == type)
			return efi_names[i].name;
	return NULL;
}

const char *mlog_e820_type_name(uint32_t type)
{
	for (size_t i = 0; i < sizeof(e820_names) / sizeof(e820_names[0]); i++)
		if (e820_names[i].type == type)
			return e820_names[i].name;
	if (type == E820_PMEM || type == E820_PRAM)
		return "persistent";
	return NULL;
}

bool mlog_entry_empty(const struct mlog_entry *e)
{
	return e->kind == MLOG_EFI ? e->pages == 0 : e->size == 0;
}

struct cur {
	const char *p, *end;
};

static bool at_end(const struct cur *c)
{
	return c->p >= c->end;
}

static bool eat(struct cur *c, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
		return false;
	c->p += n;
	return true;
}

static bool eat_char(struct cur *c, char ch)
{
	if (at_end(c) || *c->p != ch)
		return false;
	c->p++;
	return true;
}

static void skip_blanks(struct cur *c)
{
	while (!at_end(c) && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Hex digits, with or without 0x; false when none or over 64 bits. */
static bool hex(struct cur *c, uint64_t *v)
{
	const char *start;

	if ((size_t)(c->end - c->p) >= 2 && c->p[0] == '0' &&
	    (c->p[1] == 'x' || c->p[1] == 'X'))
		c->p += 2;
	start = c->p;
	*v = 0;
	while (!at_end(c) && hex_digit(*c->p) >= 0) {
		if (*v >> 60)
			return false;
		*v = *v << 4 | (uint64_t)hex_digit(*c->p++);
	}
	return c->p > start;
}

/* Decimal digits; false when none or over 64 bits. */
static bool dec(struct cur *c, uint64_t *v)
{
	const char *start = c->p;

	*v = 0;
	while (!at_end(c) && *c->p >= '0' && *c->p <= '9') {
		uint64_t d = (uint64_t)(*c->p++ - '0');

		if (*v > (UINT64_MAX - d) / 10)
			return false;
		*v = *v * 10 + d;
	}
	return c->p > start;
}

/* [s, e) without blanks at either end. */
static void trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

static bool same_word(const char *s, const char *e, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(e - s) == n && strncasecmp(s, word, n) == 0;
}

/* Finds lit in [p, end); NULL when absent. */
static const char *find(const char *p, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	for (; (size_t)(end - p) >= n; p++)
		if (memcmp(p, lit, n) == 0)
			return p;
	return NULL;
}

/* Nothing but blanks (and the '\r' of a CRLF log) is left. */
static bool only_blanks_left(struct cur *c)
{
	while (!at_end(c) && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r'))
		c->p++;
	return at_end(c);
}

/* Linux's size column, " (123MB)" or " (123 MB)"; optional. */
static bool size_column(struct cur *c, uint64_t *mb, bool *have)
{
	*have = false;
	skip_blanks(c);
	if (!eat_char(c, '('))
		return true;
	if (!dec(c, mb))
		return false;
	skip_blanks(c);
	if (!eat(c, "MB)"))
		return false;
	*have = true;
	return true;
}

/* "[0xA-0xB]" (inclusive end) or "[0xA-0xB)" (exclusive end): the two
 * numbers as printed, and which kind of end it is. */
static const char *range(struct cur *c, uint64_t *base, uint64_t *last,
			 bool *inclusive)
{
	if (!eat_char(c, '['))
		return "no '[' before the range";
	if (!hex(c, base))
		return "range start is not a hex number of at most 64 bits";
	if (!eat_char(c, '-'))
		return "no '-' between the range's start and end";
	if (!hex(c, last))
		return "range end is not a hex number of at most 64 bits";
	if (eat_char(c, ']'))
		*inclusive = true;
	else if (eat_char(c, ')'))
		*inclusive = false;
	else
		return "range does not end in ']' or ')'";
	return NULL;
}

/*
 * Pages of an EFI range from its printed ends. Linux prints the
 * inclusive end as start + size - 1, so an empty descriptor shows its
 * end one below its start; at start 0 that is 2^64 - 1, which only the
 * size column tells from the whole address space.
 */
static const char *efi_pages(uint64_t base, uint64_t end, bool inclusive,
			     bool have_mb, uint64_t mb, uint64_t *pages)
{
	uint64_t span; /* bytes - 1 (inclusive) or bytes (exclusive) */

	if (inclusive && end == base - 1 &&
	    (base != 0 || (have_mb && mb == 0))) {
		*pages = 0;
		return NULL;
	}
	if (end < base)
		return "range end below its start";
	span = end - base;
	if (inclusive) {
		if (span % PAGE_SIZE != PAGE_SIZE - 1)
			return "range is not a whole number of 4 KiB pages";
		*pages = span / PAGE_SIZE + 1;
	} else {
		if (span % PAGE_SIZE != 0)
			return "range is not a whole number of 4 KiB pages";
		*pages = span / PAGE_SIZE;
	}
	return NULL;
}

/* The bracketed "[name|flags...|]" of recent kernels. */
static const char *efi_bracket(struct cur *c, struct mlog_entry *e)
{
	const char *s = c->p, *t;
	uint64_t v;
	bool named = false;

	/* The type: a name up to the first '|' or ']', or "type=N". */
	while (!at_end(c) && *c->p != '|' && *c->p != ']')
		c->p++;
	if (at_end(c))
		return "no ']' after the memory type";
	t = c->p;
	trim(&s, &t);
	if ((size_t)(t - s) > 5 && strncmp(s, "type=", 5) == 0) {
		struct cur n = {s + 5, t};

		if (!dec(&n, &v) || n.p != t || v > UINT32_MAX)
			return "bad type=N in the type column";
		e->type = (uint32_t)v;
		named = true;
	}
	for (size_t i = 0;
	     !named && i < sizeof(efi_names) / sizeof(efi_names[0]); i++) {
		if (same_word(s, t, efi_names[i].name)) {
			e->type = efi_names[i].type;
			named = true;
		}
	}
	if (!named)
		return "unknown EFI memory type name";

	/* The attribute columns: known names set their bit; short
	 * upper-case names of flags newer than this table are ignored
	 * (only WB matters to the kernel); "attr=0x..." is the whole word
	 * (Linux prints that when it sees bits it has no name for). */
	while (eat_char(c, '|')) {
		s = c->p;
		while (!at_end(c) && *c->p != '|' && *c->p != ']')
			c->p++;
		if (at_end(c))
			return "no ']' after the attribute columns";
		t = c->p;
		trim(&s, &t);
		if (s == t)
			continue;
		if ((size_t)(t - s) > 5 && strncmp(s, "attr=", 5) == 0) {
			struct cur n = {s + 5, t};

			if (!hex(&n, &v) || n.p != t)
				return "bad attr=0x... in the attribute "
				       "columns";
			e->attr |= v;
			continue;
		}
		bool known = false;
		for (size_t i = 0; i < sizeof(efi_attrs) / sizeof(efi_attrs[0]);
		     i++) {
			if ((size_t)(t - s) == strlen(efi_attrs[i].name) &&
			    memcmp(s, efi_attrs[i].name, (size_t)(t - s)) ==
				0) {
				e->attr |= efi_attrs[i].bit;
				known = true;
			}
		}
		if (known)
			continue;
		if (t - s > 4)
			return "unknown attribute column";
		for (const char *q = s; q < t; q++)
			if (!(*q >= 'A' && *q <= 'Z') &&
			    !(*q >= '0' && *q <= '9'))
				return "unknown attribute column";
	}
	if (!eat_char(c, ']'))
		return "no ']' after the attribute columns";
	return NULL;
}

/* After "memNN: ". */
static const char *efi_body(struct cur *c, struct mlog_entry *e)
{
	const char *why;
	uint64_t base, end, mb = 0, v;
	bool inclusive, have_mb;

	if (eat_char(c, '[')) {
		why = efi_bracket(c, e);
		if (why)
			return why;
		skip_blanks(c);
		if (!eat(c, "range="))
			return "no range= after the type";
	} else if (eat(c, "type=")) {
		e->old_format = true;
		if (!dec(c, &v) || v > UINT32_MAX)
			return "bad type=N";
		e->type = (uint32_t)v;
		if (!eat(c, ",") || (skip_blanks(c), !eat(c, "attr=")) ||
		    !hex(c, &e->attr))
			return "no attr=0x... after type=N";
		if (!eat(c, ",") || (skip_blanks(c), !eat(c, "range=")))
			return "no range= after attr=";
	} else {
		return "neither [type|attributes] nor type=N after memNN:";
	}
	why = range(c, &base, &end, &inclusive);
	if (why)
		return why;
	if (!size_column(c, &mb, &have_mb))
		return "bad size column (expected \"(N MB)\")";
	if (!only_blanks_left(c))
		return "unexpected text after the range";
	e->base = base;
	return efi_pages(base, end, inclusive, have_mb, mb, &e->pages);
}

/* The E820 type after the range, up to the end of the line. */
static const char *e820_type(const char *s, const char *t, uint32_t *type)
{
	uint64_t v;

	trim(&s, &t);
	while (t > s && t[-1] == '\r') {
		t--;
		trim(&s, &t);
	}
	for (size_t i = 0; i < sizeof(e820_names) / sizeof(e820_names[0]);
	     i++) {
		if (same_word(s, t, e820_names[i].name)) {
			*type = e820_names[i].type;
			return NULL;
		}
	}
	/* "type N" and "persistent (type N)" */
	if ((size_t)(t - s) > 11 && strncmp(s, "persistent ", 11) == 0) {
		struct cur n = {s + 11, t};

		if (!eat(&n, "(type ") || !dec(&n, &v) || !eat_char(&n, ')') ||
		    n.p != t || v > UINT32_MAX)
			return "bad persistent (type N)";
		*type = (uint32_t)v;
		return NULL;
	}
	if ((size_t)(t - s) > 5 && strncmp(s, "type ", 5) == 0) {
		struct cur n = {s + 5, t};

		if (!dec(&n, &v) || n.p != t || v > UINT32_MAX)
			return "bad type N";
		*type = (uint32_t)v;
		return NULL;
	}
	return "unknown E820 type name";
}

/* After "BIOS-e820:". */
static const char *e820_body(struct cur *c, struct mlog_entry *e)
{
	uint64_t base, end;
	bool inclusive;
	const char *why;

	skip_blanks(c);
	if (eat(c, "[mem ")) {
		if (!hex(c, &base))
			return "range start is not a hex number of at most 64 "
			       "bits";
		if (!eat_char(c, '-'))
			return "no '-' between the range's start and end";
		if (!hex(c, &end))
			return "range end is not a hex number of at most 64 "
			       "bits";
		if (!eat_char(c, ']'))
			return "range does not end in ']'";
		inclusive = true;
		why = e820_type(c->p, c->end, &e->type);
	} else {
		/* Before 3.x: "A - B (type)", exclusive. */
		e->old_format = true;
		if (!hex(c, &base))
			return "neither [mem 0xA-0xB] nor A - B after "
			       "BIOS-e820:";
		skip_blanks(c);
		if (!eat_char(c, '-'))
			return "no '-' between the range's start and end";
		skip_blanks(c);
		if (!hex(c, &end))
			return "range end is not a hex number of at most 64 "
			       "bits";
		inclusive = false;
		skip_blanks(c);
		if (eat_char(c, '(')) {
			const char *close = find(c->p, c->end, ")");

			if (!close)
				return "no ')' after the type";
			why = e820_type(c->p, close, &e->type);
			c->p = close + 1;
			if (!why && !only_blanks_left(c))
				why = "unexpected text after the type";
		} else {
			why = e820_type(c->p, c->end, &e->type);
		}
	}
	if (why)
		return why;
	e->base = base;
	if (inclusive && end == base - 1 && base != 0) {
		e->size = 0;
	} else if (end < base) {
		return "range end below its start";
	} else if (inclusive) {
		/* [0, 2^64 - 1] is 2^64 bytes: saturate. */
		e->size =
		    end - base == UINT64_MAX ? UINT64_MAX : end - base + 1;
	} else {
		e->size = end - base;
	}
	return NULL;
}

/* "memNN:" after an "efi: " marker; false when not there (no digit). */
static bool efi_index(struct cur *c, uint32_t *index, const char **why)
{
	uint64_t v;

	if (!eat(c, "mem") || at_end(c) || *c->p < '0' || *c->p > '9')
		return false;
	if (!dec(c, &v) || v > UINT32_MAX || !eat_char(c, ':')) {
		*why = "memNN not followed by ':'";
		v = 0;
	}
	*index = (uint32_t)v;
	skip_blanks(c);
	return true;
}

int mlog_parse_line(const char *s, size_t len, struct mlog_entry *e,
		    const char **why)
{
	const char *end = s + len, *m;

	memset(e, 0, sizeof(*e));
	*why = NULL;
	m = find(s, end, "BIOS-e820:");
	if (m) {
		struct cur c = {m + 10, end};

		e->kind = MLOG_E820;
		*why = e820_body(&c, e);
		return *why ? MLOG_ERROR : MLOG_E820;
	}
	/* "efi: memNN:" or "EFI: memNN:", the marker at a word start. */
	for (const char *p = s; p < end; p++) {
		struct cur c = {p, end};

		if (p > s && p[-1] != ' ' && p[-1] != ']' && p[-1] != '\t')
			continue;
		if (!eat(&c, "efi:") && !eat(&c, "EFI:"))
			continue;
		skip_blanks(&c);
		if (!efi_index(&c, &e->index, why))
			continue;
		e->kind = MLOG_EFI;
		if (!*why)
			*why = efi_body(&c, e);
		return *why ? MLOG_ERROR : MLOG_EFI;
	}
	return MLOG_OTHER;
}

void mlog_init(struct mlog *m)
{
	memset(m, 0, sizeof(*m));
}

void mlog_free(struct mlog *m)
{
	free(m->efi);
	free(m->e820);
	mlog_init(m);
}

static int fail(struct mlog *m, uint32_t line, const char *what,
		const char *detail)
{
	m->error_line = line;
	snprintf(m->error, sizeof(m->error), "line %u: %s%s%s", line, what,
		 detail ? ": " : "", detail ? detail : "");
	return -1;
}

static int append(struct mlog *m, struct mlog_entry **arr, uint32_t *count,
		  uint32_t *cap, const struct mlog_entry *e)
{
	if (*count == MLOG_MAX_ENTRIES)
		return fail(m, e->line, "more map lines than this tool reads",
			    "16384 of one kind");
	if (*count == *cap) {
		uint32_t ncap = *cap ? *cap * 2 : 64;
		struct mlog_entry *n = realloc(*arr, ncap * sizeof(**arr));

		if (!n)
			return fail(m, e->line, "out of memory", NULL);
		*arr = n;
		*cap = ncap;
	}
	(*arr)[(*count)++] = *e;
	return 0;
}

int mlog_parse(struct mlog *m, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	/* E820 blocks: a BIOS-e820 line after another kind of line that
	 * followed E820 lines starts a later block. */
	bool in_e820 = false, e820_done = false, efi_done = false;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		struct mlog_entry e;
		const char *why;
		int kind;

		m->lines++;
		kind = mlog_parse_line(p, (size_t)(le - p), &e, &why);
		e.line = m->lines;
		p = nl ? nl + 1 : end;
		if (kind == MLOG_ERROR)
			return fail(m, e.line,
				    e.kind == MLOG_EFI
					? "malformed EFI memory-map line"
					: "malformed BIOS-e820 line",
				    why);
		if (kind != MLOG_E820 && in_e820) {
			in_e820 = false;
			e820_done = true;
		}
		if (kind == MLOG_OTHER) {
			m->other_lines++;
			continue;
		}
		if (kind == MLOG_E820) {
			in_e820 = true;
			if (e820_done) {
				if (!m->later_e820_lines)
					m->later_e820_first = e.line;
				m->later_e820_lines++;
				continue;
			}
			if (append(m, &m->e820, &m->e820_count, &m->e820_cap,
				   &e))
				return -1;
			continue;
		}
		/* EFI: numbered from mem00; a number that does not grow
		 * starts a later map. */
		if (!efi_done && m->efi_count &&
		    e.index <= m->efi[m->efi_count - 1].index)
			efi_done = true;
		if (efi_done) {
			if (!m->later_efi_lines)
				m->later_efi_first = e.line;
			m->later_efi_lines++;
			continue;
		}
		if (e.old_format)
			m->efi_old = true;
		else
			m->efi_new = true;
		if (append(m, &m->efi, &m->efi_count, &m->efi_cap, &e))
			return -1;
	}
	return 0;
}
