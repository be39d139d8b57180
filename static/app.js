/*
 * Steward console behaviour.
 *
 * Loaded with `defer` after static/vendor/htmx.min.js. No inline script is
 * needed anywhere (CSP `script-src 'self'`). Every feature uses delegated
 * listeners on `document`, so it also works for content htmx swaps in later,
 * and the page still works when htmx is absent (the htmx:* events simply
 * never fire).
 *
 * Features:
 *  a. CSRF header on htmx requests (X-CSRF-Token from <meta name="csrf-token">)
 *  b. Modals: <dialog class="modal"> swapped into #modal-root is opened;
 *     [data-close-modal] closes; closing empties #modal-root;
 *     dialog.modal[data-open] is opened on page load (and after swaps).
 *     The server may also send `HX-Trigger: closeModal` to close open modals.
 *  c. [data-copy-target="#id"] copy buttons
 *  d. Typed confirmation: form[data-confirm-value] + input[data-confirm-input]
 *  e. .nav-toggle toggles body.nav-open (mobile sidebar)
 *  f. .flash [data-dismiss] removes the flash
 *  htmx config: indicator <style> injection off (CSP); 422 responses swapped.
 *  Extras: <details class="dropdown"> menus close on outside click / Escape;
 *  the mobile sidebar closes on backdrop click / Escape.
 */
