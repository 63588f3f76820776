package domain

import (
	"unicode"
	"unicode/utf8"
)

// CheckText is jitpim's one rule for free text from outside (justifications,
// descriptions, names, ticket numbers, JSON string values): valid UTF-8, no
// control characters (they end up in mails, work notes, pages and logs),
// except newline and tab where multiline text makes sense, and at most max
// characters (0 = no length limit here). It names the field it refuses.
func CheckText(field, s string, max int, multiline bool) error {
	if !utf8.ValidString(s) {
		return Invalid(field, "is not valid UTF-8 text")
	}
	for i, r := range s {
		if r == '\n' || r == '\t' || r == '\r' {
			if multiline {
				continue
			}
			return Invalid(field, "must be one line: it contains a line break or tab at byte %d", i)
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Cf, r) && isBidiControl(r) {
			return Invalid(field, "contains a control character (U+%04X) at byte %d", r, i)
		}
	}
	if max > 0 {
		if n := utf8.RuneCountInString(s); n > max {
			return Invalid(field, "at most %d characters, got %d", max, n)
		}
	}
	return nil
}

// isBidiControl tells the bidirectional overrides and isolates that make
// text display in another order than it is stored ("Trojan Source").
func isBidiControl(r rune) bool {
	return r >= '\u202A' && r <= '\u202E' || r >= '\u2066' && r <= '\u2069' || r == '\u200E' || r == '\u200F'
}

// Clip cuts s to at most n bytes without splitting a UTF-8 sequence, for
// text stored in bounded fields (reasons, errors, incident text).
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
