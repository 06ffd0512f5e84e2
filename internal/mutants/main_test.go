package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestOnlyANamedFailureOfASelectedTestKillsAMutant: a mutant counts as
// killed only when a test that its -run pattern selects fails by name. A
// test binary that fails for any other reason (no redis-server for
// TestMain, a timeout, a panic outside a test) says nothing about the
// mutant and must be reported as an error, or every mutant of a broken
// setup would look killed.
func TestOnlyANamedFailureOfASelectedTestKillsAMutant(t *testing.T) {
	for _, tc := range []struct {
		name    string
		out     string
		failed  bool
		pattern string
		want    []string // the kills; nil with wantErr
		wantErr bool
	}{
		{"the tests pass: the mutant survived", "ok  \tpkg\t1.2s\n", false, "TestA", []string{}, false},
		{"a selected test fails", "--- FAIL: TestA (0.01s)\n    a_test.go:3: broken\nFAIL\nFAIL\tpkg\t0.1s\n", true, "TestA|TestB", []string{"TestA"}, false},
		{"two selected tests fail", "--- FAIL: TestB (0.01s)\n--- FAIL: TestA (0.01s)\nFAIL\n", true, "TestA|TestB", []string{"TestA", "TestB"}, false},
		{"a subtest fails: its test is named", "--- FAIL: TestA (0.02s)\n    --- FAIL: TestA/files (0.01s)\nFAIL\n", true, "TestA", []string{"TestA"}, false},
		{"only a subtest line", "    --- FAIL: TestA/redis (0.01s)\nFAIL\n", true, "TestA", []string{"TestA"}, false},
		{"a pattern that selects subtests", "--- FAIL: TestA (0.02s)\n    --- FAIL: TestA/files (0.01s)\n", true, "TestA/files", []string{"TestA"}, false},
		{"TestMain gave up: no redis-server", "FAIL: the tests need a real redis-server: exec: not found\nFAIL\tpkg\t0.01s\n", true, "TestA", nil, true},
		{"a timeout", "panic: test timed out after 10m0s\n\trunning tests:\n\t\tTestA (10m0s)\n", true, "TestA", nil, true},
		{"a failure of a test the pattern does not select", "--- FAIL: TestOther (0.01s)\nFAIL\n", true, "TestA", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := kills([]byte(tc.out), tc.failed, tc.pattern)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("kills = %q, nil; want an error: the binary failed without a selected test failing", got)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("kills = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestTopLevelPattern: go test matches a -run pattern's part before the
// first slash outside brackets and parentheses against test names.
func TestTopLevelPattern(t *testing.T) {
	for pattern, want := range map[string]string{
		"TestA|TestB":    "TestA|TestB",
		"TestA/files":    "TestA",
		"Test[/]A/x":     "Test[/]A",
		"Test(a/b)|C/x":  "Test(a/b)|C",
		`Test\/A/x`:      `Test\/A`,
		"TestA/files/x":  "TestA",
		"^TestExactly$":  "^TestExactly$",
		"":               "",
		"/only-subtests": "",
	} {
		if got := topLevel(pattern); got != want {
			t.Errorf("topLevel(%q) = %q, want %q", pattern, got, want)
		}
	}
}

// TestBaselineStopsOnTestsThatFailOnCleanCode: the baseline runs each
// mutant's tests on the clean code and refuses to go on when they fail
// there, since every mutant would then look killed; tests that pass let
// the run go on.
func TestBaselineStopsOnTestsThatFailOnCleanCode(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"go.mod":                 "module example.test/m\n\ngo 1.22\n",
		"good/good_test.go":      "package good\n\nimport \"testing\"\n\nfunc TestGood(t *testing.T) {}\n",
		"bad/bad_test.go":        "package bad\n\nimport \"testing\"\n\nfunc TestBad(t *testing.T) { t.Fatal(\"fails on clean code\") }\n",
		"nomain/nomain_test.go":  "package nomain\n\nimport (\n\t\"os\"\n\t\"testing\"\n)\n\nfunc TestMain(m *testing.M) { os.Exit(1) }\n\nfunc TestAny(t *testing.T) {}\n",
		"good/doc.go":            "package good\n",
		"bad/doc.go":             "package bad\n",
		"nomain/doc.go":          "package nomain\n",
		"unselected/u_test.go":   "package unselected\n\nimport \"testing\"\n\nfunc TestU(t *testing.T) {}\n",
		"unselected/unselect.go": "package unselected\n",
	} {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	good := mutant{name: "g", pkg: "./good", tests: "TestGood"}
	if err := checkBaseline([]mutant{good, good}, time.Minute); err != nil {
		t.Fatalf("baseline of passing tests: %v", err)
	}
	for _, tc := range []struct {
		m    mutant
		want string
	}{
		{mutant{name: "b", pkg: "./bad", tests: "TestBad"}, "fail on the clean code"},
		{mutant{name: "n", pkg: "./nomain", tests: "TestAny"}, "fail on the clean code"},
		{mutant{name: "u", pkg: "./unselected", tests: "TestNothingHere"}, "matches no test"},
	} {
		err := checkBaseline([]mutant{good, tc.m}, time.Minute)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("baseline with %s -run %s: %v; want an error saying %q", tc.m.pkg, tc.m.tests, err, tc.want)
		}
	}
}
