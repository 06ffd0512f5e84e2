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
//	go run ./internal/mutants -baseline=false  # right after the tests passed
//	go run ./internal/mutants -parallel 1      # one at a time (default 2)
//
// A mutant whose text is no longer in its file fails the run too: the code
// changed, and the mutant must be brought up to date with it.
//
// A mutant is killed only by a named test failure ("--- FAIL: TestX") of a
// test its -run pattern selects. A test binary that fails without one (it
// did not start, TestMain found no redis-server, a timeout) proves nothing
// about the mutant, and is an error. For the same reason the run first
// checks that the selected tests pass on the clean code (-baseline, on by
// default): on code whose tests fail already, every mutant would look
// killed.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"iter"
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
	baseline := flag.Bool("baseline", true, "first run each selected set of tests on the clean code, and stop if any fails")
	parallel := flag.Int("parallel", 2, "how many mutants to build and test at once (the tests listen on free ports, so runs never meet)")
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
	if *baseline {
		if err := checkBaseline(picked, *timeout); err != nil {
			fmt.Fprintln(os.Stderr, "mutants:", err)
			os.Exit(2)
		}
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
	for r := range runAll(picked, scratch, *timeout, *parallel) {
		verdict := strings.Join(r.caught, ", ")
		switch {
		case r.err != nil:
			broken++
			verdict = "ERROR: " + r.err.Error()
		case len(r.caught) == 0:
			survived++
			verdict = "SURVIVED"
		}
		fmt.Printf("| %s | %s | %s | %.0f s |\n", r.m.name, r.m.rule, verdict, r.took.Seconds())
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

// checkBaseline runs each distinct set of tests of the picked mutants on
// the clean code, and fails unless every one passes.
func checkBaseline(picked []mutant, timeout time.Duration) error {
	type tests struct{ pkg, run string }
	seen := map[tests]bool{}
	for _, m := range picked {
		k := tests{m.pkg, m.tests}
		if seen[k] {
			continue
		}
		seen[k] = true
		began := time.Now()
		out, failed, err := goTest(m.pkg, m.tests, "", timeout)
		if err != nil {
			return fmt.Errorf("baseline %s -run %s: %v", m.pkg, m.tests, err)
		}
		if failed {
			return fmt.Errorf("baseline %s -run %s: the tests fail on the clean code, so no mutant run can prove anything:\n%s", m.pkg, m.tests, tail(out, 40))
		}
		fmt.Fprintf(os.Stderr, "baseline %s -run %s: pass (%.0f s)\n", m.pkg, m.tests, time.Since(began).Seconds())
	}
	return nil
}

// goTest runs the tests of pkg that pattern selects, with the overlay if
// one is given, and tells whether the test binary failed; err is for a
// run that says nothing about the tests (no build, no test selected, past
// the timeout).
func goTest(pkg, pattern, overlay string, timeout time.Duration) (out []byte, failed bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	args := []string{"test", "-count=1"}
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	args = append(args, "-run", pattern, pkg)
	out, err = exec.CommandContext(ctx, "go", args...).CombinedOutput()
	if ctx.Err() != nil {
		return out, false, fmt.Errorf("tests ran past %s", timeout)
	}
	if bytes.Contains(out, []byte("[build failed]")) || bytes.Contains(out, []byte("[setup failed]")) {
		return out, false, fmt.Errorf("does not build: %s", firstLine(out))
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return out, false, err
	}
	if bytes.Contains(out, []byte("no tests to run")) {
		return out, false, fmt.Errorf("-run %s matches no test in %s", pattern, pkg)
	}
	return out, err != nil, nil
}

// run builds and tests one mutant and returns the tests that caught it
// (see kills).
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
	out, failed, err := goTest(m.pkg, m.tests, overlayFile, timeout)
	if err != nil {
		if strings.HasPrefix(err.Error(), "does not build") {
			return nil, fmt.Errorf("the mutant %v", err)
		}
		return nil, err
	}
	return kills(out, failed, m.tests)
}

// kills reads the output of a test binary run with -run pattern, failed
// if it exited with an error, and returns the tests that failed: only
// tests that the pattern selects, each named by a --- FAIL line. A binary
// that failed without naming one (TestMain gave up, a timeout, a panic
// outside a test) says nothing about the mutant: that is an error, not a
// kill.
func kills(out []byte, failed bool, pattern string) ([]string, error) {
	selected, err := regexp.Compile(topLevel(pattern))
	if err != nil {
		return nil, fmt.Errorf("-run %s: %v", pattern, err)
	}
	caught := map[string]bool{}
	for _, match := range failedTest.FindAllSubmatch(out, -1) {
		name := string(match[1])
		if i := strings.IndexByte(name, '/'); i >= 0 {
			name = name[:i] // the test, not each subtest
		}
		if selected.MatchString(name) {
			caught[name] = true
		}
	}
	if failed && len(caught) == 0 {
		return nil, fmt.Errorf("the test binary failed, but no test that -run %s selects did: %s", pattern, firstLine(out))
	}
	names := make([]string, 0, len(caught))
	for n := range caught {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// topLevel is the part of a -run pattern that go test matches against
// top-level test names: up to the first slash outside brackets and
// parentheses (the rest selects subtests).
func topLevel(pattern string) string {
	depth := 0
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '\\':
			i++
		case '[', '(':
			depth++
		case ']', ')':
			depth--
		case '/':
			if depth == 0 {
				return pattern[:i]
			}
		}
	}
	return pattern
}

// tail is the last n lines of out.
func tail(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
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

// result is one mutant's run.
type result struct {
	m      mutant
	caught []string
	err    error
	took   time.Duration
}

// runAll runs the mutants, n at a time, and yields their results in the
// set's order. Most of a mutant's time is building and linking its test
// binary, which leaves a core idle while the other one's tests wait on
// Redis and Caddy: two at a time on two cores take about half as long.
func runAll(picked []mutant, scratch string, timeout time.Duration, n int) iter.Seq[result] {
	return func(yield func(result) bool) {
		done := make([]chan result, len(picked))
		for i := range done {
			done[i] = make(chan result, 1)
		}
		next := make(chan int)
		go func() {
			defer close(next)
			for i := range picked {
				next <- i
			}
		}()
		for range max(n, 1) {
			go func() {
				for i := range next {
					began := time.Now()
					caught, err := run(picked[i], scratch, timeout)
					done[i] <- result{picked[i], caught, err, time.Since(began)}
				}
			}()
		}
		for i := range picked {
			if !yield(<-done[i]) {
				return
			}
		}
	}
}
