// Command mutants proves that the tests guard the security rules: it breaks
// each rule of DESIGN.md on purpose, with the smallest change that breaks
// it (a mutant, listed in set.go), runs the tests that should notice, and
// fails when any mutant survives, that is when those tests still pass.
//
// Each mutant is built with `go test -overlay`, which swaps one source file
// for its mutated copy at build time: the tree is never touched, and an
// interrupted run leaves nothing behind. Tests run without -race, so the
// whole set takes minutes. Run it from the repository root:
//
//	go run ./internal/mutants            # every mutant; prints a table
//	go run ./internal/mutants -run lock  # mutants whose name matches
//	go run ./internal/mutants -list      # the set, without running it
//
// A mutant whose text is no longer in its file fails the run too: the code
// changed, and the mutant must be brought up to date with it.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// mutant is one deliberate break of one rule.
type mutant struct {
	name  string // short, unique
	rule  string // the DESIGN.md rule it breaks ("5"), or the guarantee
	file  string // from the repository root
	find  string // text that occurs exactly once in file
	repl  string // what it becomes
	pkg   string // the package whose tests should catch it ("." or "./internal/session")
	tests string // -run pattern of those tests
}

func main() {
	list := flag.Bool("list", false, "print the set and exit")
	only := flag.String("run", "", "run only the mutants whose name matches this regular expression")
	timeout := flag.Duration("timeout", 10*time.Minute, "longest one mutant's tests may run")
	flag.Parse()
	if err := check(set); err != nil {
		fmt.Fprintln(os.Stderr, "mutants:", err)
		os.Exit(2)
	}
	picked := set
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mutants: -run:", err)
			os.Exit(2)
		}
		picked = nil
		for _, m := range set {
			if re.MatchString(m.name) {
				picked = append(picked, m)
			}
		}
	}
	if *list {
		for _, m := range picked {
			fmt.Printf("%-32s rule %-4s %s  (%s -run %s)\n", m.name, m.rule, m.file, m.pkg, m.tests)
		}
		return
	}
	scratch, err := os.MkdirTemp("", "mutants-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutants:", err)
		os.Exit(2)
	}
	defer os.RemoveAll(scratch)

	fmt.Println("| mutant | rule | caught by | time |")
	fmt.Println("| --- | --- | --- | ---: |")
	survived, broken := 0, 0
	start := time.Now()
	for _, m := range picked {
		began := time.Now()
		caught, err := run(m, scratch, *timeout)
		verdict := strings.Join(caught, ", ")
		switch {
		case err != nil:
			broken++
			verdict = "ERROR: " + err.Error()
		case len(caught) == 0:
			survived++
			verdict = "SURVIVED"
		}
		fmt.Printf("| %s | %s | %s | %.0f s |\n", m.name, m.rule, verdict, time.Since(began).Seconds())
	}
	fmt.Printf("\n%d mutants, %d killed, %d survived, %d could not run, in %s\n",
		len(picked), len(picked)-survived-broken, survived, broken, time.Since(start).Round(time.Second))
	if survived > 0 || broken > 0 {
		os.Exit(1)
	}
}

// check refuses a set with duplicate names or stale mutants.
func check(set []mutant) error {
	seen := map[string]bool{}
	for _, m := range set {
		if seen[m.name] {
			return fmt.Errorf("two mutants are called %s", m.name)
		}
		seen[m.name] = true
		src, err := os.ReadFile(m.file)
		if err != nil {
			return fmt.Errorf("%s: %v", m.name, err)
		}
		if n := bytes.Count(src, []byte(m.find)); n != 1 {
			return fmt.Errorf("%s: its text occurs %d times in %s, not once: bring the mutant up to date with the code", m.name, n, m.file)
		}
	}
	return nil
}

var failedTest = regexp.MustCompile(`(?m)^\s*--- FAIL: (\S+)`)

// run builds and tests one mutant and returns the tests that failed.
func run(m mutant, scratch string, timeout time.Duration) ([]string, error) {
	src, err := os.ReadFile(m.file)
	if err != nil {
		return nil, err
	}
	mutated := filepath.Join(scratch, m.name+"-"+filepath.Base(m.file))
	if err := os.WriteFile(mutated, bytes.Replace(src, []byte(m.find), []byte(m.repl), 1), 0o600); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(m.file)
	if err != nil {
		return nil, err
	}
	overlay, _ := json.Marshal(map[string]map[string]string{"Replace": {abs: mutated}})
	overlayFile := filepath.Join(scratch, m.name+".json")
	if err := os.WriteFile(overlayFile, overlay, 0o600); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-overlay", overlayFile, "-run", m.tests, m.pkg)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("tests ran past %s", timeout)
	}
	if bytes.Contains(out, []byte("[build failed]")) || bytes.Contains(out, []byte("[setup failed]")) {
		return nil, fmt.Errorf("the mutant does not build: %s", firstLine(out))
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return nil, err
	}
	if bytes.Contains(out, []byte("no tests to run")) {
		return nil, fmt.Errorf("-run %s matches no test in %s", m.tests, m.pkg)
	}
	caught := map[string]bool{}
	for _, match := range failedTest.FindAllSubmatch(out, -1) {
		name := string(match[1])
		if i := strings.IndexByte(name, '/'); i >= 0 {
			name = name[:i] // the test, not each subtest
		}
		caught[name] = true
	}
	if err != nil && len(caught) == 0 {
		caught["(the test binary failed: "+firstLine(out)+")"] = true
	}
	names := make([]string, 0, len(caught))
	for n := range caught {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

func firstLine(out []byte) string {
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "{") {
			return line
		}
	}
	return ""
}
