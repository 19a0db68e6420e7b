/*
 * A small snprintf (see fmt.h for the conversions it knows).
 *
 * Output goes through struct out, which counts every character the full
 * result would have and stores only those that fit, so truncation needs
 * no special cases.
 */
#include "common/lib/fmt.h"
#include "common/lib/string.h"

struct out {
	char *buf;
	size_t cap; /* > 0: room for cap-1 characters and the NUL */
	size_t len; /* characters produced so far, stored or not */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->cap)
		o->buf[o->len] = c;
	o->len++;
}

static void put_n(struct out *o, char c, size_t n)
{
	while (n--)
		put(o, c);
}

struct spec {
	bool left; /* '-' */
	bool zero; /* '0' */
	size_t width;
};

/* Writes s (len bytes) padded to the field width. Zero padding goes
 * after a sign or "0x" prefix, which is prefix_len bytes of s. */
static void put_field(struct out *o, const struct spec *sp, const char *s,
		      size_t len, size_t prefix_len)
{
	size_t pad = sp->width > len ? sp->width - len : 0;

	if (sp->left) {
		for (size_t i = 0; i < len; i++)
			put(o, s[i]);
		put_n(o, ' ', pad);
		return;
	}
	if (sp->zero) {
		for (size_t i = 0; i < prefix_len; i++)
			put(o, s[i]);
		put_n(o, '0', pad);
		for (size_t i = prefix_len; i < len; i++)
			put(o, s[i]);
		return;
	}
	put_n(o, ' ', pad);
	for (size_t i = 0; i < len; i++)
		put(o, s[i]);
}

/* Formats v in base 10 or 16 into tmp (at least 24 bytes), with a '-'
 * when negative is set. Returns the length. */
static size_t format_number(char *tmp, uint64_t v, unsigned int base,
			    bool negative)
{
	static const char digits[] = "0123456789abcdef";
	char rev[20];
	size_t n = 0, len = 0;

	do {
		rev[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (negative)
		tmp[len++] = '-';
	while (n)
		tmp[len++] = rev[--n];
	return len;
}

static void put_int(struct out *o, const struct spec *sp, uint64_t v,
		    unsigned int base, bool is_signed)
{
	char tmp[24];
	bool negative = is_signed && (int64_t)v < 0;
	size_t len;

	/* Negate in unsigned arithmetic: -INT64_MIN does not fit in int64_t. */
	if (negative)
		v = 0 - v;
	len = format_number(tmp, v, base, negative);
	put_field(o, sp, tmp, len, negative ? 1 : 0);
}

/* %p: always "0x" and 16 digits, so addresses line up in dumps. */
static void put_pointer(struct out *o, const struct spec *sp, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[18] = {'0', 'x'};

	for (int i = 0; i < 16; i++)
		tmp[2 + i] = digits[(v >> (60 - 4 * i)) & 0xf];
	put_field(o, sp, tmp, sizeof(tmp), 2);
}

size_t fmt_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap)
{
	struct out o = {buf, cap, 0};
	const char *p = fmt;

	while (*p) {
		const char *start = p;
		struct spec sp = {false, false, 0};
		bool is_long = false;

		if (*p != '%') {
			put(&o, *p++);
			continue;
		}
		p++;
		for (;; p++) {
			if (*p == '-')
				sp.left = true;
			else if (*p == '0')
				sp.zero = true;
			else
				break;
		}
		/* Widths beyond any sensible field are capped, which also
		 * keeps the arithmetic from overflowing. */
		while (*p >= '0' && *p <= '9') {
			if (sp.width < 1000)
				sp.width = sp.width * 10 + (size_t)(*p - '0');
			p++;
		}
		/* "ll" is accepted as a synonym of "l". */
		if (*p == 'l') {
			is_long = true;
			p++;
			if (*p == 'l')
				p++;
		}
		switch (*p) {
		case 'd':
			if (is_long)
				put_int(&o, &sp, (uint64_t)va_arg(ap, int64_t),
					10, true);
			else
				put_int(&o, &sp,
					(uint64_t)(int64_t)va_arg(ap, int), 10,
					true);
			break;
		case 'u':
		case 'x':
			put_int(&o, &sp,
				is_long ? va_arg(ap, uint64_t)
					: va_arg(ap, unsigned int),
				*p == 'u' ? 10 : 16, false);
			break;
		case 'p':
			put_pointer(&o, &sp, va_arg(ap, uint64_t));
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);

			if (!s)
				s = "(null)";
			put_field(&o, &sp, s, str_len(s), 0);
			break;
		}
		case 'c': {
			char c = (char)va_arg(ap, int);

			put_field(&o, &sp, &c, 1, 0);
			break;
		}
		case '%':
			put(&o, '%');
			break;
		default:
			/* Unknown or incomplete: print the text as written. A
			 * trailing NUL is not consumed. */
			while (start < p)
				put(&o, *start++);
			if (*p)
				put(&o, *p);
			else
				continue;
			break;
		}
		p++;
	}
	if (cap > 0)
		buf[o.len < cap ? o.len : cap - 1] = '\0';
	return o.len;
}

size_t fmt_snprintf(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = fmt_vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}

size_t fmt_size(char *buf, size_t cap, uint64_t bytes)
{
	static const char *const units[] = {"KiB", "MiB", "GiB",
					    "TiB", "PiB", "EiB"};
	unsigned int u = 0;

	if (bytes < 1024)
		return fmt_snprintf(buf, cap, "%lu B", bytes);
	bytes >>= 10;
	while (bytes >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		bytes >>= 10;
		u++;
	}
	return fmt_snprintf(buf, cap, "%lu %s", bytes, units[u]);
}
