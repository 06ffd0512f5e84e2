package webform

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// readCounter counts the reads of a request body.
type readCounter struct {
	r     io.Reader
	reads int
}

func (c *readCounter) Read(p []byte) (int, error) {
	c.reads++
	return c.r.Read(p)
}

func TestParseRefusesABodyAnnouncedTooLargeWithoutReadingIt(t *testing.T) {
	atLimit := "a=" + strings.Repeat("b", MaxBytes-2)
	for _, tc := range []struct {
		name      string
		announced int64 // Content-Length; -1: none (chunked)
		body      string
		want      int // 0: accepted
		unread    bool
	}{
		{"announced one over the limit", MaxBytes + 1, "a=1", http.StatusRequestEntityTooLarge, true},
		{"announced 20 MB", 20 << 20, "a=1", http.StatusRequestEntityTooLarge, true},
		{"announced at the limit", MaxBytes, atLimit, 0, false},
		{"unannounced, at the limit", -1, atLimit, 0, false},
		{"unannounced, over the limit", -1, atLimit + "b", http.StatusRequestEntityTooLarge, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := &readCounter{r: strings.NewReader(tc.body)}
			r := httptest.NewRequest(http.MethodPost, "/auth/login", body)
			r.ContentLength = tc.announced
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			problem := Parse(httptest.NewRecorder(), r)
			switch {
			case tc.want == 0 && problem != nil:
				t.Fatalf("refused with %d %q; want accepted", problem.Status, problem.Message)
			case tc.want != 0 && problem == nil:
				t.Fatalf("accepted; want %d", tc.want)
			case tc.want != 0 && problem.Status != tc.want:
				t.Fatalf("refused with %d; want %d", problem.Status, tc.want)
			}
			if tc.unread && body.reads != 0 {
				t.Fatalf("the body was read %d times before the refusal; want none", body.reads)
			}
		})
	}
}

// A client that announces 20 MB and sends 1 KB gets its 413 at once, not
// once the server has waited for (or timed out on) the rest.
func TestFormAnnouncedTooLargeIsAnsweredBeforeItsBodyArrives(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if problem := Parse(w, r); problem != nil {
			http.Error(w, problem.Message, problem.Status)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	// Runs before srv.Close, so a handler stuck reading the body ends.
	t.Cleanup(func() { conn.Close() })
	head := fmt.Sprintf("POST /auth/login HTTP/1.1\r\nHost: site.example\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n", 20<<20)
	if _, err := io.WriteString(conn, head+"username="+strings.Repeat("a", 1024-len("username="))); err != nil {
		t.Fatal(err)
	}
	// The rest of the body never comes; the answer must come anyway.
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer while the body was incomplete: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d; want 413", resp.StatusCode)
	}
}
