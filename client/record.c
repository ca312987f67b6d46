/*
 * record: print a MSG or HIST record, plain or as JSON.
 *
 * The JSON writer is strict in what it emits (RFC 8259): it decodes UTF-8
 * itself rather than trusting the server, because a single invalid byte
 * would make the whole line unparsable for the consumer.
 */
#include "record.h"

#include <stdint.h>
#include <string.h>

#include "display.h"

/*
 * Length (1-4) of the valid UTF-8 sequence at s[0..len) with its code
 * point in *cp, or 0 when the bytes there are not valid UTF-8.
 */
static size_t
utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t n, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

void
record_json_string(FILE *f, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;

	fputc('"', f);
	while (i < len) {
		n = utf8_decode(p + i, len - i, &cp);
		if (n == 0) {
			fputs("\xef\xbf\xbd", f);       /* U+FFFD */
			i++;
			continue;
		}
		switch (cp) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 &&
			    cp <= 0x9f) || cp == 0x2028 || cp == 0x2029)
				fprintf(f, "\\u%04x", (unsigned)cp);
			else
				fwrite(p + i, 1, n, f);
			break;
		}
		i += n;
	}
	fputc('"', f);
}

const char *
record_e2e_marker(const struct keys_opened *op, char *out, size_t cap)
{
	if (op == NULL || !op->e2e)
		snprintf(out, cap, "%s", "");
	else if (!op->ok)
		snprintf(out, cap, "[e2e: cannot decrypt: %s]", op->why);
	else if (op->unverified)
		snprintf(out, cap, "[e2e: unverified key] ");
	else
		snprintf(out, cap, "[e2e] ");
	return out;
}

void
record_print(FILE *f, const struct proto_msg *m, const struct keys_opened *op,
    bool json)
{
	const char *id = m->id, *text = m->text;
	size_t text_len = m->text_len;
	char mark[224];

	if (op != NULL && op->e2e && op->ok) {
		text = op->text;
		text_len = op->len;
	}
	if (json) {
		/* The id was checked to be digits only: a JSON number,
		 * which may not have leading zeros. */
		while (id[0] == '0' && id[1] != '\0')
			id++;
		fprintf(f, "{\"id\":%s,\"time\":", id);
		record_json_string(f, m->time, strlen(m->time));
		fputs(",\"from\":", f);
		record_json_string(f, m->from, strlen(m->from));
		fputs(",\"to\":", f);
		record_json_string(f, m->to, strlen(m->to));
		fputs(",\"text\":", f);
		record_json_string(f, text, text_len);
		if (op != NULL && op->e2e) {
			fputs(",\"e2e\":true", f);
			if (!op->ok) {
				fputs(",\"e2e_error\":", f);
				record_json_string(f, op->why, strlen(op->why));
			} else if (op->unverified) {
				fputs(",\"e2e_warning\":\"unverified key: the "
				    "sender's key changed\"", f);
			}
		}
		fputs("}\n", f);
		return;
	}
	display_style(f, DISPLAY_S_META);
	fputs(m->id, f);
	fputc(' ', f);
	display_puts(f, m->time);
	display_style(f, DISPLAY_S_PLAIN);
	fputc(' ', f);
	display_user_style(f, m->from);
	fputs(m->from, f);
	display_style(f, DISPLAY_S_PLAIN);
	fputc(' ', f);
	if (m->to[0] == '#')
		display_style(f, DISPLAY_S_ROOM);
	else
		display_user_style(f, m->to);
	fputs(m->to, f);
	display_style(f, DISPLAY_S_PLAIN);
	fputc(' ', f);
	if (op != NULL && op->e2e) {
		display_style(f, op->ok && !op->unverified ? DISPLAY_S_META :
		    DISPLAY_S_ERROR);
		display_puts(f, record_e2e_marker(op, mark, sizeof(mark)));
		display_style(f, DISPLAY_S_PLAIN);
		if (!op->ok) {
			fputc('\n', f);
			return;
		}
	}
	display_put(f, text, text_len);
	fputc('\n', f);
}
