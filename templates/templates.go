// Package templates holds the plugin's pages (html/template files embedded
// from this folder, each replaceable from a site owner's folder) and the
// code that renders them. Rendering is pure: everything a page shows,
// including its form token, comes in through Data, so a page never calls a
// backend and a failure while making one can never recurse into another.
package templates

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
	"strings"
)

//go:embed *.html *.css *.js
var embedded embed.FS

// Names are the pages a site owner may replace, and AssetNames the files the
// pages load from the plugin's prefix, which may be replaced too.
var (
	Names      = []string{"layout.html", "login.html", "register.html", "logout.html", "message.html", "forbidden.html", "account.html", "reset.html", "admin.html", "second-factor.html", "enrol.html", "recovery.html"}
	AssetNames = []string{"style.css", "show-password.js", "passkey.js", "copy.js"}
)

// assetTypes are the Content-Types the assets are served with.
var assetTypes = map[string]string{
	"style.css":        "text/css; charset=utf-8",
	"show-password.js": "text/javascript; charset=utf-8",
	"passkey.js":       "text/javascript; charset=utf-8",
	"copy.js":          "text/javascript; charset=utf-8",
}

// Pages holds the parsed templates and the assets they link to.
type Pages struct {
	tmpl    *template.Template
	assets  map[string][]byte
	version string // a hash of the assets, so that links to them change when they do
}

// Data is what every template receives; fields that do not apply to a page
// are left empty.
type Data struct {
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
	User              string // the logged-in user, on the logout and forbidden pages
	RememberMe        string // how long "remember me" lasts; empty hides it
	Registration      bool   // registration is open
	MinPasswordLength int
	CSRFToken         string       // the form's anti-forgery token, for a hidden field
	Retry             string       // on message.html: the form to open again, if any
	Status            int          // the HTTP status the page is sent with
	AssetVersion      string       // changes with style.css and show-password.js: ?v= on their links
	Token             string       // on register.html (an invitation) and reset.html: the one-time link's token, for a hidden field
	Roles             string       // on account.html: the user's roles, joined with ", "
	Admin             bool         // on account.html: the user may open the admin page
	Sessions          []SessionRow // on account.html: the user's sessions, this one first
	Accounts          []AccountRow // on admin.html: one page of the accounts that match Search
	Search            string       // on admin.html: what the accounts were searched for
	Page, Pages       int          // on admin.html: this page of Accounts, and how many there are
	Total             int          // on admin.html: how many accounts match Search
	NeedPassword      bool         // on admin.html: the login is too old for actions; confirm the password first
	Invites           bool         // on admin.html: registration is by invitation, so invitations can be made
	Link              string       // on admin.html: a link just made, shown this once
	LinkWhat          string       // on admin.html: what the link is ("Invitation", "Password reset link for alice")
	LinkExpires       string       // on admin.html: until when the link works
	Enrol             bool         // on enrol.html: set up during login, because a second factor is required
	QR                string       // on enrol.html: the URL of the QR code image
	Secret            string       // on enrol.html: the authenticator app's secret, in groups of four
	Action            string       // on enrol.html: where the confirmation form posts
	Codes             []string     // on recovery.html: the recovery codes, shown this once
	LostFactor        string       // on recovery.html: what the codes stand in for ("your passkey")
	Factors           *FactorsRow  // on account.html: the second factors, nil where the site has none
	NeedFactor        bool         // on forbidden.html: the user may see the page, with a second factor at login
	Passkeys          bool         // on login.html: passkeys may log in without a password here
}

// FactorsRow is the second-factor part of the account page.
type FactorsRow struct {
	TOTP         bool   // an authenticator app is set up
	TOTPAdded    string // since when
	Passkeys     []PasskeyRow
	Any          bool // some second factor is set up
	RecoveryLeft int  // recovery codes not used yet
	Required     bool // the site requires a second factor of this account
	LastOne      bool // Required, and only one factor is left: it cannot be removed
}

// PasskeyRow is one passkey on the account page.
type PasskeyRow struct {
	ID           string // base64url, for the form that removes it
	Name         string
	Added        string
	LastUsed     string // "" when never used
	Passwordless bool   // it logs in without a password
}

// AccountRow is one account on the admin page.
type AccountRow struct {
	Username string
	Created  string
	Roles    string // joined with ", "
	Pending  bool   // registered, waits for approval
	Disabled bool
	Self     bool // the admin looking at the page
	// OtherAdmin: another admin, whom the page does not change (the
	// command line does)
	OtherAdmin bool
	LastLogin  string // "" when never
}

// SessionRow is one of the user's sessions on the account page, written
// out for people. Ref names it in the form that ends it; it is not the
// session id.
type SessionRow struct {
	Ref        string
	Agent      string // "Firefox on Linux"
	IP         string
	Created    string
	Seen       string
	Current    bool // the session of this very page
	Remembered bool
}

// ActionButton is what admin.html's "admin-action" template gets: one
// button that posts Action for User.
type ActionButton struct {
	Page                Data
	User, Action, Label string
}

// funcs are the helpers the pages may call.
var funcs = template.FuncMap{
	"adminAction": func(page Data, user, action, label string) ActionButton {
		return ActionButton{Page: page, User: user, Action: action, Label: label}
	},
	"add": func(a, b int) int { return a + b },
	"sub": func(a, b int) int { return a - b },
}

