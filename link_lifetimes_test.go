package sessionauth

import (
	"strings"
	"testing"
)

// TestLinkLifetimesStopWhereTheREADMESays: --expires takes an invitation
// up to 90 days and a reset link, which is as good as the password, up to
// 7; one minute more is refused with the limit, and the README says so.
func TestLinkLifetimesStopWhereTheREADMESays(t *testing.T) {
	lines := "registration invite\n\t\t" + fileBackend().lines(t)
	config := roleCLIConfig(t, lines)
	addUser(t, lines, "alice")
	for _, tc := range []struct {
		args    []string
		refused string // "" when the link is made
	}{
		{[]string{"invite", "--expires", "90d"}, ""},
		{[]string{"invite", "--expires", "2160h1m"}, "from 1m to 90d"},
		{[]string{"reset-link", "alice", "--expires", "7d"}, ""},
		{[]string{"reset-link", "alice", "--expires", "168h1m"}, "from 1m to 7d"},
		{[]string{"reset-link", "alice", "--expires", "90d"}, "from 1m to 7d"},
	} {
		args := append([]string{"--config", config}, tc.args...)
		if tc.refused != "" {
			wantCLIFailure(t, "", tc.refused, args...)
			continue
		}
		linkFrom(t, mustRunCLI(t, "", args...))
	}
	if readme := strings.Join(strings.Fields(readmeText(t)), " "); !strings.Contains(readme, "up to 90 days for an invitation and 7 days for a reset link") {
		t.Fatal("README.md no longer gives the limits this test holds the command to: up to 90 days for an invitation and 7 days for a reset link")
	}
}
