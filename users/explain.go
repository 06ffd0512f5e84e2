package users

import (
	"errors"
	"fmt"
)

// Refusal is a rule's refusal of a username or password: Error reads as a
// Go error, Sentence as what the person who typed it is shown.
type Refusal struct {
	kind     error // ErrBadUsername, ErrPasswordTooShort, ...
	detail   string
	sentence string
}

func (r *Refusal) Error() string { return r.kind.Error() + ": " + r.detail }
func (r *Refusal) Unwrap() error { return r.kind }

// Sentence is the refusal in words for the form.
func (r *Refusal) Sentence() string { return r.sentence }

func refuse(kind error, detail, sentence string, args ...any) error {
	return &Refusal{kind: kind, detail: fmt.Sprintf(detail, args...), sentence: fmt.Sprintf(sentence, args...)}
}

// Explain returns what to show a person for err: the refusal's sentence,
// or a plain one for anything else.
func Explain(err error) string {
	var r *Refusal
	if errors.As(err, &r) {
		return r.sentence
	}
	return "That could not be used. Please try something else."
}
