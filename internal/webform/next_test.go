package webform

import (
	"strings"
	"testing"
)

func TestSafeNextKeepsSameSitePathsAndSendsTheRestHome(t *testing.T) {
	maxPath := "/" + strings.Repeat("a", MaxNextLength-1)
	for _, tc := range []struct{ name, next, want string }{
		{"root", "/", "/"},
		{"path with query", "/members/x?a=1", "/members/x?a=1"},
		{"path at the length limit", maxPath, maxPath},
		{"dot segments that stay on the path", "/a/./b/../c", "/a/./b/../c"},
		{"double slash inside the path", "/a//b", "/a//b"},
		{"a URL in the query", "/?next=//evil.example", "/?next=//evil.example"},
		{"dot segments in the fragment", "/#/..//evil.example", "/#/..//evil.example"},
		{"empty", "", "/"},
		{"one over the length limit", maxPath + "a", "/"},
		{"bare host", "evil.example", "/"},
		{"protocol-relative", "//evil.example", "/"},
		{"slash backslash", `/\evil.example`, "/"},
		{"http URL", "http://evil.example", "/"},
		{"javascript", "javascript:alert(1)", "/"},
		{"tab", "/\t/evil.example", "/"},
		{"encoded tab", "/%09/evil.example", "/"},
		{"encoded newline", "/%0a/evil.example", "/"},
		{"bad escape", "/%zz", "/"},
		{"encoded double slash", "/%2F%2Fevil.example", "/"},
		{"dot then double slash", "/.//evil.example", "/"},
		{"encoded dot-dot then double slash", "/%2e%2e//evil.example", "/"},
		{"mixed-case encoded dot-dot", "/.%2E//evil.example", "/"},
		{"segment climbed out of, then double slash", "/a/..//evil.example", "/"},
		{"dot, encoded slash, slash", "/.%2F/evil.example", "/"},
		{"dot, encoded backslashes", "/.%5C%5Cevil.example", "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SafeNext(tc.next); got != tc.want {
				t.Fatalf("SafeNext(%q) = %q; want %q", tc.next, got, tc.want)
			}
		})
	}
}

// The rules of SafeNext overlap, so through SafeNext a lost check hides
// behind the others. Each rule is fed its own class here, alone: every
// input in refuses must be refused by that rule, every input in keeps
// must pass it (whatever the other rules say of it).
func TestEachNextRuleRefusesItsClassAlone(t *testing.T) {
	maxPath := "/" + strings.Repeat("a", MaxNextLength-1)
	classes := map[string]struct{ refuses, keeps []string }{
		"not a bounded path": {
			refuses: []string{"", "evil.example", "javascript:alert(1)", maxPath + "a"},
			keeps:   []string{"/", maxPath, "//evil.example"},
		},
		"network-path reference": {
			refuses: []string{"//evil.example", `/\evil.example`, "//"},
			keeps:   []string{"/", "/a//b", `/a\b`, "/.//evil.example"},
		},
		"control character or backslash": {
			refuses: []string{
				"/\t/evil.example", "/\n/evil.example", "/a\x00", "/a\x1f", "/a\x7f", `/a\b`,
				"/%09/evil.example", // decoded by an app, then stripped by the browser: "//evil.example"
				"/%0A/evil.example", "/%0d%0a/evil.example", "/a%00", "/a%7F", "/%09", "/a%5Cb",
			},
			keeps: []string{
				"/a b", "/ü", "/a\x20b", "/~", "/a%20b", "/%C3%BC", "/a%2Fb",
				"/?q=%09", // the query is not part of the path an app redirects to
				"/#%0A",   // nor is the fragment
				"/%zz",    // does not decode: another rule's class
				"/a%2509", // decodes to "/a%09", no control character
			},
		},
		"parses as another origin": {
			refuses: []string{
				"/%zz",                // no URL at all
				"javascript:alert(1)", // a scheme without a host
				"//evil.example",      // a host
				"//user@",             // user info with an empty host
			},
			keeps: []string{"/a:b", "/@evil.example", "/?next=//evil.example", "/.//evil.example"},
		},
		"resolves to a network path": {
			refuses: []string{
				"/.//evil.example",           // resolved as sent, and decoded
				"/a/..//evil.example",        // what Go's ResolveReference gets wrong
				"/%2e%2e//evil.example",      // a browser reads %2e as a dot
				"/.//evil.example%2F..%2F..", // only as sent, resolved
				"/%2F../evil.example",        // only decoded, as is ("//../evil.example")
				"/%5C..",                     // only decoded, as is, and by its backslash
				"/.%2F/evil.example",         // only decoded, resolved
				"/.%5C%5Cevil.example",       // only decoded, resolved, backslashes as slashes
				"/%zz",                       // does not decode
			},
			keeps: []string{
				"/", "/a/../b", "/./a", "/%2e/a", "/a//b", "/..", "/a%2F..%2Fb", "/...//evil.example",
				"/?/..//evil.example", // the query is not part of the path
				"/#/..//evil.example", // nor is the fragment
			},
		},
	}
	if len(classes) != len(nextRules) {
		t.Errorf("%d rules, %d tested: every rule needs its class here", len(nextRules), len(classes))
	}
	for name, class := range classes {
		t.Run(name, func(t *testing.T) {
			var rule *nextRule
			for i := range nextRules {
				if nextRules[i].name == name {
					rule = &nextRules[i]
				}
			}
			if rule == nil {
				t.Fatalf("SafeNext does not apply the rule %q", name)
			}
			for _, raw := range class.refuses {
				if !rule.refuses(raw) {
					t.Errorf("%s: %q passes", name, raw)
				}
				if got := SafeNext(raw); got != "/" {
					t.Errorf("SafeNext(%q) = %q; want /", raw, got)
				}
			}
			for _, raw := range class.keeps {
				if rule.refuses(raw) {
					t.Errorf("%s: %q is refused", name, raw)
				}
			}
		})
	}
}

func TestRemoveDotSegmentsResolvesLikeABrowser(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"/", "/"},
		{"/a/b", "/a/b"},
		{"/a/./b", "/a/b"},
		{"/a/../b", "/b"},
		{"/../a", "/a"},
		{"/..", "/"},
		{"/.", "/"},
		{"/a/b/..", "/a/"},
		{"/a/.", "/a/"},
		{"/a/b/../", "/a/"},
		{"/a//b", "/a//b"},
		{"/.//x", "//x"},
		{"/a/..//x", "//x"},
		{"/%2e%2e//x", "//x"},
		{"/%2E./x", "/x"},
		{"/.%2E/x", "/x"},
		{"/a/%2e/b", "/a/b"},
		{`/a\..\b`, "/b"},
		{`/.\\x`, "//x"},
		{"/%2e%2e%2e/x", "/%2e%2e%2e/x"},
		{"/...//x", "/...//x"},
		{"/a%2F..%2Fb", "/a%2F..%2Fb"},
	} {
		if got := removeDotSegments(tc.path); got != tc.want {
			t.Errorf("removeDotSegments(%q) = %q; want %q", tc.path, got, tc.want)
		}
	}
}
