package main

// Passwordless starts keep no server state (passkeystart.go): the start
// cookie opens only with the realm's own keys, a verified answer's
// challenge is recorded so that it logs in once, and the record is made
// atomically. Redis Sentinel: a pooled connection idle past the check
// interval is asked ROLE before reuse.
func init() {
	set = append(set, []mutant{
		{
			name: "passkey-start-cookie-unkeyed", rule: "14", file: "keyed.go",
			find: "k.starts = append(k.starts, startCodec(key))", repl: "k.starts = append(k.starts, startCodec(nil))",
			pkg: ".", tests: "TestAPasswordlessStartOfAnotherRealmIsRefused",
		},
		{
			name: "passkey-challenge-not-recorded", rule: "2fa", file: "passkeys.go",
			find: "switch fresh, err := sa.spendStart(ctx, start); {", repl: "switch fresh, err := true, error(nil); {",
			pkg: ".", tests: "TestAPasswordlessStartLogsInOnce",
		},
		{
			name: "spent-file-not-exclusive", rule: "2fa", file: "internal/atomicfile/fs.go",
			find: "f.OpenFile(n[0], os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)", repl: "f.OpenFile(n[0], os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)",
			pkg: "./internal/onetime", tests: "TestASpentValueIsFreshOnce|TestOnlyOneOfSimultaneousSpendsIsFresh",
		},
		{
			name: "spent-redis-key-overwritten", rule: "2fa", file: "internal/onetime/redis.go",
			find: `"SET", s.spent+hash(value), "1", "NX", "PX", ttl)`, repl: `"SET", s.spent+hash(value), "1", "PX", ttl)`,
			pkg: "./internal/onetime", tests: "TestASpentValueIsFreshOnce|TestOnlyOneOfSimultaneousSpendsIsFresh",
		},
		{
			name: "sentinel-idle-role-check-skipped", rule: "sentinel", file: "internal/redisconn/redisconn.go",
			find: "\t\t\t\treturn checkMaster(c)\n", repl: "\t\t\t\treturn nil\n",
			pkg: "./internal/redisconn", tests: "TestSentinelPoolRechecksAnIdleConnectionForTheMasterRole",
		},
	}...)
}
