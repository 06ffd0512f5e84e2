package main

// Mutants of the second review of issue 21: a link is worth no more than
// its maker (an admin-page link dies once its maker is no admin), what the
// admin page and a reset link checked on the account holds at the write,
// spent passkey challenges outlive clock skew, imports refuse cheap
// hashes, refusals reach error routes without the plugin's cookies or
// identity headers, and a re-issue keeps where its login came from.
func init() {
	set = append(set, []mutant{
		{
			name: "link-maker-demoted-still-trusted", rule: "19", file: "links.go",
			find: "case maker.CanLogIn() && slices.Contains(maker.Roles, sa.AdminRole):", repl: "case maker.Username != \"\":",
			pkg: ".", tests: "TestAdminLinksDieWhenTheirMakerIsNoAdmin",
		},
		{
			name: "link-maker-disabled-still-trusted", rule: "19", file: "links.go",
			find: "case maker.CanLogIn() && slices.Contains(maker.Roles, sa.AdminRole):", repl: "case slices.Contains(maker.Roles, sa.AdminRole):",
			pkg: ".", tests: "TestAdminLinksDieWhenTheirMakerIsNoAdmin",
		},
		{
			name: "invitation-maker-unchecked", rule: "19", file: "links.go",
			find: "\tif err == nil {\n\t\terr = sa.checkLinkMaker(ctx, g)\n\t}\n\treturn g, err\n}",
			repl: "\treturn g, err\n}",
			pkg:  ".", tests: "TestAdminLinksDieWhenTheirMakerIsNoAdmin",
		},
		{
			name: "reset-link-maker-unchecked", rule: "19", file: "links.go",
			find: "\tif err == nil {\n\t\terr = sa.checkLinkMaker(ctx, g)\n\t}\n\tif err != nil && !errors.Is(err, onetime.ErrInvalid) && use {",
			repl: "\tif err != nil && !errors.Is(err, onetime.ErrInvalid) && use {",
			pkg:  ".", tests: "TestAdminLinksDieWhenTheirMakerIsNoAdmin|TestAdminLinkDiesWhenAdminRoleComesToItsAccount",
		},
		{
			name: "cli-links-judged-by-their-maker", rule: "19", file: "links.go",
			find: "if g.By == byCommandLine {\n\t\treturn nil\n\t}", repl: "if g.By == \"\" {\n\t\treturn nil\n\t}",
			pkg: ".", tests: "TestAdminLinksDieWhenTheirMakerIsNoAdmin",
		},
		{
			name: "admin-write-skips-admin-check", rule: "17", file: "adminpage.go",
			find: "sa.users.Update(ctx, name, sa.unlessOtherAdmin(admin.Username, apply))", repl: "sa.users.Update(ctx, name, apply)",
			pkg: ".", tests: "TestAdminActionsRecheckAtTheWriteThatTheAccountIsNoOtherAdmin",
		},
		{
			name: "admin-enable-write-unchecked", rule: "17", file: "adminpage.go",
			find: "write = change(func(a *users.Account) error { a.Disabled = false; return nil })",
			repl: "write = func() error { return sa.users.Update(ctx, name, func(a *users.Account) error { a.Disabled = false; return nil }) }",
			pkg:  ".", tests: "TestAdminActionsRecheckAtTheWriteThatTheAccountIsNoOtherAdmin",
		},
		{
			name: "admin-disable-write-unchecked", rule: "17", file: "adminpage.go",
			find: "write = change(users.Disable)", repl: "write = func() error { return sa.users.Update(ctx, name, users.Disable) }",
			pkg: ".", tests: "TestAdminActionsRecheckAtTheWriteThatTheAccountIsNoOtherAdmin",
		},
		{
			name: "admin-roles-write-unchecked", rule: "17", file: "adminpage.go",
			find: "write = change(func(a *users.Account) error { a.Roles = roles; return nil })",
			repl: "write = func() error { return sa.users.Update(ctx, name, func(a *users.Account) error { a.Roles = roles; return nil }) }",
			pkg:  ".", tests: "TestAdminActionsRecheckAtTheWriteThatTheAccountIsNoOtherAdmin",
		},
		{
			name: "admin-end-sessions-write-unchecked", rule: "17", file: "adminpage.go",
			find: "return a.Stamp == target.Stamp && !sa.otherAdmin(a, admin.Username)", repl: "return a.Stamp == target.Stamp",
			pkg: ".", tests: "TestAdminActionsRecheckAtTheWriteThatTheAccountIsNoOtherAdmin",
		},
		{
			name: "admin-write-check-flipped", rule: "17", file: "adminpage.go",
			find: "if sa.otherAdmin(*a, by) {", repl: "if !sa.otherAdmin(*a, by) {",
			pkg: ".", tests: "TestAdminActionsRecheckAtTheWriteThatTheAccountIsNoOtherAdmin|TestAdminActionsApplyAtOnceAndLeaveAnAuditLine",
		},
		{
			name: "reset-write-checks-only-the-stamp", rule: "19", file: "links.go",
			find: "fits := func(a users.Account) bool { return sa.resetLinkFits(a, g) }", repl: "fits := func(a users.Account) bool { return a.Stamp == g.Stamp }",
			pkg: ".", tests: "TestResetRechecksTheRolesAtTheWrite",
		},
		{
			name: "spent-redis-no-margin", rule: "2fa", file: "internal/onetime/redis.go",
			find: "ttl := until.Add(spentMargin).Sub(now).Milliseconds()", repl: "ttl := until.Sub(now).Milliseconds()",
			pkg: "./internal/onetime", tests: "TestASpentValueIsForgottenAMarginAfterItsTimeIsOver",
		},
		{
			name: "spent-file-no-margin", rule: "2fa", file: "internal/onetime/files.go",
			find: "keep := until.Add(spentMargin)", repl: "keep := until",
			pkg: "./internal/onetime", tests: "TestASpentValueIsForgottenAMarginAfterItsTimeIsOver",
		},
		{
			name: "import-accepts-cheap-hashes", rule: "5", file: "users/import.go",
			find: "if cost < bcryptfloor.Cost {", repl: "if cost < bcrypt.MinCost {",
			pkg: ".", tests: "TestImportRefusesHashesCheaperThanTheFloor",
		},
		{
			name: "refusal-keeps-own-cookies", rule: "20", file: "handler.go",
			find: "\tif err != nil {\n\t\t// An error of the next handler comes back with them gone already.\n\t\tsa.dropOwnCookies(r.Header)\n\t}\n",
			repl: "",
			pkg:  ".", tests: "TestRefusedRequestsReachErrorRoutesWithoutCookiesOrIdentity",
		},
		{
			name: "identity-header-before-the-rules", rule: "11", file: "handler.go",
			find: "\t\th[\"Vary\"] = append(h[\"Vary\"], \"Cookie\")\n",
			repl: "\t\th[\"Vary\"] = append(h[\"Vary\"], \"Cookie\")\n\t\tif sa.userHeader != \"\" {\n\t\t\tr.Header[sa.userHeader] = []string{s.User}\n\t\t}\n",
			pkg:  ".", tests: "TestRefusedRequestsReachErrorRoutesWithoutCookiesOrIdentity",
		},
		{
			name: "sessions-cap-error-fails-the-login", rule: "19", file: "internal/session/session.go",
			find: "m.cfg.Logger.Warn(\"the sessions cap could not be applied at this login; the next login applies it\", zap.String(\"username\", acct.Username), zap.Error(err))",
			repl: "return Session{}, err",
			pkg:  "./internal/session", tests: "TestALoginStandsWhenItsCapCannotBeApplied",
		},
		{
			name: "reissue-takes-the-requests-origin", rule: "18", file: "internal/session/reissue.go",
			find: "\t\tIP:              old.IP,\n", repl: "",
			pkg: "./internal/session", tests: "TestReissueKeepsWhereTheLoginCameFrom",
		},
	}...)
}