// Load parses the embedded pages, then any replacements in dir, and renders
// each once with sample data. A template that fails to parse or to render
// stops the config from loading, with the file and line in the error,
// rather than turning into a 500 on the day someone logs in.
func Load(dir string) (*Pages, error) {
	tmpl := template.New("pages").Funcs(funcs)
	assets := map[string][]byte{}
	for _, name := range Names {
		src, err := embedded.ReadFile(name)
		if err != nil {
			return nil, err
		}
		if _, err := tmpl.New(name).Parse(string(src)); err != nil {
			return nil, fmt.Errorf("embedded template %s: %v", name, err)
		}
	}
	for _, name := range AssetNames {
		src, err := embedded.ReadFile(name)
		if err != nil {
			return nil, err
		}
		assets[name] = src
	}
	if dir != "" {
		if err := override(dir, tmpl, assets); err != nil {
			return nil, err
		}
	}
	where := "embedded templates"
	if dir != "" {
		where = "template_dir " + dir
	}
	// One bare page and one with every field set, so that most branches run.
	samples := []Data{
		{Heading: "Sample", Prefix: "/auth", Next: "/", MinPasswordLength: 8, Status: 200},
		{Heading: "Sample", Prefix: "/auth", Next: "/", MinPasswordLength: 8, Status: 401, NeedPassword: true, Accounts: []AccountRow{{Username: "a"}}},
		{
			Title: "Site", Heading: "Sample", Prefix: "/auth", Next: "/x", Username: "user", Remember: true,
			Notice: "notice", Error: "error", UsernameError: "error", PasswordError: "error", ConfirmError: "error",
			Message: "message", User: "user", RememberMe: "30 days", Registration: true, MinPasswordLength: 8,
			CSRFToken: "token", Retry: "/auth/login", Status: 403, AssetVersion: "0123456789ab",
			Accounts: []AccountRow{{Username: "alice", Created: "today", Roles: "admin", Self: true, LastLogin: "now"}, {Username: "bob", Pending: true}, {Username: "carol", Disabled: true}, {Username: "dave", Roles: "admin", OtherAdmin: true}},
			Search:   "a", Page: 2, Pages: 3, Total: 120, Invites: true, Link: "https://example.com/auth/reset?token=x", LinkWhat: "Invitation", LinkExpires: "tomorrow",
			NeedFactor: true, Passkeys: true, Enrol: true, QR: "/auth/second-factor/qr.png", Secret: "ABCD EFGH", Action: "/auth/second-factor", Codes: []string{"aaaa-bbbb-cccc-dddd"}, LostFactor: "your passkey",
			Factors: &FactorsRow{TOTP: true, TOTPAdded: "today", RecoveryLeft: 3, Required: true, Any: true, Passkeys: []PasskeyRow{{ID: "aWQ", Name: "phone", Added: "today", LastUsed: "now", Passwordless: true}}},
			Token:   "token", Roles: "staff", Admin: true, Sessions: []SessionRow{
				{Ref: "ref1", Agent: "Firefox on Linux", IP: "192.0.2.1", Created: "today", Seen: "now", Current: true},
				{Ref: "ref2", Agent: "Safari on iPhone", IP: "192.0.2.2", Created: "yesterday", Seen: "today", Remembered: true},
			},
		},
	}
	for _, name := range Names[1:] {
		for _, data := range samples {
			if err := tmpl.ExecuteTemplate(io.Discard, name, data); err != nil {
				return nil, fmt.Errorf("%s: %v", where, err)
			}
		}
	}
	h := sha256.New()
	for _, name := range AssetNames {
		h.Write(assets[name])
	}
	return &Pages{tmpl: tmpl, assets: assets, version: hex.EncodeToString(h.Sum(nil))[:12]}, nil
}

// override replaces pages and assets with the files of the same name in dir.
func override(dir string, tmpl *template.Template, assets map[string][]byte) error {
	read := func(name string) ([]byte, error) {
		src, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("template_dir: %v", err)
		}
		return src, nil
	}
	for _, name := range Names {
		src, err := read(name)
		if err != nil || src == nil {
			if err != nil {
				return err
			}
			continue
		}
		if _, err := tmpl.New(name).Parse(string(src)); err != nil {
			return fmt.Errorf("template_dir: %s: %v", filepath.Join(dir, name), err)
		}
	}
	for _, name := range AssetNames {
		src, err := read(name)
		if err != nil {
			return err
		}
		if src != nil {
			assets[name] = src
		}
	}
	return nil
}

// headers keep the pages from being framed, sniffed, cached, or leaking the
// next path to other sites, and allow nothing but this site's own
// stylesheet, script and form targets.
var headers = map[string]string{
	"Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	"X-Content-Type-Options":  "nosniff",
	"X-Frame-Options":         "DENY",
	"Referrer-Policy":         "same-origin",
	"Cache-Control":           "no-store",
}

// Render writes a page in one piece: a template error becomes an error
// before anything was sent, never half a page.
func (p *Pages) Render(w http.ResponseWriter, status int, name string, data Data) error {
	data.Status = status
	data.AssetVersion = p.version
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("rendering %s: %v", name, err)
	}
	h := w.Header()
	for k, v := range headers {
		if k == "Cache-Control" && strings.Contains(h.Get(k), "no-store") {
			continue // the caller's own no-store stands ("private, no-store")
		}
		if k == "Referrer-Policy" && h.Get(k) == "origin" {
			continue // a page whose URL holds a token sends only the origin
		}
		h.Set(k, v)
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// IsAsset tells whether name is one of the assets the pages load.
func (p *Pages) IsAsset(name string) bool {
	_, ok := p.assets[name]
	return ok
}

// ServeAsset sends the stylesheet or the show-password script; the caller
// has checked the method.
func (p *Pages) ServeAsset(w http.ResponseWriter, r *http.Request, name string) error {
	body := p.assets[name]
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
