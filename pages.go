package sessionauth

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

//go:embed templates
var embedded embed.FS

// pageNames are the templates a site owner may replace.
var pageNames = []string{"layout.html", "login.html", "register.html", "logout.html", "message.html"}

// pages holds the parsed templates and the stylesheet they link to.
type pages struct {
	tmpl *template.Template
	css  []byte
}

// loadPages parses the embedded pages, then any replacements in dir. A
// template that fails to parse stops the config from loading, with the
// file and line in the error.
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
	css, err := embedded.ReadFile("templates/style.css")
	if err != nil {
		return nil, err
	}
	if dir != "" {
		for _, name := range pageNames {
			path := filepath.Join(dir, name)
			src, err := os.ReadFile(path)
			if os.IsNotExist(err) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("template_dir: %v", err)
			}
			if _, err := tmpl.New(name).Parse(string(src)); err != nil {
				return nil, fmt.Errorf("template_dir: %s: %v", path, err)
			}
		}
		if own, err := os.ReadFile(filepath.Join(dir, "style.css")); err == nil {
			css = own
		}
	}
	return &pages{tmpl: tmpl, css: css}, nil
}

// pageData is what every template receives.
type pageData struct {
	Heading           string // the page's title
	Prefix            string // path_prefix, for links and form actions
	Next              string // where to go after logging in (already safe)
	Username          string // what the user typed, sent back after an error
	Remember          bool   // the remember-me box was ticked
	Error             string // one message about what went wrong, if anything
	Message           string // the body of message.html
	User              string // the logged-in user, on the logout page
	RememberMe        string // how long "remember me" lasts; empty hides it
	Registration      bool   // registration is open
	MinPasswordLength int
	CSRFToken         string // the form's anti-forgery token, for a hidden field
	Retry             string // on message.html: the form to open again, if any
}

// formPages are the templates with a form, and the form each posts.
var formPages = map[string]string{"login.html": "login", "register.html": "register", "logout.html": "logout"}

// pageHeaders keep the pages from being framed, sniffed, cached, or leaking
// the next path to other sites, and allow nothing but this site's own
// stylesheet and form targets.
var pageHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
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

func (sa *SessionAuth) serveCSS(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(sa.pages.css)))
	_, _ = w.Write(sa.pages.css)
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
