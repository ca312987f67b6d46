/*
 * utf8: strict UTF-8 validation and the text rules of SPEC §1.
 */
#ifndef PARLEY_UTF8_H
#define PARLEY_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * True when s[0..len) is well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF) and holds no NUL byte.
 */
bool utf8_valid(const void *s, size_t len);

/* Number of code points in valid UTF-8 s[0..len). */
size_t utf8_count(const void *s, size_t len);

/*
 * True when valid UTF-8 s[0..len) is acceptable message text: no C0 control
 * other than TAB, no DEL, no C1 control (U+0080..U+009F), and no
 * bidirectional formatting control (U+061C, U+200E, U+200F, U+202A..U+202E,
 * U+2066..U+2069), which could disguise text on a recipient's terminal.
 */
bool utf8_text_ok(const void *s, size_t len);

#endif
