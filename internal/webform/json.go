package webform

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"unicode/utf8"
)

// ParseJSON reads a JSON request body into v, with the limits Parse puts
// on a form: at most MaxBytes, sent as application/json, valid UTF-8 (which
// encoding/json would otherwise mend quietly), one object whose fields v
// names (an unknown field is refused, so a typo is not ignored). A refusal
// is a Problem, as with Parse, and closes the connection when the body was
// too large.
func ParseJSON(w http.ResponseWriter, r *http.Request, v any) *Problem {
	if r.ContentLength > MaxBytes {
		return tooLarge(w)
	}
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/json" {
		return &Problem{http.StatusUnsupportedMediaType, "The request body must be sent as application/json."}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return tooLarge(w)
		}
		return &Problem{http.StatusBadRequest, "The request body could not be read."}
	}
	if !utf8.Valid(body) {
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
