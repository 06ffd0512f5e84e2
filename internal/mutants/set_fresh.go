package main

// Fresh mutants, written by a reviewer who had not read the tests, of the
// rules issue 21 touched. Run first against every test of their package:
// all ten were killed; each names the tests that killed it.
func init() {
	set = append(set, []mutant{
		{
			// "Log out everywhere else" asks no password, yet its re-issue
			// dates a proof now: any cookie makes itself recent.
			name: "fresh-end-others-counts-as-proof", rule: "18", file: "account.go",
			find: `renewed, err := sa.sessions.Reissue(w, r, s, changed, s.Factors, false)`,
			repl: `renewed, err := sa.sessions.Reissue(w, r, s, changed, s.Factors, true)`,
			pkg:  ".", tests: "TestEveryAdminActionRefusesAStaleLoginEvenAfterLoggingOutElsewhere",
		},
		{
			// A freed slot goes to a client already at its share.
			name: "fresh-admission-dispatch-over-share", rule: "19", file: "internal/throttle/admission.go",
			find: `return a.clients[w.client].running < a.perClient`,
			repl: `return a.clients[w.client].running <= a.perClient`,
			pkg:  "./internal/throttle", tests: "TestAdmission",
		},
		{
			// max_sessions is read, validated and defaulted, but never
			// reaches the session manager: no cap at all.
			name: "fresh-max-sessions-not-wired", rule: "19", file: "module.go",
			find: `MaxPerUser: sa.MaxSessions,`,
			repl: ``,
			pkg:  ".", tests: "TestALoginPastMaxSessionsEndsTheOldestSession",
		},
		{
			// Wrong variable: the invitation roles (nil for a reset link)
			// instead of the account's roles now.
			name: "fresh-reset-link-roles-wrong-field", rule: "19", file: "links.go",
			find: `slices.Equal(acct.Roles, g.HeldRoles)`,
			repl: `slices.Equal(g.Roles, g.HeldRoles)`,
			pkg:  ".", tests: "TestResetLinkDiesWithAnyRoleChange|TestAdminLinkDiesWhenAdminRoleComesToItsAccount",
		},
		{
			// The "\ as /, then ; parameters dropped" reading is taken for
			// the same as the other order: /;%5cmembers/x is not judged as
			// //members/x.
			name: "fresh-reading-backslash-then-params-dropped", rule: "20", file: "pathreadings.go",
			find: `withoutParams(backslashAsSlash(b)),`,
			repl: ``,
			pkg:  ".", tests: "TestOtherReadingsOfAPath",
		},
		{
			// Over HTTPS the session cookie is __Host-<cookie_name>: it is
			// no longer recognised and reaches the app.
			name: "fresh-own-cookies-host-prefix-kept", rule: "20", file: "owncookies.go",
			find: `name = strings.TrimPrefix(name, "__Host-")`,
			repl: ``,
			pkg:  ".", tests: "TestOwnCookiesAreCutFromACookieLine|TestOwnCookiesNeverReachTheApp",
		},
		{
			// One call site missed: the lock line of an unknown name
			// records the typed name in clear.
			name: "fresh-locked-audit-line-clear-name", rule: "13", file: "login.go",
			find: `eventAccountLocked, user, ""`,
			repl: `eventAccountLocked, username, ""`,
			pkg:  ".", tests: "TestAuditLogKeepsOnlyAHashOfNamesNobodyHas",
		},
		{
			// Link tokens in Redis under a key shared by every realm: an
			// invitation of one realm registers in another.
			name: "fresh-redis-tokens-not-realm-bound", rule: "14", file: "internal/onetime/redis.go",
			find: `prefix: keyPrefix + "token:"`,
			repl: `prefix: "token:"`,
			pkg:  ".", tests: "TestLinksOfOneRealmMeanNothingInAnother",
		},
		{
			// SET without NX always answers OK: every passkey challenge is
			// "fresh", so an answer replays on Redis.
			name: "fresh-redis-spend-without-nx", rule: "17", file: "internal/onetime/redis.go",
			find: `"SET", s.spent+hash(value), "1", "NX", "PX", ttl`,
			repl: `"SET", s.spent+hash(value), "1", "PX", ttl`,
			pkg:  "./internal/onetime", tests: "TestASpentValueIsFreshOnce|TestOnlyOneOfSimultaneousSpendsIsFresh",
		},
		{
			// Wrong variable: the target compared with itself is never
			// "another admin", so one admin disables, deletes, demotes or
			// re-enables another.
			name: "fresh-other-admin-wrong-name", rule: "17", file: "adminpage.go",
			find: `if sa.otherAdmin(target, admin.Username) {`,
			repl: `if sa.otherAdmin(target, name) {`,
			pkg:  ".", tests: "TestAdminPageChangesNoOtherAdmin|TestAdminActionsApplyAtOnceAndLeaveAnAuditLine",
		},
	}...)
}
