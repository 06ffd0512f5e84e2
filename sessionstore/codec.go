package sessionstore

import (
	"errors"

	"github.com/gorilla/securecookie"
)

// IDCodec signs a session id into a cookie value and back. It is
// securecookie with the id's bytes taken as they are, instead of through
// gob: a session id is a plain string, and gob's encoder costs a large part
// of every protected request.
type IDCodec struct {
	sc *securecookie.SecureCookie
}

// NewIDCodec returns a codec that signs with hashKey and refuses cookies
// older than maxAge seconds.
func NewIDCodec(hashKey []byte, maxAge int) IDCodec {
	sc := securecookie.New(hashKey, nil)
	sc.SetSerializer(securecookie.NopEncoder{})
	sc.MaxAge(maxAge)
	sc.MaxLength(1024)
	return IDCodec{sc}
}

var errNotAnID = errors.New("session cookies carry only a string id")

// Encode signs the id held in value, a string.
func (c IDCodec) Encode(name string, value any) (string, error) {
	id, ok := value.(string)
	if !ok {
		return "", errNotAnID
	}
	return c.sc.Encode(name, []byte(id))
}

// Decode checks a cookie value and stores its id in dst, a *string.
func (c IDCodec) Decode(name, value string, dst any) error {
	id, ok := dst.(*string)
	if !ok {
		return errNotAnID
	}
	var b []byte
	if err := c.sc.Decode(name, value, &b); err != nil {
		return err
	}
	*id = string(b)
	return nil
}
