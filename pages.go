package sessionauth

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

//go:embed templates
var embedded embed.FS

// pageNames are the templates a site owner may replace, and assetNames the
// files the pages load from PathPrefix, which may be replaced too.
var (
	pageNames  = []string{"layout.html", "login.html", "register.html", "logout.html", "message.html"}
	assetNames = []string{"style.css", "show-password.js"}
)

// assetTypes are the Content-Types the assets are served with.
var assetTypes = map[string]string{
	"style.css":        "text/css; charset=utf-8",
	"show-password.js": "text/javascript; charset=utf-8",
}

// pages holds the parsed templates and the assets they link to.
type pages struct {
	tmpl    *template.Template
	assets  map[string][]byte
	version string // a hash of the assets, so that links to them change when they do
}

// loadPages parses the embedded pages, then any replacements in dir, and
// renders each once with sample data. A template that fails to parse or to
// render stops the config from loading, with the file and line in the
// error, rather than turning into a 500 on the day someone logs in.
func loadPages(dir string) (*pages, error) {
	tmpl := template.New("pages")
	for _, name := range pageNames {
		src, err := embedded.ReadFile("templates/" + name)
		if err != nil {
			return nil, err
		}
		if _, err := tmpl.New(name).Parse(string(src)); err != nil {
			return nil, fmt.Errorf("embedded template %s: %v", name, err)
		}
	}
	assets := map[string][]byte{}
	for _, name := range assetNames {
		src, err := embedded.ReadFile("templates/" + name)
		if err != nil {
			return nil, err
		}
		assets[name] = src
	}
	if dir != "" {
		for _, name := range pageNames {
			path := filepath.Join(dir, name)
			src, err := os.ReadFile(path)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("template_dir: %v", err)
			}
			if _, err := tmpl.New(name).Parse(string(src)); err != nil {
				return nil, fmt.Errorf("template_dir: %s: %v", path, err)
			}
		}
		for _, name := range assetNames {
			src, err := os.ReadFile(filepath.Join(dir, name))
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("template_dir: %v", err)
			}
			assets[name] = src
		}
	}
	where := "embedded templates"
	if dir != "" {
		where = "template_dir " + dir
	}
	// One bare page and one with every field set, so that most branches run.
	samples := []pageData{
		{Heading: "Sample", Prefix: "/auth", Next: "/", MinPasswordLength: 8, Status: 200},
		{
			Title: "Site", Heading: "Sample", Prefix: "/auth", Next: "/x", Username: "user", Remember: true,
			Notice: "notice", Error: "error", UsernameError: "error", PasswordError: "error", ConfirmError: "error",
			Message: "message", User: "user", RememberMe: "30 days", Registration: true, MinPasswordLength: 8,
			CSRFToken: "token", Retry: "/auth/login", Status: 403, AssetVersion: "0123456789ab",
		},
	}
	for _, name := range pageNames[1:] {
		for _, data := range samples {
			if err := tmpl.ExecuteTemplate(io.Discard, name, data); err != nil {
				return nil, fmt.Errorf("%s: %v", where, err)
			}
		}
	}
	h := sha256.New()
	for _, name := range assetNames {
		h.Write(assets[name])
	}
	return &pages{tmpl: tmpl, assets: assets, version: hex.EncodeToString(h.Sum(nil))[:12]}, nil
}

// pageData is what every template receives.
type pageData struct {
	Title             string // the site's name (the title option); empty when unset
	Heading           string // the page's title
	Prefix            string // path_prefix, for links and form actions
	Next              string // where to go after logging in (already safe)
	Username          string // what the user typed, sent back after an error
	Remember          bool   // the remember-me box was ticked
	Notice            string // a confirmation, such as "You are logged out."
	Error             string // one message about what went wrong, if anything
	UsernameError     string // on register.html: what is wrong with the username
	PasswordError     string // on register.html: what is wrong with the password
	ConfirmError      string // on register.html: the repeated password differs
	Message           string // the body of message.html
	User              string // the logged-in user, on the logout page
	RememberMe        string // how long "remember me" lasts; empty hides it
	Registration      bool   // registration is open
	MinPasswordLength int
	CSRFToken         string // the form's anti-forgery token, for a hidden field
	Retry             string // on message.html: the form to open again, if any
	Status            int    // the HTTP status the page is sent with
	AssetVersion      string // changes with style.css and show-password.js: ?v= on their links
}

// formPages are the templates with a form, and the form each posts.
var formPages = map[string]string{"login.html": "login", "register.html": "register", "logout.html": "logout"}

// pageHeaders keep the pages from being framed, sniffed, cached, or leaking
// the next path to other sites, and allow nothing but this site's own
// stylesheet, script and form targets.
var pageHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	"X-Content-Type-Options":  "nosniff",
	"X-Frame-Options":         "DENY",
	"Referrer-Policy":         "same-origin",
	"Cache-Control":           "no-store",
}

// render writes a page in one piece: a template error becomes a plain 500
// before anything was sent, never half a page.
func (sa *SessionAuth) render(w http.ResponseWriter, r *http.Request, status int, name string, data pageData) error {
	if form, ok := formPages[name]; ok {
		token, err := sa.formToken(w, r, form)
		if err != nil {
			return sa.unavailable(w, r, form+" form", err)
		}
		data.CSRFToken = token
	}
	data.Prefix = sa.PathPrefix
	data.Title = sa.Title
	data.Status = status
	data.AssetVersion = sa.pages.version
	data.Registration = sa.Registration == "open"
	data.MinPasswordLength = sa.MinPasswordLength
	if d := time.Duration(*sa.RememberMe); d > 0 {
		data.RememberMe = humanDuration(d)
	}
	var buf bytes.Buffer
	if err := sa.pages.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("rendering %s: %v", name, err)
	}
	h := w.Header()
	for k, v := range pageHeaders {
		h.Set(k, v)
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// message renders the generic page that explains a refusal or an outage.
func (sa *SessionAuth) message(w http.ResponseWriter, r *http.Request, status int, heading, text string) error {
	return sa.render(w, r, status, "message.html", pageData{Heading: heading, Message: text})
}

// serveAsset sends the stylesheet or the show-password script.
func (sa *SessionAuth) serveAsset(w http.ResponseWriter, r *http.Request, name string) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return caddyhttp.Error(http.StatusMethodNotAllowed, nil)
	}
	body := sa.pages.assets[name]
	h := w.Header()
	h.Set("Content-Type", assetTypes[name])
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return nil
	}
	_, err := w.Write(body)
	return err
}

// humanDuration says 30d as "30 days" and 12h as "12 hours".
func humanDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + " days"
	case d >= 2*time.Hour && d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + " hours"
	default:
		return d.String()
	}
}
