// The "show password" checkboxes: each names the fields it reveals in
// data-show-password. The pages ship them hidden, so without this script
// nothing shows and every password stays masked.
"use strict";
(function () {
	var boxes = document.querySelectorAll("input[data-show-password]");
	Array.prototype.forEach.call(boxes, function (box) {
		var fields = box.getAttribute("data-show-password").split(/\s+/)
			.map(function (id) { return document.getElementById(id); })
			.filter(function (f) { return f && f.type === "password"; });
		if (fields.length === 0) {
			return;
		}
		var show = function (visible) {
			fields.forEach(function (f) { f.type = visible ? "text" : "password"; });
		};
		box.checked = false;
		box.setAttribute("aria-controls", fields.map(function (f) { return f.id; }).join(" "));
		box.addEventListener("change", function () { show(box.checked); });
		// Mask again before sending, so the browser neither keeps the
		// password in its history of typed text nor shows it on Back.
		if (box.form) {
			box.form.addEventListener("submit", function () { box.checked = false; show(false); });
		}
		window.addEventListener("pageshow", function () { box.checked = false; show(false); });
		var wrap = box.closest("[hidden]");
		if (wrap) {
			wrap.hidden = false;
		}
	});
})();
