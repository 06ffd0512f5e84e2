package webform

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"unicode/utf8"
)

// loneSurrogate tells whether body escapes half of a UTF-16 surrogate
// pair without the other half ("\ud800"): encoding/json turns it into
// U+FFFD, so that two different passwords would read the same. Whole
// pairs ("\ud83d\udd11", as Python writes an emoji) are fine.
func loneSurrogate(body []byte) bool {
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' {
			continue
		}
		r, ok := escapedUnit(body[i:])
		switch {
		case !ok:
			i++ // another escape, "\\" among them: skip the escaped byte
		case r >= 0xDC00 && r < 0xE000:
			return true // a low half with no high half before it
		case r >= 0xD800 && r < 0xDC00:
			low, ok := escapedUnit(body[i+6:])
			if !ok || low < 0xDC00 || low >= 0xE000 {
				return true
			}
			i += 11
		default:
			i += 5
		}
	}
	return false
}

// escapedUnit reads a \uXXXX escape at the start of b.
func escapedUnit(b []byte) (rune, bool) {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[2:6]), 16, 16)
	return rune(n), err == nil
}

// ParseJSON reads a JSON request body into v, with the limits Parse puts
// on a form: at most MaxBytes, sent as application/json, valid UTF-8 (which
// encoding/json would otherwise mend quietly, as it would a lone
// surrogate escape), one object whose fields v
// names (an unknown field is refused, so a typo is not ignored). A refusal
// is a Problem, as with Parse, and closes the connection when the body was
// too large.
func ParseJSON(w http.ResponseWriter, r *http.Request, v any) *Problem {
	if r.ContentLength > MaxBytes {
		return tooLarge(w)
	}
	if !IsJSON(r.Header.Get("Content-Type")) {
		return NotJSON()
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return tooLarge(w)
		}
		return &Problem{http.StatusBadRequest, "The request body could not be read."}
	}
	if !utf8.Valid(body) || loneSurrogate(body) {
		return &Problem{http.StatusBadRequest, "The request body is not valid UTF-8 text."}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &Problem{http.StatusBadRequest, "The request body must be one JSON object with the documented fields."}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &Problem{http.StatusBadRequest, "The request body must be one JSON object with the documented fields."}
	}
	return nil
}

// IsJSON tells whether a Content-Type header says application/json (with
// any parameters). Nothing else is JSON here, text/plain least of all:
// it is what another site's form or simple fetch may send without a
// preflight, whatever its body holds.
func IsJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// NotJSON is the refusal of a body sent as anything but application/json.
func NotJSON() *Problem {
	return &Problem{http.StatusUnsupportedMediaType, "The request body must be sent as application/json."}
}
