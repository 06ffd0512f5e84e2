package sessionauth

import (
	"errors"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// The plugin's metrics live in Caddy's own registry, which Caddy serves on
// its admin endpoint's /metrics: no second endpoint to secure. They are
// made once per process and registered into each config's registry, so a
// reload does not reset them. They are labelled by realm, never by user,
// so their number stays small whatever the number of accounts.
var metrics = struct {
	logins        *prometheus.CounterVec
	loginSeconds  *prometheus.HistogramVec
	registrations *prometheus.CounterVec
	logouts       *prometheus.CounterVec
	gate          *prometheus.CounterVec
	cache         *prometheus.CounterVec
	backendErrors *prometheus.CounterVec
	bcryptRunning prometheus.GaugeFunc
	bcryptWaiting prometheus.GaugeFunc
}{
	logins: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "session_auth", Name: "logins_total",
		Help: "Login attempts by result: ok, wrong, locked, pending, throttled, busy, backend_down.",
	}, []string{"realm", "result"}),
	loginSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "caddy", Subsystem: "session_auth", Name: "login_duration_seconds",
		Help:    "Time to answer a login attempt, bcrypt included.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 10),
	}, []string{"realm"}),
	registrations: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "session_auth", Name: "registrations_total",
		Help: "Accounts made at the registration page or through the JSON API, by result: ok (logged in), pending (waits for approval).",
	}, []string{"realm", "result"}),
	logouts: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "session_auth", Name: "logouts_total",
		Help: "Sessions ended by their user's logout.",
	}, []string{"realm"}),
	gate: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "session_auth", Name: "gate_decisions_total",
		Help: "Protected requests by decision: allowed, redirected (to the login page), refused (401), forbidden (403 by an access rule), backend_down (503).",
	}, []string{"realm", "decision"}),
	cache: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "session_auth", Name: "session_cache_total",
		Help: "Requests with a session cookie answered from the process's memory (hit) or read from the backend (miss).",
	}, []string{"realm", "result"}),
	backendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "session_auth", Name: "backend_errors_total",
		Help: "Requests refused because the backend (Redis or files) failed, by operation.",
	}, []string{"realm", "operation"}),
	bcryptRunning: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "caddy", Subsystem: "session_auth", Name: "bcrypt_running",
		Help: "Password hashes being computed now (at most one per core).",
	}, func() float64 { return float64(bcryptAdmission.Running()) }),
	bcryptWaiting: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "caddy", Subsystem: "session_auth", Name: "bcrypt_waiting",
		Help: "Logins and registrations waiting for a bcrypt slot now.",
	}, func() float64 { return float64(bcryptAdmission.Waiting()) }),
}

// registerMetrics adds the plugin's metrics to a config's registry, once
// however many handlers the config has.
func registerMetrics(reg *prometheus.Registry) error {
	if reg == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{
		metrics.logins, metrics.loginSeconds, metrics.registrations, metrics.logouts,
		metrics.gate, metrics.cache, metrics.backendErrors, metrics.bcryptRunning, metrics.bcryptWaiting,
	} {
		if err := reg.Register(c); err != nil {
			if are := (prometheus.AlreadyRegisteredError{}); !errors.As(err, &are) {
				return err
			}
		}
	}
	return nil
}

// operationLabel makes the operation label of backend_errors_total from
// what unavailable was doing ("password change", "/account page"):
// lower-case words joined by "_" ("password_change", "account_page").
// The callers pass a fixed set of texts, so the label's values are few.
func operationLabel(what string) string {
	words := strings.FieldsFunc(strings.ToLower(what), func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9')
	})
	return strings.Join(words, "_")
}

// gateCounters are one realm's gate decisions, looked up once at
// provision: counting costs the gate an atomic add, no label lookup.
type gateCounters struct {
	allowed, redirected, refused, forbidden, backendDown prometheus.Counter
}

func newGateCounters(realm string) gateCounters {
	c := func(decision string) prometheus.Counter { return metrics.gate.WithLabelValues(realm, decision) }
	return gateCounters{c("allowed"), c("redirected"), c("refused"), c("forbidden"), c("backend_down")}
}

// Login results: the "result" label of logins_total.
const (
	loginOK          = "ok"
	loginWrong       = "wrong"
	loginLocked      = "locked"
	loginPending     = "pending"
	loginThrottled   = "throttled"
	loginBusy        = "busy"
	loginBackendDown = "backend_down"
	// loginSecondStep: the password was right and a second factor is asked
	// next; that step's own outcome is counted again (ok, wrong, locked).
	loginSecondStep = "second_factor"
)
