package main

// Rule 18: "recent" is a credential proved recently (AuthenticatedAt),
// never a session made recently; a re-issued session keeps its
// AuthenticatedAt (unless the request proved the password), its absolute
// expiry and Remember. And rule 16 where the pages end a user's sessions:
// a new stamp reaches the sessions no index lists, logins in flight and
// open login steps.
func init() {
	set = append(set, []mutant{
		{
			name: "recent-judged-on-created", rule: "18", file: "recent.go",
			find: "return now().Sub(s.AuthenticatedAt) <= reauthAfter", repl: "return now().Sub(s.Created) <= reauthAfter",
			pkg: ".", tests: "TestEveryAdminActionRefusesAStaleLoginEvenAfterLoggingOutElsewhere",
		},
		{
			name: "reissue-resets-expires", rule: "18", file: "internal/session/reissue.go",
			find: "\t\tExpires:         old.Expires,\n", repl: "\t\tExpires:         now.Add(m.cfg.Lifetime),\n",
			pkg: ".", tests: "TestLogOutEverywhereElseNeverExtendsTheLifetime|TestPasswordChangeKeepsTheAbsoluteExpiry",
		},
		{
			name: "reissue-forgets-remember", rule: "18", file: "internal/session/reissue.go",
			find: "\t\tRemember:        old.Remember,\n", repl: "\t\tRemember:        false,\n",
			pkg: ".", tests: "TestLogOutEverywhereElseNeverExtendsTheLifetime",
		},
		{
			name: "reissue-resets-authenticated-at", rule: "18", file: "internal/session/reissue.go",
			find: "\tif proved {\n", repl: "\tif true {\n",
			pkg: ".", tests: "TestEveryAdminActionRefusesAStaleLoginEvenAfterLoggingOutElsewhere",
		},
		{
			name: "reissue-keeps-the-old-id", rule: "18", file: "internal/session/reissue.go",
			find: "m.store.End(r.Context(), old.ID)", repl: "m.store.End(r.Context(), \"\")",
			pkg: ".", tests: "TestEveryAdminActionRefusesAStaleLoginEvenAfterLoggingOutElsewhere",
		},
		{
			name: "log-out-elsewhere-dates-a-proof", rule: "18", file: "account.go",
			find: "sa.sessions.Reissue(w, r, s, changed, s.Factors, false)", repl: "sa.sessions.Reissue(w, r, s, changed, s.Factors, true)",
			pkg: ".", tests: "TestEveryAdminActionRefusesAStaleLoginEvenAfterLoggingOutElsewhere",
		},
		{
			name: "admin-confirm-not-dating-the-proof", rule: "18", file: "adminpage.go",
			find: "sa.sessions.Reissue(w, r, s, admin, s.Factors, true)", repl: "sa.sessions.Reissue(w, r, s, admin, s.Factors, false)",
			pkg: ".", tests: "TestEveryAdminActionRefusesAStaleLoginEvenAfterLoggingOutElsewhere",
		},
		{
			name: "password-change-not-dating-the-proof", rule: "18", file: "account.go",
			find: "sa.sessions.Reissue(w, r, s, changed, s.Factors, true)", repl: "sa.sessions.Reissue(w, r, s, changed, s.Factors, false)",
			pkg: ".", tests: "TestEveryAdminActionRefusesAStaleLoginEvenAfterLoggingOutElsewhere",
		},
		{
			name: "factor-change-not-dating-the-proof", rule: "18", file: "totp.go",
			find: "sa.sessions.Reissue(w, r, s, changed, factors, true)", repl: "sa.sessions.Reissue(w, r, s, changed, factors, false)",
			pkg: ".", tests: "TestEveryAdminActionRefusesAStaleLoginEvenAfterLoggingOutElsewhere",
		},
		{
			name: "login-not-dating-the-proof", rule: "18", file: "internal/session/session.go",
			find: "\t\tAuthenticatedAt: now,\n", repl: "",
			pkg: ".", tests: "TestAdminActionsApplyAtOnceAndLeaveAnAuditLine",
		},
		{
			name: "record-v5-drops-authenticated-at", rule: "18", file: "internal/session/record.go",
			find: "\t\ttimes[3] = parts[8]\n", repl: "",
			pkg: "./internal/session", tests: "TestRecordRoundTrip|TestRecordsBeforeVersion5ReadTheLoginAsTheLastProof|TestReissueKeepsTheLoginsDeadlinesAndItsLastProof",
		},
		{
			name: "admin-end-sessions-only-the-listed", rule: "16", file: "adminpage.go",
			find: "users.RenewStampIf(ctx, sa.users, name,", repl: "func(_, _, _ any, _ func(users.Account) bool) (users.Account, error) { return users.Account{}, nil }(ctx, sa.users, name,",
			pkg: ".", tests: "TestEndingSessionsReachesUnlistedSessionsAndLoginsInFlight",
		},
		{
			name: "log-out-elsewhere-only-the-listed", rule: "16", file: "account.go",
			find: "changed, err := users.RenewStamp(ctx, sa.users, acct.Username, acct.Stamp)", repl: "changed, err := acct, error(nil)",
			pkg: ".", tests: "TestEndingSessionsReachesUnlistedSessionsAndLoginsInFlight",
		},
		{
			name: "login-step-outlives-a-password-change", rule: "16", file: "step.go",
			find: "case acct.Stamp != g.Stamp || !acct.CanLogIn():", repl: "case !acct.CanLogIn():",
			pkg: ".", tests: "TestPasswordChangeEndsAnOpenLoginStepEvenWithARightCode",
		},
	}...)
}
