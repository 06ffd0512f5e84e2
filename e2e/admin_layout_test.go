package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// The admin page's shape and its Copy buttons, in a real browser: a table
// as wide as a desktop allows, a card per account on a phone, no action
// offered on another admin, and Copy buttons that appear only where a
// script can copy (the page works without JavaScript as before).

// grantClipboard lets the site's pages write and read the clipboard
// without asking, as a person who allowed it would.
func (b *browser) grantClipboard() {
	b.t.Helper()
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(b.ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: name}, Setting: cdpbrowser.PermissionSettingGranted, Origin: baseURL,
		}); err != nil {
			b.t.Fatalf("granting %s: %v", name, err)
		}
	}
}

// clipboard is what the clipboard holds.
func (b *browser) clipboard() string {
	b.t.Helper()
	return browserValue(b, "reading the clipboard", chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
}

// adminLayout is how the admin page is laid out on the screen it is shown on.
type adminLayout struct {
	MainWidth   int64  `json:"mainWidth"`   // the card's width
	PageWidth   int64  `json:"pageWidth"`   // the document's scroll width
	ScreenWidth int64  `json:"screenWidth"` // the viewport's width
	RowDisplay  string `json:"rowDisplay"`  // how an account's row is laid out: table-row, or block on a phone
	HeadHeight  int64  `json:"headHeight"`  // the column headings' height (1 when only screen readers get them)
	RolesLabel  string `json:"rolesLabel"`  // what the roles cell says before the roles, on a phone
	Columns     int64  `json:"columns"`     // how many distinct left edges the cells of the first row have
}

func (b *browser) adminLayout() adminLayout {
	b.t.Helper()
	return browserValue(b, "measuring the admin page", chromedp.Evaluate[adminLayout](`(() => {
		const row = document.querySelector("table.accounts > tbody > tr");
		const lefts = new Set([...row.children].map(c => Math.round(c.getBoundingClientRect().left)));
		return {
			mainWidth: Math.round(document.querySelector("main").getBoundingClientRect().width),
			pageWidth: document.documentElement.scrollWidth,
			screenWidth: window.innerWidth,
			rowDisplay: getComputedStyle(row).display,
			headHeight: Math.round(document.querySelector("table.accounts > thead").getBoundingClientRect().height),
			rolesLabel: getComputedStyle(row.querySelector("td[data-label=Roles]"), "::before").content,
			columns: lefts.size,
		};
	})()`))
}

// TestAdminPageFitsDesktopAndPhone: on a desktop the accounts are a table
// of five columns in a card wider than the forms' (username, roles, state,
// last login, changes); on a phone each account is a block of labelled
// lines, nothing wider than the screen. Another admin's row offers no
// action and says why. axe-core finds nothing, light and dark, every
// entry open.
func TestAdminPageFitsDesktopAndPhone(t *testing.T) {
	src := axeSource(t)
	const realm = "admin-layout"
	lines := fileBackend().lines(t)
	store := accountStore(t, lines, realm)
	addAccount(t, store, "ada", "admin")
	addAccount(t, store, "dora", "admin")
	addAccount(t, store, "bob", "staff", "editor")
	addAccountAs(t, store, users.Account{Username: "pat", Pending: true})
	addAccountAs(t, store, users.Account{Username: "dan", Disabled: true, Roles: []string{"editor"}})
	site(t, "session_auth /members/*", "realm "+realm+"\n\t\ttitle \"Example Members\"\n\t\t"+lines)
	b := newBrowser(t, true)
	b.logInAsAdmin("ada")
	b.wantListed("the admin page", "pat Waits for approval", "ada You admin", "bob editor, staff", "dan Disabled editor", "dora admin")
	if n := browserValue(b, "counting dora's forms", chromedp.Evaluate[int](`document.querySelectorAll('form:has(input[name=user][value=dora])').length`)); n != 0 {
		t.Fatalf("dora, another admin, is offered %d actions; want none", n)
	}
	if text := browserValue(b, "reading dora's row", chromedp.Evaluate[string](`[...document.querySelectorAll("table.accounts tbody tr")].find(tr => tr.querySelector("th strong").innerText === "dora").innerText`)); !strings.Contains(text, "An admin: change from the command line") {
		t.Fatalf("dora's row does not say why it offers nothing: %q", text)
	}
	openAll := func() {
		b.step("opening every entry", chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("table.accounts details").forEach(d => d.open = true)`))
	}

	for _, sc := range []struct {
		name          string
		width, height int64
		mobile        bool
	}{{"desktop", 1280, 800, false}, {"phone", 390, 844, true}} {
		opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
		if sc.mobile {
			opts = []chromedp.EmulateViewportOption{chromedp.EmulateScale(2), chromedp.EmulateMobile}
		}
		b.step("sizing the screen", chromedp.EmulateViewport(sc.width, sc.height, opts...))
		b.open("/auth/admin")
		openAll()
		l := b.adminLayout()
		if l.PageWidth > l.ScreenWidth {
			t.Errorf("%s: the page is %dpx wide, wider than the %dpx screen", sc.name, l.PageWidth, l.ScreenWidth)
		}
		if sc.mobile {
			if l.RowDisplay != "block" || l.HeadHeight > 1 || l.RolesLabel != `"Roles: "` || l.Columns != 1 {
				t.Errorf("phone: %+v; want each account a block of labelled lines, the headings for screen readers only", l)
			}
		} else if l.RowDisplay != "table-row" || l.HeadHeight < 10 || l.MainWidth < 900 || l.Columns != 5 {
			t.Errorf("desktop: %+v; want a table of 5 columns with its headings, at least 900px wide", l)
		}
		for _, scheme := range []string{"light", "dark"} {
			b.colorScheme(scheme)
			b.pointerAway()
			b.axeClean(src, "the admin page, every entry open, "+sc.name+", "+scheme)
		}
		b.colorScheme("light")
	}
}

// TestCopyButtonsCopyLinksAndRecoveryCodes: where scripts run, the page
// of a new invitation (which names its role) shows a Copy button that
// puts the link on the clipboard and says so; without scripts there is no
// button and the link is there to select, as before. The recovery codes
// get one too, which copies them one a line.
func TestCopyButtonsCopyLinksAndRecoveryCodes(t *testing.T) {
	src := axeSource(t)
	const realm = "admin-copy"
	lines := fileBackend().lines(t)
	store := accountStore(t, lines, realm)
	addAccount(t, store, "ada", "admin")
	site(t, "session_auth /members/*", "registration invite\n\t\trealm "+realm+"\n\t\ttitle \"Example Members\"\n\t\t"+lines)

	b := newBrowser(t, true)
	b.grantClipboard()
	b.logInAsAdmin("ada")
	b.fill("#invite-roles", "staff")
	b.click(`form.invite button[type=submit]`)
	b.wantNotice("Invitation with the role staff, for one use", "the admin, after making an invitation")
	link, _ := b.shownLink("/auth/register?invite=")
	if !b.visible(`button[data-copy="new-link"]`) {
		t.Fatalf("no Copy button for the link where scripts run: %q", clip(b.text()))
	}
	b.tick(`button[data-copy="new-link"]`)
	b.step("waiting for the copy", chromedp.WaitVisible(`[data-copy-status="new-link"]`))
	b.wantNotice("Copied.", "after copying the link")
	if got := b.clipboard(); got != link {
		t.Fatalf("the clipboard holds %q; want the link %q", got, link)
	}
	b.pointerAway()
	b.axeClean(src, "the admin page with a link copied")

	plain := newBrowser(t, false)
	plain.logInAsAdmin("ada")
	plain.fill("#invite-roles", "staff")
	plain.click(`form.invite button[type=submit]`)
	plain.shownLink("/auth/register?invite=")
	if plain.visible(`button[data-copy]`) {
		t.Fatal("a Copy button without scripts, which could not work")
	}

	// The recovery codes, shown once after setting up an app.
	guest := newBrowser(t, true)
	guest.grantClipboard()
	if status := guest.openStatus(pathOf(link)); status != http.StatusOK {
		t.Fatalf("opening the invitation: %d", status)
	}
	guest.fill("#username", "newhire")
	guest.fill("#password", testPassword)
	guest.fill("#password_confirm", testPassword)
	guest.click(`button[type=submit]`)
	guest.open("/auth/account")
	guest.click(setupAppLink)
	secret := guest.shownSecret()
	if status := guest.typeCode(codeAt(t, secret, time.Now())); status != http.StatusOK {
		t.Fatalf("confirming the app: %d: %q", status, clip(guest.text()))
	}
	codes := guest.recoveryCodes()
	guest.tick(`button[data-copy="recovery-codes"]`)
	guest.step("waiting for the copy", chromedp.WaitVisible(`[data-copy-status="recovery-codes"]`))
	guest.wantNotice("Copied.", "after copying the recovery codes")
	if got := guest.clipboard(); got != strings.Join(codes, "\n") {
		t.Fatalf("the clipboard holds %q; want the %d codes one a line", got, len(codes))
	}
	guest.pointerAway()
	guest.axeClean(src, "the recovery codes, copied")
}
