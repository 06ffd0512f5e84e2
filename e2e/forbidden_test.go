package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// openStatus opens path and returns the HTTP status the page came with.
func (b *browser) openStatus(path string) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(baseURL+path))
	if err != nil || resp == nil {
		b.t.Fatalf("opening %s: %v", path, err)
	}
	return resp.Status
}

// logIn fills the login form the browser shows and sends it.
func (b *browser) logIn(user string) {
	b.t.Helper()
	b.fill("#username", user)
	b.fill("#password", testPassword)
	b.click(`button[type=submit]`)
}

// TestRefusedBrowserGetsAPageAndCanSwitchAccounts walks a real browser
// through an access rule: logged in as an account without the role, the
// page answers 403 with a page that says who is logged in (never a
// redirect to the login page, which would loop); its link opens the
// login page with the way back kept, and logging in there as an account
// with the role goes straight to the page. The 403 page passes axe-core
// with no violation at all, light and dark.
func TestRefusedBrowserGetsAPageAndCanSwitchAccounts(t *testing.T) {
	src := axeSource(t)
	for _, js := range []bool{true, false} {
		t.Run(fmt.Sprintf("scripts %v", js), func(t *testing.T) {
			dir := t.TempDir()
			usersFile := filepath.Join(dir, "users.json")
			site(t, "session_auth /members/*", fmt.Sprintf("registration open\n\t\ttitle \"Example Members\"\n\t\tallow /members/* role staff\n\t\tusers_file %s\n\t\tsessions_dir %s",
				usersFile, filepath.Join(dir, "sessions")))
			newClient(t).register("visitor", testPassword, "/")
			newClient(t).register("staffer", testPassword, "/")
			if err := users.NewFileStore(usersFile).Update(context.Background(), "staffer", users.GrantRoles("staff")); err != nil {
				t.Fatalf("giving staffer the role: %v", err)
			}
			b := newBrowser(t, js)

			b.open("/members/x")
			b.wantAt("/auth/login?next=%2Fmembers%2Fx", "a protected page without a session")
			b.logIn("visitor")
			b.wantAt("/members/x", "after logging in as visitor: the page itself, refused, not a redirect")
			b.wantSecret(false, "visitor at a staff page")
			if text := strings.Join(strings.Fields(b.text()), " "); !strings.Contains(text, "You are logged in as visitor; this page is not open to this account.") {
				t.Fatalf("the 403 page should say who is logged in: %q", clip(text))
			}
			if status := b.openStatus("/members/x"); status != 403 {
				t.Fatalf("the refused page: status %d, want 403", status)
			}
			b.reload()
			b.wantAt("/members/x", "a reload of the refused page")
			if title := browserValue(b, "the title", chromedp.Title()); title != "No access · Example Members" {
				t.Fatalf("the 403 page's title %q", title)
			}

			if js {
				for _, scheme := range []string{"light", "dark"} {
					b.colorScheme(scheme)
					found := b.runAxe(src, "the 403 page, "+scheme)
					for _, v := range found {
						out, _ := json.MarshalIndent(v, "", "  ")
						t.Errorf("axe-core, the 403 page, %s: %s", scheme, out)
					}
					t.Logf("axe-core, the 403 page, %s: %d violations", scheme, len(found))
				}
				b.colorScheme("light")
			}

			b.click(`a.button`)
			b.wantAt("/auth/login?next=%2Fmembers%2Fx", "the link to log in as someone else")
			b.logIn("staffer")
			b.wantAt("/members/x", "after logging in as staffer")
			b.wantSecret(true, "staffer at the staff page")
		})
	}
}
