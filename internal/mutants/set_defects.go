package main

// Issue 21, items 5, 6 and 8: the audit log's names, the unlock line's
// logger, the JSON API's media type, the login step's cookie, and the
// client limit on the account page's password checks.
func init() {
	set = append(set, []mutant{
		{
			name: "audit-unknown-name-in-clear", rule: "13", file: "login.go",
			find: "\tcase \"unknown_user\":\n\t\tuser, named = \"\", []zap.Field{sa.unknownName(username)}",
			repl: "\tcase \"unknown_user\":\n\t\tnamed = []zap.Field{sa.unknownName(username)}",
			pkg:  ".", tests: "TestAuditLogKeepsOnlyAHashOfNamesNobodyHas",
		},
		{
			name: "audit-invalid-name-in-clear", rule: "13", file: "login.go",
			find: "user, named = \"\", []zap.Field{sa.unknownName(form.Username)}",
			repl: "user, named = form.Username, []zap.Field{sa.unknownName(form.Username)}",
			pkg:  ".", tests: "TestAuditLogKeepsOnlyAHashOfNamesNobodyHas",
		},
		{
			name: "audit-name-hash-unkeyed", rule: "13", file: "audit.go",
			find: "mac := hmac.New(sha256.New, k.names)", repl: "mac := hmac.New(sha256.New, k.names[:0])",
			pkg: ".", tests: "TestAuditLogKeepsOnlyAHashOfNamesNobodyHas",
		},
		{
			name: "unlock-line-on-the-default-logger", rule: "17", file: "admin.go",
			find: "audit(a.audit, r,", repl: "audit(caddy.Log().Named(auditLogger), r,",
			pkg: ".", tests: "TestUnlockLineReachesTheAuditLogOfTheREADMEsLogBlock",
		},
		{
			name: "api-takes-text-plain", rule: "8", file: "internal/webform/json.go",
			find: "return err == nil && mt == \"application/json\"",
			repl: "return err == nil && (mt == \"application/json\" || mt == \"text/plain\")",
			pkg:  ".", tests: "TestJSONAPIRefusesTextPlain",
		},
		{
			name: "api-logout-takes-any-type", rule: "8", file: "api.go",
			find: "!hasBody && ct != \"\" && !webform.IsJSON(ct)", repl: "false && ct != \"\"",
			pkg: ".", tests: "TestJSONAPIRefusesTextPlain",
		},
		{
			name: "step-cookie-samesite-lax", rule: "8", file: "step.go",
			find: "SameSite: http.SameSiteStrictMode,", repl: "SameSite: http.SameSiteLaxMode,",
			pkg: ".", tests: "TestStepCookieAttributes",
		},
		{
			name: "step-cookie-not-httponly", rule: "1", file: "step.go",
			find: "HttpOnly: true,", repl: "HttpOnly: false,",
			pkg: ".", tests: "TestStepCookieAttributes",
		},
		{
			name: "step-cookie-not-secure-over-https", rule: "1", file: "step.go",
			find: "Secure:   sa.secure(r),", repl: "Secure:   false,",
			pkg: ".", tests: "TestStepCookieAttributes",
		},
		{
			name: "account-page-wrong-password-not-counted-for-the-client", rule: "19", file: "account.go",
			find: "\tif err := sa.countClientFailure(ctx, r); err != nil {\n\t\treturn false, true, sa.unavailable(w, r, \"password check\", err)\n\t}\n",
			repl: "",
			pkg:  ".", tests: "TestAccountPageWrongPasswordsCountAgainstTheClient",
		},
		{
			name: "redis-client-ca-refusal-unexplained", rule: "12", file: "internal/redisconn/redisconn.go",
			find: "slices.Contains(clientCertAlerts, alert)", repl: "slices.Contains(clientCertAlerts[:1], alert)",
			pkg: "./internal/redisconn", tests: "TestTLSWithClientCertificatesAndACLUsers",
		},
	}...)
}
