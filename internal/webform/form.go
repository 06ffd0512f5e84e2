package webform

import (
	"errors"
	"mime"
	"net/http"
	"unicode/utf8"
)

// MaxBytes bounds a form body: a username, a password, a confirmation, a
// return path, a token and a few flags fit many times over.
const MaxBytes = 16 << 10

// Problem is why a posted form was refused, as a status and a sentence
// fit to show the person who sent it.
type Problem struct {
	Status  int
	Message string
}

func (p *Problem) Error() string { return p.Message }

// Parse reads a urlencoded body of bounded size whose keys and values are
// all UTF-8 and appear once each. It never reads the URL's query: a form
// field cannot be smuggled in through a link.
//
// A body announced larger than MaxBytes is refused before any of it is
// read, as nginx's client_max_body_size does: reading would hold the
// connection open for a body that is refused anyway. One sent without a
// length (chunked) is cut off once it passes MaxBytes.
//
// Either refusal closes the connection after the answer. Otherwise
// net/http, seeing a request body that Caddy has wrapped (its read idle
// timeout does), reads up to 256 KB of the unread rest before it sends the
// answer, so the refusal would wait for the very body it refuses.
func Parse(w http.ResponseWriter, r *http.Request) *Problem {
	if r.ContentLength > MaxBytes {
		return tooLarge(w)
	}
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/x-www-form-urlencoded" {
		return &Problem{http.StatusUnsupportedMediaType, "The form was not sent as a web form."}
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return tooLarge(w)
		}
		return &Problem{http.StatusBadRequest, "The form could not be read."}
	}
	for k, vs := range r.PostForm {
		if !utf8.ValidString(k) || len(vs) > 1 {
			return &Problem{http.StatusBadRequest, "The form could not be read."}
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return &Problem{http.StatusBadRequest, "The form is not valid UTF-8 text."}
			}
		}
	}
	return nil
}

// tooLarge refuses an oversize body and has the connection closed after
// the answer, so that nothing more of the body is read (see Parse).
func tooLarge(w http.ResponseWriter) *Problem {
	w.Header().Set("Connection", "close")
	return &Problem{http.StatusRequestEntityTooLarge, "The form was too large."}
}
