package sessionauth

import (
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/caddy-session-auth/caddy-session-auth/users"
	"github.com/caddy-session-auth/caddy-session-auth/webform"
)

func (sa *SessionAuth) serveRegisterForm(w http.ResponseWriter, r *http.Request) error {
	return sa.render(w, r, http.StatusOK, "register.html", pageData{Heading: "Create an account", Next: webform.SafeNext(r.URL.Query().Get("next"))})
}

// handleRegister creates the account and logs it in with a fresh session.
// Every refusal sends the form back with what was typed, but the password.
func (sa *SessionAuth) handleRegister(w http.ResponseWriter, r *http.Request) error {
	form := pageData{
		Heading:  "Create an account",
		Next:     webform.SafeNext(r.PostForm.Get("next")),
		Username: r.PostForm.Get("username"),
	}
	// refuse puts msg next to the field it concerns and in the summary.
	refuse := func(status int, field *string, msg string) error {
		*field, form.Error = msg, msg
		return sa.render(w, r, status, "register.html", form)
	}
	if ok, err := sa.admitClient(w, r); !ok {
		return err
	}
	password := r.PostForm.Get("password")
	username, err := users.Normalize(form.Username)
	if err != nil {
		return refuse(http.StatusBadRequest, &form.UsernameError, err.Error())
	}
	if err := sa.policy.Check(password); err != nil {
		return refuse(http.StatusBadRequest, &form.PasswordError, err.Error())
	}
	if confirm, sent := r.PostForm["password_confirm"]; sent && confirm[0] != password {
		return refuse(http.StatusBadRequest, &form.ConfirmError, "The two passwords are not the same.")
	}
	release, err := sa.admitBcrypt(w, r, "registration")
	if release == nil {
		return err
	}
	hash, err := users.Hash(password, sa.BcryptCost)
	release()
	if err != nil {
		return refuse(http.StatusBadRequest, &form.PasswordError, err.Error())
	}
	err = sa.users.Create(r.Context(), users.Account{Username: username, Hash: hash, Created: now()})
	if errors.Is(err, users.ErrTaken) {
		return refuse(http.StatusConflict, &form.UsernameError, "That username is taken. Choose another.")
	}
	if err != nil {
		return sa.unavailable(w, r, "registration", err)
	}
	sa.logger.Info("account created", zap.String("username", username), zap.String("client_ip", clientIP(r)))
	if err := sa.startSession(w, r, username, false); err != nil {
		return sa.unavailable(w, r, "registration", err)
	}
	return seeOther(w, form.Next)
}
