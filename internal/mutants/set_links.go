package main

// Mutants of issue 21's link and admin boundaries: a link is never worth
// more than when it was made (rule 19), the admin page changes no other
// admin, one realm has one admin role, a login step is no reset link, and
// links stay in their realm (rule 14).
func init() {
	set = append(set, []mutant{
		{
			name: "reset-link-redeemed-by-new-admin", rule: "19", file: "links.go",
			find: "slices.Equal(acct.Roles, g.HeldRoles) &&\n\t\t(g.By == byCommandLine || !sa.otherAdmin(acct, g.By))",
			repl: "slices.Equal(acct.Roles, g.HeldRoles)",
			pkg:  ".", tests: "TestAdminLinkDiesWhenAdminRoleComesToItsAccount",
		},
		{
			name: "reset-link-survives-role-change", rule: "19", file: "links.go",
			find: "slices.Equal(acct.Roles, g.HeldRoles)",
			repl: "slices.Equal(g.HeldRoles, g.HeldRoles)",
			pkg:  ".", tests: "TestResetLinkDiesWithAnyRoleChange",
		},
		{
			name: "admin-may-enable-other-admin", rule: "17", file: "adminpage.go",
			find: "if sa.otherAdmin(target, admin.Username) {",
			repl: `if sa.otherAdmin(target, admin.Username) && action != "enable" && action != "approve" && action != "end-sessions" {`,
			pkg:  ".", tests: "TestAdminPageChangesNoOtherAdmin",
		},
		{
			name: "admin-role-clash-accepted", rule: "17", file: "access.go",
			find: "if err := grants.add(sa, ctx.Done()); err != nil {\n\t\treturn err\n\t}",
			repl: "_ = grants.add(sa, ctx.Done())",
			pkg:  ".", tests: "TestOneRealmHasOneAdminRole",
		},
		{
			name: "admin-role-reload-refused", rule: "17", file: "access.go",
			find: "load != nil && otherLoad == load && ",
			repl: "load != nil && otherLoad != nil && ",
			pkg:  ".", tests: "TestAdminLinkDiesWhenAdminRoleComesToItsAccount",
		},
		{
			name: "step-token-as-reset-link", rule: "17", file: "links.go",
			find: "if g.Kind != onetime.Reset {",
			repl: "if g.Kind == onetime.Invite {",
			pkg:  ".", tests: "TestStepTokenIsNoResetLink",
		},
		{
			name: "links-folder-shared-by-realms", rule: "14", file: "stores.go",
			find: `func linksDir(sessionsDir string) string { return filepath.Join(sessionsDir, "links") }`,
			repl: `func linksDir(sessionsDir string) string { return filepath.Join(sessionsDir, "..", "..", "links") }`,
			pkg:  ".", tests: "TestLinksOfOneRealmMeanNothingInAnother",
		},
	}...)
}