(function () {
  "use strict";

  var doc = document;

  function closestEl(node, selector) {
    while (node && node.nodeType !== 1) node = node.parentNode;
    return node && node.closest ? node.closest(selector) : null;
  }

  function eachIn(root, selector, fn) {
    if (!root || !root.querySelectorAll) return;
    if (root.matches && root.matches(selector)) fn(root);
    Array.prototype.forEach.call(root.querySelectorAll(selector), fn);
  }

  /* ---------------------------------------------------------------------
   * htmx configuration (only when htmx is loaded)
   * ------------------------------------------------------------------- */
  if (window.htmx && window.htmx.config) {
    // htmx would inject a <style> element for .htmx-indicator, which the
    // CSP (style-src 'self') blocks; app.css carries those rules instead.
    // This runs before htmx's own DOMContentLoaded initialisation.
    window.htmx.config.includeIndicatorStyles = false;
    // Let the server re-render a form with validation errors using
    // 422 Unprocessable Entity and still have htmx swap it in.
    var rh = window.htmx.config.responseHandling;
    if (Array.isArray(rh) && !rh.some(function (r) { return r && r.code === "422"; })) {
      rh.unshift({ code: "422", swap: true, error: false });
    }
  }

  /* Errors of htmx requests (403, 404, 429, 500…) ----------------------
   * htmx does not swap them, so without this a refused action would show
   * nothing. The server's error page says what happened: its heading and
   * message become an error flash at the top of the page, and any open
   * modal closes. */
  function showRequestError(xhr) {
    var heading = "Something went wrong";
    var message = "The request failed. Reload the page and try again.";
    if (xhr && xhr.responseText && window.DOMParser) {
      try {
        var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
        var h = page.querySelector(".error-card h1");
        var p = page.querySelector(".error-card h1 + p");
        if (h && h.textContent) heading = h.textContent.trim();
        if (p && p.textContent) message = p.textContent.trim();
      } catch (e) { /* keep the generic text */ }
    }
    var content = doc.getElementById("content") || doc.body;
    var old = content.querySelector(".flash.flash-request-error");
    if (old && old.parentNode) old.parentNode.removeChild(old);
    var flash = doc.createElement("div");
    flash.className = "flash flash-error flash-request-error";
    flash.setAttribute("role", "alert");
    flash.appendChild(doc.createTextNode(heading + ": " + message + " "));
    var close = doc.createElement("button");
    close.type = "button";
    close.className = "flash-close";
    close.setAttribute("data-dismiss", "");
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    flash.appendChild(close);
    content.insertBefore(flash, content.firstChild);
    eachIn(doc, "dialog.modal[open]", closeModal);
  }

  doc.addEventListener("htmx:responseError", function (evt) {
    showRequestError(evt.detail && evt.detail.xhr);
  });
  doc.addEventListener("htmx:sendError", function () {
    showRequestError(null);
  });

  /* a. CSRF ------------------------------------------------------------- */
  function csrfToken() {
    var meta = doc.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : null;
  }

  doc.addEventListener("htmx:configRequest", function (evt) {
    var token = csrfToken();
    if (token && evt.detail && evt.detail.headers) {
      evt.detail.headers["X-CSRF-Token"] = token;
    }
  });

  /* b. Modals ----------------------------------------------------------- */
  function focusFirstField(dialog) {
    var target =
      dialog.querySelector("[autofocus]") ||
      dialog.querySelector(
        'input:not([type="hidden"]):not([disabled]):not([readonly]), select:not([disabled]), textarea:not([disabled]):not([readonly])'
      );
    if (target && typeof target.focus === "function") {
      try { target.focus(); } catch (e) { /* ignore */ }
    }
  }

  function openModal(dialog) {
    if (!dialog || dialog.open) return;
    if (typeof dialog.showModal === "function") {
      try {
        dialog.showModal();
      } catch (e) {
        // e.g. not connected to the document yet; fall back to non-modal.
        dialog.setAttribute("open", "");
      }
    } else {
      dialog.setAttribute("open", ""); // very old browsers
    }
    focusFirstField(dialog);
  }

  function closeModal(dialog) {
    if (!dialog) return;
    if (typeof dialog.close === "function") {
      if (dialog.open) dialog.close();
    } else {
      dialog.removeAttribute("open");
      onDialogClosed(dialog);
    }
  }

  function onDialogClosed(dialog) {
    var root = doc.getElementById("modal-root");
    if (root && root.contains(dialog)) {
      root.innerHTML = "";
    }
  }

  // Pages re-rendered by the server with a modal open (e.g. after an error).
  function openFlaggedModals(root) {
    eachIn(root, "dialog.modal[data-open]", function (dialog) {
      // a dialog served as its own page (a bookmark, a middle click) stays a page
      if (closestEl(dialog, ".dialog-page")) {
        focusFirstField(dialog);
        return;
      }
      // rendered with `open` so that it shows without JavaScript; reopen it as a real modal
      if (dialog.open && dialog.hasAttribute("open")) dialog.removeAttribute("open");
      openModal(dialog);
    });
  }

  doc.addEventListener("htmx:afterSwap", function (evt) {
    var target = evt.detail && evt.detail.target;
    if (!target) return;
    var root = target.id === "modal-root" ? target : null;
    // Also cover hx-swap="outerHTML" on #modal-root, where the original
    // target element has been replaced by the new one.
    if (!root && !target.isConnected) {
      var current = doc.getElementById("modal-root");
      if (current && evt.detail.elt && current.contains(evt.detail.elt)) root = current;
    }
    if (!root) return;
    var dialog = root.querySelector("dialog.modal");
    if (dialog) openModal(dialog);
  });

  // Any other swapped-in content may carry dialog.modal[data-open].
  doc.addEventListener("htmx:load", function (evt) {
    openFlaggedModals(evt.target);
    initConfirmForms(evt.target);
  });

  // `HX-Trigger: closeModal` from the server closes every open modal.
  doc.addEventListener("closeModal", function () {
    eachIn(doc, "dialog.modal[open]", closeModal);
  });

  // The `close` event does not bubble; listen in the capture phase.
  doc.addEventListener("close", function (evt) {
    var dialog = evt.target;
    if (dialog && dialog.matches && dialog.matches("dialog.modal")) onDialogClosed(dialog);
  }, true);

  // Clicking the backdrop (the dialog box itself, outside its content)
  // closes the modal. Track mousedown so a text selection dragged outside
  // the dialog does not close it.
  var pressedOnBackdrop = null;
  doc.addEventListener("mousedown", function (evt) {
    var t = evt.target;
    pressedOnBackdrop = t && t.matches && t.matches("dialog.modal[open]") ? t : null;
  });

  /* Delegated clicks: close modal, copy, nav toggle, flash dismiss ------ */
  doc.addEventListener("click", function (evt) {
    var t = evt.target;

    // b. [data-close-modal]
    var closer = closestEl(t, "[data-close-modal]");
    if (closer) {
      // A modal rendered as its own page (no htmx): a Cancel link navigates back.
      var root = doc.getElementById("modal-root");
      if (closer.tagName === "A" && !(root && root.contains(closer))) return;
      evt.preventDefault();
      closeModal(closestEl(closer, "dialog"));
      return;
    }
    if (t && t.matches && t.matches("dialog.modal[open]") && pressedOnBackdrop === t) {
      var r = t.getBoundingClientRect();
      var inside = evt.clientX >= r.left && evt.clientX <= r.right &&
                   evt.clientY >= r.top && evt.clientY <= r.bottom;
      // Keyboard-triggered clicks report 0,0; only close on real pointer hits.
      if (!inside && (evt.clientX !== 0 || evt.clientY !== 0)) {
        closeModal(t);
        return;
      }
    }

    // c. copy buttons
    var copyBtn = closestEl(t, "[data-copy-target]");
    if (copyBtn) {
      evt.preventDefault();
      copyFrom(copyBtn);
      return;
    }

    // e. nav toggle
    var toggle = closestEl(t, ".nav-toggle");
    if (toggle) {
      setNavOpen(!doc.body.classList.contains("nav-open"));
      return;
    }

    // f. flash dismiss
    var dismiss = closestEl(t, ".flash [data-dismiss]");
    if (dismiss) {
      var flash = closestEl(dismiss, ".flash");
      if (flash && flash.parentNode) flash.parentNode.removeChild(flash);
      return;
    }

    // Close the mobile sidebar when clicking outside it (on the backdrop).
    if (doc.body.classList.contains("nav-open") && !closestEl(t, "#sidebar, .sidebar")) {
      setNavOpen(false);
    }

    // Close open dropdown menus when clicking elsewhere.
    closeDropdowns(closestEl(t, "details.dropdown"));
  });

  /* c. Copy to clipboard ------------------------------------------------ */
  function copyFrom(button) {
    var selector = button.getAttribute("data-copy-target");
    var source = null;
    try { source = selector ? doc.querySelector(selector) : null; } catch (e) { source = null; }
    if (!source) return;
    var text = "value" in source && typeof source.value === "string"
      ? source.value
      : source.textContent;
    text = (text || "").trim();

    var done = function () { flashLabel(button, "Copied"); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {
        if (legacyCopy(text, button)) done();
      });
    } else if (legacyCopy(text, button)) {
      done();
    }
  }

  // Fallback for non-secure contexts (e.g. plain http on a LAN address).
  // The textarea goes next to the button: with a modal open, everything
  // outside the dialog is inert and could not be selected.
  function legacyCopy(text, near) {
    var host = (near && closestEl(near, "dialog")) || doc.body;
    var ta = doc.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.setAttribute("tabindex", "-1");
    ta.setAttribute("aria-hidden", "true");
    ta.className = "sr-only";
    host.appendChild(ta);
    ta.select();
    var ok = false;
    try { ok = doc.execCommand("copy"); } catch (e) { ok = false; }
    host.removeChild(ta);
    if (near && typeof near.focus === "function") near.focus();
    return ok;
  }

  function flashLabel(button, label) {
    if (button._copyOriginal === undefined) button._copyOriginal = button.innerHTML;
    clearTimeout(button._copyTimer);
    button.textContent = label;
    button._copyTimer = setTimeout(function () {
      button.innerHTML = button._copyOriginal;
      button._copyOriginal = undefined;
    }, 1500);
  }

  /* d. Typed confirmation ----------------------------------------------- */
  function normalise(v) {
    return (v || "").trim().toLowerCase();
  }

  function updateConfirmForm(form) {
    var input = form.querySelector("[data-confirm-input]");
    if (!input) return;
    var ok = normalise(input.value) === normalise(form.getAttribute("data-confirm-value"));
    Array.prototype.forEach.call(form.querySelectorAll('button[type="submit"]'), function (b) {
      b.disabled = !ok;
    });
  }

  function initConfirmForms(root) {
    eachIn(root, "form[data-confirm-value]", updateConfirmForm);
  }

  doc.addEventListener("input", function (evt) {
    var input = closestEl(evt.target, "[data-confirm-input]");
    if (!input) return;
    var form = closestEl(input, "form[data-confirm-value]");
    if (form) updateConfirmForm(form);
  });

  /* e. Mobile navigation ------------------------------------------------ */
  function setNavOpen(open) {
    doc.body.classList.toggle("nav-open", open);
    eachIn(doc, ".nav-toggle", function (b) {
      b.setAttribute("aria-expanded", open ? "true" : "false");
    });
    if (open) {
      var first = doc.querySelector("#sidebar a, #sidebar summary, #sidebar button");
      if (first) first.focus();
    }
  }

  /* Dropdowns (<details class="dropdown">) ------------------------------ */
  function closeDropdowns(except) {
    eachIn(doc, "details.dropdown[open]", function (d) {
      if (d !== except) d.removeAttribute("open");
    });
  }

  doc.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape") return;
    var openMenu = doc.querySelector("details.dropdown[open]");
    if (openMenu) {
      closeDropdowns(null);
      var summary = openMenu.querySelector("summary");
      if (summary) summary.focus();
      return;
    }
    if (doc.body.classList.contains("nav-open") && !doc.querySelector("dialog.modal[open]")) {
      setNavOpen(false);
      var toggle = doc.querySelector(".nav-toggle");
      if (toggle) toggle.focus();
    }
  });

  /* Initial page state -------------------------------------------------- */
  function init() {
    openFlaggedModals(doc);
    initConfirmForms(doc);
    eachIn(doc, ".nav-toggle", function (b) {
      if (!b.hasAttribute("aria-expanded")) b.setAttribute("aria-expanded", "false");
    });
  }

  if (doc.readyState === "loading") {
    doc.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
