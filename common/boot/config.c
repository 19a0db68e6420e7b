/*
 * The loader.conf parser (see config.h for the format).
 *
 * The input is untrusted and not NUL-terminated: every access is bounded
 * by size, and the parser works on (pointer, length) slices, never on C
 * strings, until a value is copied out.
 */
#include "common/boot/config.h"
#include "common/lib/string.h"

/* A UTF-8 byte-order mark, which some Windows editors write at the start
 * of a text file; it is skipped. */
static const char utf8_bom[3] = {'\xef', '\xbb', '\xbf'};

enum key_id { KEY_KERNEL, KEY_CMDLINE, KEY_COUNT };

static const char *const key_names[KEY_COUNT] = {
    [KEY_KERNEL] = "kernel",
    [KEY_CMDLINE] = "cmdline",
};

struct slice {
	const char *p;
	uint64_t len;
};

void config_defaults(struct loader_config *cfg)
{
	str_copy(cfg->kernel, CONFIG_DEFAULT_KERNEL, sizeof(cfg->kernel));
	str_copy(cfg->cmdline, CONFIG_DEFAULT_CMDLINE, sizeof(cfg->cmdline));
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static struct slice trim(struct slice s)
{
	while (s.len && is_blank(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len && is_blank(s.p[s.len - 1]))
		s.len--;
	return s;
}

static bool slice_is(struct slice s, const char *word)
{
	uint64_t n = str_len(word);

	return s.len == n && mem_cmp(s.p, word, n) == 0;
}

/* Copies the start of s into the error's detail for the message, with
 * anything unprintable shown as '?' (the loader prints it on the
 * firmware console). */
static void set_detail(struct config_error *err, struct slice s)
{
	uint64_t n =
	    s.len < sizeof(err->detail) - 1 ? s.len : sizeof(err->detail) - 1;

	for (uint64_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s.p[i];

		err->detail[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	err->detail[n] = '\0';
}

static int fail(struct config_error *err, int code, uint32_t line,
		const char *what, struct slice detail)
{
	err->line = line;
	err->what = what;
	set_detail(err, detail);
	return code;
}

/* Stores the kernel path with '\' separators and a leading '\', the form
 * the firmware's file protocol wants. */
static bool store_kernel(struct loader_config *cfg, struct slice v)
{
	uint64_t lead = (v.p[0] == '/' || v.p[0] == '\\') ? 0 : 1;

	if (lead + v.len > sizeof(cfg->kernel) - 1)
		return false;
	cfg->kernel[0] = '\\';
	for (uint64_t i = 0; i < v.len; i++)
		cfg->kernel[lead + i] = v.p[i] == '/' ? '\\' : v.p[i];
	cfg->kernel[lead + v.len] = '\0';
	return true;
}

static bool store_cmdline(struct loader_config *cfg, struct slice v)
{
	if (v.len > sizeof(cfg->cmdline) - 1)
		return false;
	mem_copy(cfg->cmdline, v.p, v.len);
	cfg->cmdline[v.len] = '\0';
	return true;
}

/* Parses one line without its line end. */
static int parse_line(struct slice line, uint32_t lineno, bool seen[KEY_COUNT],
		      struct loader_config *cfg, struct config_error *err)
{
	struct slice key, value;
	uint64_t eq = 0;
	int id;

	line = trim(line);
	if (line.len == 0 || line.p[0] == '#')
		return 0;
	while (eq < line.len && line.p[eq] != '=')
		eq++;
	if (eq == line.len)
		return fail(err, -ERR_INVALID, lineno, "missing '='", line);
	key = trim((struct slice){line.p, eq});
	value = trim((struct slice){line.p + eq + 1, line.len - eq - 1});
	if (key.len == 0)
		return fail(err, -ERR_INVALID, lineno, "missing key before '='",
			    line);

	for (id = 0; id < KEY_COUNT; id++) {
		if (slice_is(key, key_names[id]))
			break;
	}
	if (id == KEY_COUNT)
		return fail(err, -ERR_INVALID, lineno, "unknown key", key);
	if (seen[id])
		return fail(err, -ERR_INVALID, lineno, "key given twice", key);
	seen[id] = true;

	if (id == KEY_KERNEL) {
		if (value.len == 0)
			return fail(err, -ERR_INVALID, lineno,
				    "empty kernel path", key);
		if (!store_kernel(cfg, value))
			return fail(err, -ERR_TOOBIG, lineno,
				    "kernel path too long", key);
	} else {
		if (!store_cmdline(cfg, value))
			return fail(err, -ERR_TOOBIG, lineno,
				    "cmdline too long", key);
	}
	return 0;
}

int config_parse(const char *text, uint64_t size, struct loader_config *cfg,
		 struct config_error *err)
{
	bool seen[KEY_COUNT] = {false};
	uint64_t pos = 0;
	uint32_t lineno = 0;

	err->line = 0;
	err->what = NULL;
	err->detail[0] = '\0';

	if (size >= sizeof(utf8_bom) &&
	    mem_cmp(text, utf8_bom, sizeof(utf8_bom)) == 0)
		pos = sizeof(utf8_bom);

	while (pos < size) {
		struct slice line = {text + pos, 0};
		int rc;

		lineno++;
		while (pos < size && text[pos] != '\n') {
			if (text[pos] == '\0')
				return fail(err, -ERR_INVALID, lineno,
					    "NUL byte", line);
			pos++;
			line.len++;
		}
		pos++; /* the '\n', or past the end */
		if (line.len && line.p[line.len - 1] == '\r')
			line.len--;
		rc = parse_line(line, lineno, seen, cfg, err);
		if (rc)
			return rc;
	}
	return 0;
}
