package sessionauth

import (
	"os"
	"strings"
	"testing"
)

// readmeBlock is the text of the first fenced block in README.md that
// follows the line after, without its fences: tests that run the README's
// own examples read them from there, so the README cannot drift from what
// was tested.
func readmeBlock(t *testing.T, after string) string {
	t.Helper()
	text := readmeText(t)
	i := strings.Index(text, after)
	if i < 0 {
		t.Fatalf("README.md: no %q", after)
	}
	text = text[i:]
	start := strings.Index(text, "\n```")
	if start < 0 {
		t.Fatalf("README.md: no block after %q", after)
	}
	text = text[start+4:]
	text = text[strings.Index(text, "\n")+1:] // past the fence and its language
	end := strings.Index(text, "```")
	if end < 0 {
		t.Fatalf("README.md: the block after %q does not end", after)
	}
	return text[:end]
}

// readmeText is README.md.
func readmeText(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
