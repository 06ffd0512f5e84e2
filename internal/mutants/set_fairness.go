package main

// Rule 19, first half: one client cannot starve the others. A known
// device's own budget is checked before any bcrypt work, and once spent
// the device meets the client's limit; bcrypt admission is shared fairly
// per client; live sessions per account are capped, oldest ended first.
func init() {
	set = append(set, []mutant{
		{
			name: "device-budget-after-bcrypt", rule: "19", file: "login.go",
			find: "\tif device != \"\" && locked {\n\t\treturn sa.deviceSpent(w, r, form, username, lock)\n\t}\n",
			repl: "",
			pkg:  ".", tests: "TestAKnownDeviceWithItsBudgetSpentCostsNoBcrypt",
		},
		{
			name: "device-spent-skips-client-limit", rule: "19", file: "login.go",
			find: "\tif result, err := sa.clientRefused(w, r); result != \"\" {\n\t\treturn result, err\n\t}\n\treturn sa.loginFailed(w, r, form, username, lock, false, \"locked\")",
			repl: "\treturn sa.loginFailed(w, r, form, username, lock, false, \"locked\")",
			pkg:  ".", tests: "TestAKnownDeviceWithItsBudgetSpentIsHeldToTheClientLimit",
		},
		{
			name: "admission-client-takes-every-slot", rule: "19", file: "internal/throttle/admission.go",
			find: "perClient: max(1, running/2),", repl: "perClient: running,",
			pkg: "./internal/throttle", tests: "TestAdmission",
		},
		{
			name: "admission-client-takes-the-whole-queue", rule: "19", file: "internal/throttle/admission.go",
			find: "perQueue:  max(1, waiting/4),", repl: "perQueue:  waiting,",
			pkg: "./internal/throttle", tests: "TestAdmission",
		},
		{
			name: "admission-freed-slot-ignores-shares", rule: "19", file: "internal/throttle/admission.go",
			find: "return a.clients[w.client].running < a.perClient", repl: "return true",
			pkg: "./internal/throttle", tests: "TestAdmission",
		},
		{
			name: "admission-over-share-never-evicted", rule: "19", file: "internal/throttle/admission.go",
			find: "if len(a.waiters) >= a.queue && (c.waiting >= a.perQueue || !a.evict()) {",
			repl: "if len(a.waiters) >= a.queue {",
			pkg:  "./internal/throttle", tests: "TestAdmission",
		},
		{
			name: "admission-evicts-any-over-share-client", rule: "19", file: "internal/throttle/admission.go",
			find: "if c := a.clients[w.client]; c.waiting == most {",
			repl: "if c := a.clients[w.client]; c.waiting > a.perQueue {",
			pkg:  "./internal/throttle", tests: "TestAdmission",
		},
		{
			name: "admission-freed-slot-left-idle", rule: "19", file: "internal/throttle/admission.go",
			find: "i = 0 // only clients at their share wait: one of them, not an idle slot",
			repl: "return",
			pkg:  "./internal/throttle", tests: "TestAdmission",
		},
		{
			name: "admission-release-not-idempotent", rule: "19", file: "internal/throttle/admission.go",
			find: "\tvar once sync.Once\n\treturn func() {\n",
			repl: "\treturn func() {\n\t\tvar once sync.Once\n",
			pkg:  "./internal/throttle", tests: "TestAdmission",
		},
		{
			name: "admission-one-key-for-every-client", rule: "19", file: "throttling.go",
			find: "func admissionKey(r *http.Request) string { return throttle.ClientKey(clientIP(r)) }",
			repl: "func admissionKey(r *http.Request) string { return \"\" }",
			pkg:  ".", tests: "TestOneClientHammeringCannotStarveAnotherClientsLogins",
		},
		{
			name: "sessions-cap-not-enforced", rule: "19", file: "internal/session/cap.go",
			find: "if err != nil || len(live) <= m.cfg.MaxPerUser {", repl: "if err != nil || true {",
			pkg: ".", tests: "TestALoginPastMaxSessionsEndsTheOldestSession",
		},
		{
			name: "sessions-cap-ends-the-newest", rule: "19", file: "internal/session/cap.go",
			find: "slices.SortFunc(older, oldestFirst)",
			repl: "slices.SortFunc(older, func(a, b Stored) int { return oldestFirst(b, a) })",
			pkg:  ".", tests: "TestALoginPastMaxSessionsEndsTheOldestSession",
		},
		{
			name: "sessions-cap-ends-the-new-session", rule: "19", file: "internal/session/cap.go",
			find: "return st.ID == made.ID || st.Created.After(made.Created)",
			repl: "return st.Created.After(made.Created)",
			pkg:  "./internal/session", tests: "TestStartPastMaxSessionsEndsTheOldestFirst|TestMaxSessions",
		},
	}...)
}
