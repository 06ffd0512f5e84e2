package webform

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func parseJSONBody(body, contentType string) (*Problem, map[string]string) {
	r := httptest.NewRequest(http.MethodPost, "/auth/session", strings.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	var v map[string]string
	return ParseJSON(httptest.NewRecorder(), r, &v), v
}

// TestParseJSONRefusesWhatItWouldHaveToMend: input that encoding/json
// would change quietly (invalid UTF-8, lone surrogate escapes) is refused,
// so two different passwords never read the same.
func TestParseJSONRefusesWhatItWouldHaveToMend(t *testing.T) {
	for _, tc := range []struct {
		name, body, contentType string
		status                  int
		want                    string
	}{
		{"plain", `{"password":"pässword 🔑"}`, "application/json", 0, "pässword 🔑"},
		{"a surrogate pair, escaped", `{"password":"\ud83d\udd11"}`, "application/json", 0, "🔑"},
		{"a high half, then another high half", `{"password":"\ud83d\ud83d"}`, "application/json", http.StatusBadRequest, ""},
		{"a high half at the end", `{"password":"a\ud83d"}`, "application/json", http.StatusBadRequest, ""},
		{"a lone surrogate escape", `{"password":"\ud800abcdefgh"}`, "application/json", http.StatusBadRequest, ""},
		{"a low lone surrogate escape", `{"password":"x\uDFFF"}`, "application/json", http.StatusBadRequest, ""},
		{"a backslash, then text", `{"password":"\\ud800"}`, "application/json", 0, `\ud800`},
		{"an escaped backslash before an escape", `{"password":"\\\ud800"}`, "application/json", http.StatusBadRequest, ""},
		{"other escapes", `{"password":"a\u00e9\n"}`, "application/json", 0, "aé\n"},
		{"invalid UTF-8", "{\"password\":\"\xff\"}", "application/json", http.StatusBadRequest, ""},
		{"two objects", `{"password":"a"} {}`, "application/json", http.StatusBadRequest, ""},
		{"a form", "password=a", "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType, ""},
		{"JSON sent as text/plain", `{"password":"a"}`, "text/plain", http.StatusUnsupportedMediaType, ""},
		{"JSON sent as text/plain with a charset", `{"password":"a"}`, "text/plain;charset=UTF-8", http.StatusUnsupportedMediaType, ""},
		{"no Content-Type", `{"password":"a"}`, "", http.StatusUnsupportedMediaType, ""},
		{"charset", `{"password":"a"}`, "application/json; charset=utf-8", 0, "a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problem, v := parseJSONBody(tc.body, tc.contentType)
			switch {
			case tc.status == 0 && problem != nil:
				t.Fatalf("refused: %+v", problem)
			case tc.status != 0 && (problem == nil || problem.Status != tc.status):
				t.Fatalf("%+v; want %d", problem, tc.status)
			case tc.status == 0 && v["password"] != tc.want:
				t.Fatalf("password %q; want %q", v["password"], tc.want)
			}
		})
	}
}
