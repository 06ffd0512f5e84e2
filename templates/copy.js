// Copy buttons: <button type="button" data-copy="ID" hidden>Copy</button>
// copies the value of the field with that id, or the text of each <code>
// in the element with that id, one a line. The pages ship the buttons
// hidden, so without this script (or without a way to copy) nothing
// offers what cannot work, and the text stays there to select by hand.
// An element marked data-copy-status="ID" says whether it worked. No
// inline handlers: fits script-src 'self'.
"use strict";
(function () {
	var clipboard = !!(navigator.clipboard && navigator.clipboard.writeText && window.isSecureContext);
	var legacy = !!(document.queryCommandSupported && document.queryCommandSupported("copy"));
	if (!clipboard && !legacy) {
		return;
	}

	function textOf(el) {
		if ("value" in el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA")) {
			return el.value;
		}
		var codes = el.querySelectorAll("code");
		if (codes.length === 0) {
			return el.textContent.trim();
		}
		return Array.prototype.map.call(codes, function (c) { return c.textContent.trim(); }).join("\n");
	}

	// copyLegacy copies through a selection, for browsers without the
	// asynchronous clipboard (plain http).
	function copyLegacy(text) {
		var area = document.createElement("textarea");
		area.value = text;
		area.setAttribute("readonly", "");
		area.className = "copy-buffer";
		document.body.appendChild(area);
		area.select();
		var ok = false;
		try {
			ok = document.execCommand("copy");
		} catch (e) {
			ok = false;
		}
		document.body.removeChild(area);
		return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
	}

	Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
		var id = button.getAttribute("data-copy");
		var target = document.getElementById(id);
		if (!target) {
			return;
		}
		var status = document.querySelector('[data-copy-status="' + id + '"]');
		var say = function (text) {
			if (status) {
				status.textContent = text;
			}
		};
		button.addEventListener("click", function () {
			var text = textOf(target);
			var copied = clipboard ? navigator.clipboard.writeText(text) : copyLegacy(text);
			copied.then(function () {
				say("Copied.");
			}, function () {
				say("Could not copy: select the text and copy it by hand.");
			});
		});
		button.hidden = false;
	});
})();
