package session

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"net/http"
	"strings"

	"github.com/gorilla/securecookie"
)

// IDCodec signs a session id into a cookie value and back: securecookie
// with the id's bytes taken as they are instead of through gob, which would
// cost a large part of every protected request.
type IDCodec struct {
	sc *securecookie.SecureCookie
}

// NewIDCodec returns a codec that signs with a key derived from secret and
// refuses cookies older than maxAge seconds.
func NewIDCodec(secret []byte, maxAge int) IDCodec {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("caddy-session-auth cookie signing"))
	sc := securecookie.New(mac.Sum(nil), nil)
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

// codecs turns the signing keys, newest first, into codecs: the first
// signs, all verify.
func codecs(keys [][]byte, maxAge int) []securecookie.Codec {
	cs := make([]securecookie.Codec, len(keys))
	for i, k := range keys {
		cs[i] = NewIDCodec(k, maxAge)
	}
	return cs
}

// CookieValue returns the value of the first cookie called name that the
// request carries, or "". Unlike http.Request.Cookie it parses nothing but
// that one cookie and allocates nothing: the gate runs it on every request.
// Values are taken as sent (cookies this plugin sets are never quoted).
func CookieValue(r *http.Request, name string) string {
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			for part != "" && (part[0] == ' ' || part[0] == '\t') {
				part = part[1:]
			}
			if len(part) > len(name) && part[len(name)] == '=' && part[:len(name)] == name {
				value := part[len(name)+1:]
				for value != "" && (value[len(value)-1] == ' ' || value[len(value)-1] == '\t') {
					value = value[:len(value)-1]
				}
				return value
			}
		}
	}
	return ""
}
