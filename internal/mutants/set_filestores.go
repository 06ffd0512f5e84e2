package main

// The file backend's stores written by two processes, the server and the
// command (issue 21's review, H1), and the command's confined file system
// as root (M3): a change of one is never undone by the other's write, a
// login loop does not keep rewriting the users file, and the anchor of a
// confined file system is neither a symlink nor reopened once in use.
func init() {
	set = append(set, []mutant{
		{
			name: "users-file-not-locked", rule: "files", file: "users/file.go",
			find: "unlock, err := s.files.LockFolder(ctx, filepath.Dir(s.path))",
			repl: "unlock, err := func() {}, error(nil)",
			pkg:  "./users", tests: "TestFileStoreKeepsEveryChangeOfAnotherProcess|TestHelperProcess",
		},
		{
			name: "users-file-unlocked-before-write", rule: "files", file: "users/file.go",
			find: "\tdefer unlock()\n\ts.state.info = nil", repl: "\tunlock()\n\ts.state.info = nil",
			pkg: "./users", tests: "TestFileStoreKeepsEveryChangeOfAnotherProcess|TestHelperProcess",
		},
		{
			name: "last-login-written-every-login", rule: "files", file: "lastlogin.go",
			find: "since >= 0 && since < lastLoginGranularity", repl: "false && since < lastLoginGranularity",
			pkg: ".", tests: "TestLastLoginIsWrittenAtMostOnceAMinute",
		},
		{
			name: "confined-anchor-symlink-followed", rule: "cli", file: "internal/atomicfile/fs.go",
			find: "if p == anchor || !trusted(info) {", repl: "if !trusted(info) {",
			pkg: "./internal/atomicfile", tests: "TestConfinedFSRefusesAnAnchorThatIsASymlink",
		},
		{
			name: "confined-anchor-reopened-per-operation", rule: "cli", file: "internal/atomicfile/fs.go",
			find: "\tr.root = root\n", repl: "",
			pkg: "./internal/atomicfile", tests: "TestConfinedFSKeepsTheAnchorItOpened",
		},
	}...)
}
