package main

// The gate's mutants of issue 21: every reading of a path (rule 20), the
// plugin's own cookies (rule 20), identity headers with one of the two
// options set (rule 11), and Vary: Cookie.

func init() {
	set = append(set, []mutant{
		{
			name: "readings-caddy-only", rule: "20", file: "pathreadings.go",
			find: "\tif !readOtherwise(r.URL.Path) {\n", repl: "\tif true {\n",
			pkg: ".", tests: "TestEveryReadingIsJudged|TestAppServersReadingsNeverReachProtectedContent",
		},
		{
			name: "readings-not-for-rules", rule: "20", file: "access.go",
			find: "selects, err := rs.selectedBy(rule.match)", repl: "selects, err := rule.match.AnyMatchWithError(rs.caddy)",
			pkg: ".", tests: "TestEveryReadingIsJudged|TestAppServersReadingsNeverReachProtectedContent",
		},
		{
			name: "readings-not-for-matcher", rule: "20", file: "handler.go",
			find: "rs.selectedBy(sa.protect)", repl: "sa.protect.AnyMatchWithError(rs.caddy)",
			pkg: ".", tests: "TestEveryReadingIsJudged|TestAppServersReadingsNeverReachProtectedContent",
		},
		{
			name: "readings-keep-params", rule: "20", file: "pathreadings.go",
			find: "\t\tseg, _, _ = strings.Cut(seg, \";\")\n", repl: "",
			pkg: ".", tests: "TestEveryReadingIsJudged|TestAppServersReadingsNeverReachProtectedContent",
		},
		{
			name: "readings-keep-backslash", rule: "20", file: "pathreadings.go",
			find: "return strings.ReplaceAll(p, `\\`, \"/\")", repl: "return p",
			pkg: ".", tests: "TestEveryReadingIsJudged|TestAppServersReadingsNeverReachProtectedContent",
		},
		{
			name: "readings-keep-controls", rule: "20", file: "pathreadings.go",
			find: "\t\treturn -1\n", repl: "\t\treturn c\n",
			pkg: ".", tests: "TestEveryReadingIsJudged|TestAppServersReadingsNeverReachProtectedContent",
		},
		{
			name: "readings-no-nul-cut", rule: "20", file: "pathreadings.go",
			find: "\t\tbases = append(bases, p[:i])\n", repl: "",
			pkg: ".", tests: "TestEveryReadingIsJudged",
		},
		{
			name: "own-cookies-passed-on", rule: "20", file: "handler.go",
			find: "\tsa.dropOwnCookies(r.Header)\n\treturn next.ServeHTTP(w, r)", repl: "\treturn next.ServeHTTP(w, r)",
			pkg: ".", tests: "TestOwnCookiesNeverReachTheApp",
		},
		{
			name: "own-cookies-passed-on-public", rule: "20", file: "handler.go",
			find: "\tif !protected {\n\t\treturn sa.passOn(w, r, next, s)\n", repl: "\tif !protected {\n\t\treturn next.ServeHTTP(w, r)\n",
			pkg: ".", tests: "TestOwnCookiesNeverReachTheApp",
		},
		{
			name: "own-cookies-device-kept", rule: "20", file: "owncookies.go",
			find: "return ok && (rest == \"\" || rest[0] == '_')", repl: "return ok && rest == \"\"",
			pkg: ".", tests: "TestOwnCookiesNeverReachTheApp",
		},
		{
			name: "own-cookies-host-kept", rule: "20", file: "owncookies.go",
			find: "\tname = strings.TrimPrefix(name, \"__Host-\")\n", repl: "",
			pkg: ".", tests: "TestOwnCookiesNeverReachTheApp",
		},
		{
			name: "own-cookies-middle-kept", rule: "20", file: "owncookies.go",
			find: "\t\tif start < end && !sa.isOwnCookie(line[start:end]) {\n", repl: "\t\tif start < end {\n",
			pkg: ".", tests: "TestOwnCookiesNeverReachTheApp",
		},
		{
			name: "roles-header-alone-not-stripped", rule: "11", file: "handler.go",
			find: "if sa.userHeader != \"\" || sa.rolesHeader != \"\" {", repl: "if sa.userHeader != \"\" {",
			pkg: ".", tests: "TestEitherIdentityHeaderAloneStillStripsForgedCopies",
		},
		{
			name: "user-header-alone-not-stripped", rule: "11", file: "handler.go",
			find: "if sa.userHeader != \"\" || sa.rolesHeader != \"\" {", repl: "if sa.rolesHeader != \"\" {",
			pkg: ".", tests: "TestEitherIdentityHeaderAloneStillStripsForgedCopies",
		},
		{
			name: "no-vary-cookie", rule: "cache", file: "handler.go",
			find: "\t\th[\"Vary\"] = append(h[\"Vary\"], \"Cookie\")\n", repl: "",
			pkg: ".", tests: "TestResponsesWithASessionVaryByCookie",
		},
	}...)
}
