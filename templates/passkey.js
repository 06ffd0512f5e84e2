// Passkeys (WebAuthn). The pages mark what this script drives:
//
//   <form method="post" action="<finish URL>" data-passkey="register|login|discoverable"
//         data-options="<options URL>"> … <input type="hidden" name="csrf_token" …>
//     <p data-passkey-error role="alert"></p> <button>…</button></form>
//
// or a submit button carrying data-passkey and data-options inside any form
// (then the button's formaction, if any, is where the form goes; give it
// formnovalidate if the form has required fields a passkey makes moot, and
// data-passkey-skip to a plain submit button of a data-passkey form). On submit
// the script POSTs the form's fields (never a password field, never
// "credential") to the options URL as application/x-www-form-urlencoded,
// same-origin, asks the browser for the passkey with the options JSON it
// gets back, puts the browser's answer (JSON, binary fields base64url) in
// the form's hidden "credential" field and submits the form normally, so
// the server answers with an ordinary page or redirect. Errors show in the
// form's [data-passkey-error] element (or the page's first one).
//
// Elements marked data-passkey-only ship hidden; they are shown only when
// the browser has WebAuthn, so without JS or without passkeys nothing
// offers what cannot work. No inline handlers: fits script-src 'self'.
"use strict";
(function () {
	var supported = !!(window.PublicKeyCredential && navigator.credentials && window.fetch && window.URLSearchParams);
	if (supported) {
		Array.prototype.forEach.call(document.querySelectorAll("[data-passkey-only]"), function (el) {
			el.hidden = false;
		});
	}

	var MESSAGES = {
		NotAllowedError: "The passkey request was cancelled or timed out. Please try again.",
		InvalidStateError: "This device already holds a passkey for this account.",
		NotSupportedError: "This browser or device cannot use this kind of passkey.",
		SecurityError: "Passkeys cannot be used on this address.",
		AbortError: "The passkey request was cancelled.",
		unsupported: "This browser does not support passkeys.",
		options: "The passkey request could not be started. Please reload the page and try again.",
		failed: "The passkey could not be used. Please try again."
	};

	function toBuffer(s) {
		s = String(s).replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
		while (s.length % 4) {
			s += "=";
		}
		var bin = atob(s), out = new Uint8Array(bin.length);
		for (var i = 0; i < bin.length; i++) {
			out[i] = bin.charCodeAt(i);
		}
		return out.buffer;
	}

	function toBase64url(buf) {
		if (!buf) {
			return null;
		}
		var bytes = new Uint8Array(buf), bin = "";
		for (var i = 0; i < bytes.length; i++) {
			bin += String.fromCharCode(bytes[i]);
		}
		return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
	}

	function descriptors(list) {
		return (list || []).map(function (d) {
			var out = { type: d.type, id: toBuffer(d.id) };
			if (d.transports) {
				out.transports = d.transports;
			}
			return out;
		});
	}

	// The server's options JSON is {publicKey: {...}, mediation?}: binary
	// members arrive base64url and the browser wants ArrayBuffers.
	function decodeOptions(kind, json) {
		var pk = json && json.publicKey;
		if (!pk || !pk.challenge) {
			throw new Error("options");
		}
		pk.challenge = toBuffer(pk.challenge);
		if (kind === "register") {
			if (!pk.user || !pk.user.id) {
				throw new Error("options");
			}
			pk.user.id = toBuffer(pk.user.id);
			pk.excludeCredentials = descriptors(pk.excludeCredentials);
		} else {
			pk.allowCredentials = descriptors(pk.allowCredentials);
		}
		var out = { publicKey: pk };
		if (json.mediation) {
			out.mediation = json.mediation;
		}
		return out;
	}

	function encodeCredential(cred) {
		var r = cred.response, response = { clientDataJSON: toBase64url(r.clientDataJSON) };
		if (r.attestationObject) {
			response.attestationObject = toBase64url(r.attestationObject);
			if (typeof r.getTransports === "function") {
				response.transports = r.getTransports();
			}
		} else {
			response.authenticatorData = toBase64url(r.authenticatorData);
			response.signature = toBase64url(r.signature);
			if (r.userHandle && r.userHandle.byteLength) {
				response.userHandle = toBase64url(r.userHandle);
			}
		}
		var out = {
			id: cred.id,
			rawId: toBase64url(cred.rawId),
			type: cred.type,
			response: response,
			clientExtensionResults: typeof cred.getClientExtensionResults === "function" ? cred.getClientExtensionResults() : {}
		};
		if (cred.authenticatorAttachment) {
			out.authenticatorAttachment = cred.authenticatorAttachment;
		}
		return JSON.stringify(out);
	}

	function errorBox(form) {
		return form.querySelector("[data-passkey-error]") || document.querySelector("[data-passkey-error]");
	}

	function showError(form, key) {
		var box = errorBox(form);
		if (box) {
			box.textContent = MESSAGES[key] || MESSAGES.failed;
			box.hidden = false;
		}
	}

	function credentialField(form) {
		var field = form.querySelector('input[name="credential"]');
		if (!field) {
			field = document.createElement("input");
			field.type = "hidden";
			field.name = "credential";
			form.appendChild(field);
		}
		return field;
	}

	// The fields the options request carries: the form's own (csrf_token,
	// a passkey's name, the passwordless choice), never a password.
	function optionsBody(form) {
		var body = new URLSearchParams();
		Array.prototype.forEach.call(form.elements, function (el) {
			if (!el.name || el.disabled || el.name === "credential" || el.type === "password" ||
				el.type === "submit" || el.type === "button" || el.type === "file" ||
				((el.type === "checkbox" || el.type === "radio") && !el.checked)) {
				return;
			}
			body.append(el.name, el.value);
		});
		return body;
	}

	var busy = false, passing = false;

	document.addEventListener("submit", function (ev) {
		if (passing) {
			return;
		}
		var form = ev.target, submitter = ev.submitter || null, el = null;
		if (submitter && submitter.hasAttribute("data-passkey")) {
			el = submitter;
		} else if (form.hasAttribute && form.hasAttribute("data-passkey") &&
			!(submitter && submitter.hasAttribute("data-passkey-skip"))) {
			el = form;
		}
		if (!el) {
			return;
		}
		ev.preventDefault();
		if (!supported) {
			showError(form, "unsupported");
			return;
		}
		if (busy) {
			return;
		}
		var kind = el.getAttribute("data-passkey"), url = el.getAttribute("data-options");
		if (!url || ["register", "login", "discoverable"].indexOf(kind) < 0) {
			showError(form, "options");
			return;
		}
		var box = errorBox(form);
		if (box) {
			box.textContent = "";
		}
		busy = true;
		fetch(url, {
			method: "POST",
			credentials: "same-origin",
			headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json" },
			body: optionsBody(form).toString()
		}).then(function (resp) {
			if (!resp.ok) {
				throw new Error("options");
			}
			return resp.json();
		}).catch(function () {
			throw new Error("options");
		}).then(function (json) {
			var options = decodeOptions(kind, json);
			return kind === "register" ? navigator.credentials.create(options) : navigator.credentials.get(options);
		}).then(function (cred) {
			if (!cred) {
				throw new Error("NotAllowedError");
			}
			credentialField(form).value = encodeCredential(cred);
			busy = false;
			if (el !== form && typeof form.requestSubmit === "function") {
				// Submits as that button would (its formaction, its
				// name=value), passing this handler by.
				passing = true;
				try {
					form.requestSubmit(el);
				} finally {
					passing = false;
				}
				return;
			}
			if (el !== form) {
				var action = el.getAttribute("formaction");
				if (action) {
					form.setAttribute("action", action);
				}
				if (el.name) {
					var extra = document.createElement("input");
					extra.type = "hidden";
					extra.name = el.name;
					extra.value = el.value;
					form.appendChild(extra);
				}
			}
			HTMLFormElement.prototype.submit.call(form);
		}).catch(function (err) {
			busy = false;
			var name = err && (err.name !== "Error" ? err.name : err.message);
			showError(form, name === "TypeError" ? "options" : name);
		});
	});
})();
